/**
 * How fast `audit verify` checks the audit log, beside what the machine can hash:
 *
 *   npx tsx bench/audit-verify.ts [--db pglite|postgres] [--records 1000000] [--runs 2] [--reuse] [--keep]
 *
 * 1. Builds a log of `--records` realistic records (reads, searches with sealed queries and pages of
 *    results, writes, denials; browser agents and proxy chains) through `AuditLog.append`, the code
 *    the server appends with: the same encoding, leaf hashes, chain and a signed checkpoint every
 *    1,000 records into the database and the checkpoint file. PGlite in a directory on disk
 *    (default under the system temp directory), PostgreSQL in schema `bench_audit_verify`
 *    ($BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test). `--reuse` keeps a log
 *    built by an earlier run when it holds exactly `--records` records.
 * 2. VACUUM ANALYZE of the audit tables.
 * 3. Measures, each `--runs` times (the best counts; the machine is shared), in this order:
 *    - raw SHA-256: `createHash('sha256')` over 0x00 || entry for a sample of the stored entries,
 *      in a tight loop (the floor: verify must at least hash every entry once);
 *    - verify CPU work: verify's per-record checks (`RecordChecker`, the code `verifyAuditLog`
 *      runs for each row) over the same sample held in memory: hash, chain link, decode,
 *      searchable columns, Merkle frontier; no database;
 *    - `verifyAuditLog` over the whole log from the database, as `sushruta audit verify` runs it.
 *    Rates in records per minute (best run), and the CPU time of this process per record, which
 *    other jobs on a shared machine disturb less than the wall clock (on PGlite it includes the
 *    database's worker thread; PostgreSQL's own processes are not counted). Target: at least
 *    1,000,000 records a minute end to end.
 *
 * Writes bench/results/audit-verify-<db>-<date>.json and prints a markdown table.
 */
import { execSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Progress } from '../src/cli/progress.js';
import { signerFromSeedBytes } from '../src/security/audit/checkpoint.js';
import { AuditLog } from '../src/security/audit/log.js';
import type { Sealed, UnplacedRecord } from '../src/security/audit/record.js';
import { auditMigrations } from '../src/security/audit/schema.js';
import { AUDIT_ROW_COLUMNS, type AuditRow, RecordChecker, verifyAuditLog } from '../src/security/audit/verify.js';
import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { openDb } from '../src/store/open-db.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ORIGIN = 'bench.sushruta/audit';
const SAMPLE = 100_000;

interface Options {
  db: 'pglite' | 'postgres';
  records: number;
  runs: number;
  reuse: boolean;
  keep: boolean;
  pgUrl: string;
  dir: string;
}

function die(msg: string): never {
  process.stderr.write(`audit-verify: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    db: 'pglite',
    records: 1_000_000,
    runs: 2,
    reuse: false,
    keep: false,
    pgUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    dir: '',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const v = () => argv[++i] ?? die(`${a} needs a value`);
    const whole = () => {
      const x = v();
      if (!/^[1-9]\d*$/.test(x)) die(`${a} must be a whole number from 1, got '${x}'`);
      return Number(x);
    };
    if (a === '--db') {
      const x = v();
      if (x !== 'pglite' && x !== 'postgres') die(`--db must be pglite or postgres, got '${x}'`);
      o.db = x;
    } else if (a === '--records') o.records = whole();
    else if (a === '--runs') o.runs = whole();
    else if (a === '--reuse') o.reuse = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '--dir') o.dir = v();
    else die(`unknown option ${a}`);
  }
  o.dir ||= join(os.tmpdir(), `sushruta-audit-verify-bench-${o.db}-${o.records}`);
  if (o.reuse) o.keep = true;
  return o;
}

// ---------------------------------------------------------------------------------------------
// Realistic records

/** mulberry32: the same log from the same seed, so runs compare. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0',
  'sushruta-cli/seed',
  'okhttp/4.12.0',
];
const TYPES = ['Patient', 'Encounter', 'Observation', 'MedicationRequest', 'DiagnosticReport', 'Condition'];

function recordMaker(seed: number): (i: number) => UnplacedRecord {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const hex = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(rnd() * 16).toString(16);
    return s;
  };
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  // A sealed field: magic, format, key version, 96-bit nonce, ciphertext, 128-bit tag, base64.
  const sealed = (plainLength: number): Sealed => ({ sealed: randomBytes(6 + 12 + plainLength + 16).toString('base64') });
  const patients = Array.from({ length: 5000 }, uuid);
  const start = Date.UTC(2026, 10, 24, 2, 30);
  return (i) => {
    const r = rnd();
    const type = pick(TYPES);
    const patient = pick(patients);
    const forwarded = rnd() < 0.7 ? [`10.${Math.floor(rnd() * 255)}.${Math.floor(rnd() * 255)}.${Math.floor(rnd() * 255)}`] : [];
    let what: UnplacedRecord['what'];
    let pts: string[] = [patient];
    let outcome: UnplacedRecord['outcome'] = { status: 200, rule: 'local-operator', reason: null };
    if (r < 0.6) {
      what = { action: 'read', type, id: uuid(), version: null, query: null, resources: [`${type}/${uuid()}`], resourceCount: 1 };
    } else if (r < 0.85) {
      const n = 1 + Math.floor(rnd() * 20);
      const resources = Array.from({ length: n }, () => `${type}/${uuid()}`);
      pts = type === 'Patient' ? resources.map((x) => x.slice(8)) : [patient];
      what = {
        action: 'search-type',
        type,
        id: null,
        version: null,
        query: sealed(20 + Math.floor(rnd() * 60)),
        resources,
        resourceCount: n,
      };
    } else if (r < 0.95) {
      const id = uuid();
      what = {
        action: rnd() < 0.6 ? 'create' : 'update',
        type,
        id,
        version: String(1 + Math.floor(rnd() * 4)),
        query: null,
        resources: [`${type}/${id}`],
        resourceCount: 1,
      };
      outcome = { status: what.action === 'create' ? 201 : 200, rule: 'local-operator', reason: null };
    } else {
      what = { action: 'read', type, id: uuid(), version: null, query: null, resources: [], resourceCount: 0 };
      pts = [];
      outcome = { status: rnd() < 0.5 ? 404 : 403, rule: 'local-operator', reason: sealed(40 + Math.floor(rnd() * 80)) };
    }
    return {
      v: 1,
      time: new Date(start + i * 29).toISOString(),
      tenant: 'aiims-delhi',
      request: uuid(),
      who: { kind: 'local-operator', id: 'loopback client (no staff identity configured yet)', role: null, session: null, client: null },
      what,
      patients: pts,
      where: { peer: forwarded.length > 0 ? '10.0.0.5' : '127.0.0.1', forwarded, client: forwarded[0] ?? '127.0.0.1', agent: pick(AGENTS) },
      why: { purpose: null, breakGlass: null },
      outcome,
    };
  };
}

// ---------------------------------------------------------------------------------------------
// Database

interface Target {
  readonly db: Db;
  readonly where: string;
  readonly checkpointFile: string;
  /** A connection outside any transaction (VACUUM cannot run in one). */
  maintenance(sql: string): Promise<void>;
  remove(): Promise<void>;
}

async function openTarget(o: Options, fresh: boolean): Promise<Target> {
  const checkpointFile = join(`${o.dir}.keys`, 'audit-checkpoints.jsonl');
  if (o.db === 'pglite') {
    const dataDir = join(o.dir, 'data');
    if (fresh) rmSync(o.dir, { recursive: true, force: true });
    if (fresh) rmSync(`${o.dir}.keys`, { recursive: true, force: true });
    const db = await openDb({ kind: 'pglite', dataDir });
    return {
      db,
      where: `PGlite in ${dataDir}`,
      checkpointFile,
      maintenance: async (sql) => {
        await db.query(sql);
      },
      remove: async () => {
        await db.close();
        rmSync(o.dir, { recursive: true, force: true });
        rmSync(`${o.dir}.keys`, { recursive: true, force: true });
      },
    };
  }
  const schema = 'bench_audit_verify';
  const admin = await openDb({ kind: 'postgres', url: o.pgUrl, poolSize: 1 });
  if (fresh) {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    rmSync(`${o.dir}.keys`, { recursive: true, force: true });
  }
  await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  const u = new URL(o.pgUrl);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const db = await openDb({ kind: 'postgres', url: u.toString(), poolSize: 2 });
  const maint = await openDb({ kind: 'postgres', url: u.toString(), poolSize: 1 });
  return {
    db,
    where: `PostgreSQL schema ${schema}`,
    checkpointFile,
    maintenance: async (sql) => {
      await maint.query(sql);
    },
    remove: async () => {
      await db.close();
      await maint.close();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.close();
      rmSync(`${o.dir}.keys`, { recursive: true, force: true });
    },
  };
}

const count = async (db: Db) => Number((await db.query<{ n: string | null }>('SELECT max(seq) AS n FROM audit_log')).rows[0]?.n ?? 0);

async function build(t: Target, o: Options, signerSeed: Buffer): Promise<{ seconds: number; bytes: number }> {
  const started = performance.now();
  const log = await AuditLog.open(t.db, {
    signer: signerFromSeedBytes(ORIGIN, signerSeed),
    checkpointEvery: 1000,
    checkpointSeconds: 0,
    checkpointFile: t.checkpointFile,
    maxBatch: 1000,
  });
  const make = recordMaker(4711);
  const progress = new Progress('building the audit log', o.records);
  const chunk = 20_000;
  for (let done = 0; done < o.records; ) {
    const n = Math.min(chunk, o.records - done);
    await Promise.all(Array.from({ length: n }, (_, k) => log.append(make(done + k))));
    done += n;
    progress.update(done);
  }
  await log.close();
  const size = await t.db.query<{ b: string }>("SELECT pg_total_relation_size('audit_log')::text AS b");
  return { seconds: (performance.now() - started) / 1000, bytes: Number(size.rows[0]?.b ?? 0) };
}

// ---------------------------------------------------------------------------------------------
// Measurements

interface Measure {
  readonly name: string;
  readonly records: number;
  /** Seconds of each run. */
  readonly runs: number[];
  /** CPU seconds of this process (every thread: PGlite's worker too) in each run. */
  readonly cpu: number[];
  readonly perMinute: number;
}

/** Times `fn` `runs` times: wall clock, and CPU of this process (less sensitive to other jobs on the machine). */
async function timed(runs: number, fn: (run: number) => Promise<void> | void): Promise<{ wall: number[]; cpu: number[] }> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let run = 0; run < runs; run++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn(run);
    wall.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  return { wall, cpu };
}

function measure(name: string, records: number, t: { wall: number[]; cpu: number[] }): Measure {
  return { name, records, runs: t.wall, cpu: t.cpu, perMinute: (records / Math.min(...t.wall)) * 60 };
}

/** The same rows verify reads, for the in-memory measurements. */
async function sample(db: Db, n: number): Promise<AuditRow[]> {
  const res = await db.query<AuditRow>(`SELECT ${AUDIT_ROW_COLUMNS} FROM audit_log WHERE seq <= $1 ORDER BY seq`, [n]);
  return res.rows;
}

async function rawSha256(rows: readonly AuditRow[], runs: number): Promise<Measure> {
  const entries = rows.map((r) => Buffer.from(r.entry, 'utf8'));
  const prefix = Buffer.from([0]);
  let sink = 0;
  const t = await timed(runs, () => {
    for (const e of entries) sink ^= createHash('sha256').update(prefix).update(e).digest()[0] as number;
  });
  if (sink === 256) process.stderr.write('');
  return measure('raw SHA-256 of each entry with its 0x00 prefix (node:crypto, tight loop)', entries.length, t);
}

async function checkerWork(rows: readonly AuditRow[], runs: number): Promise<Measure> {
  const t = await timed(runs, () => {
    const checker = new RecordChecker(new Map(), () => {
      throw new Error('the benchmark log does not verify');
    });
    for (const row of rows) checker.check(row);
  });
  return measure("verify's per-record checks, rows in memory (RecordChecker)", rows.length, t);
}

async function fullVerify(t: Target, o: Options, signerSeed: Buffer): Promise<{ m: Measure; report: unknown }> {
  const verifier = signerFromSeedBytes(ORIGIN, signerSeed);
  let report: Awaited<ReturnType<typeof verifyAuditLog>> | undefined;
  const times = await timed(o.runs, async (run) => {
    const progress = new Progress(`verify run ${run + 1}`, o.records);
    report = await t.db.unlimited((q) =>
      verifyAuditLog(q, { verifier, checkpointFile: t.checkpointFile, onProgress: (d) => progress.update(d) }),
    );
    if (!report.ok || report.records !== o.records) die(`verify did not pass: ${JSON.stringify(report).slice(0, 500)}`);
  });
  return { m: measure('verifyAuditLog from the database (sushruta audit verify)', o.records, times), report };
}

function sh(cmd: string): string {
  try {
    return execSync(cmd, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  mkdirSync(`${o.dir}.keys`, { recursive: true });
  // The signing key of the benchmark log: kept beside it so --reuse verifies with the same key.
  const seedFile = join(`${o.dir}.keys`, 'bench-signing.seed');
  let t = await openTarget(o, false);
  await migrate(t.db, [auditMigrations]);
  const have = await count(t.db);
  let built: { seconds: number; bytes: number } | undefined;
  let seed: Buffer;
  if (o.reuse && have === o.records && existsSync(seedFile)) {
    seed = Buffer.from(readFileSync(seedFile, 'utf8').trim(), 'hex');
    process.stderr.write(`reusing the log of ${have} records in ${t.where}\n`);
  } else {
    await t.db.close();
    t = await openTarget(o, true);
    await migrate(t.db, [auditMigrations]);
    mkdirSync(`${o.dir}.keys`, { recursive: true });
    seed = randomBytes(32);
    writeFileSync(seedFile, seed.toString('hex'), { mode: 0o600 });
    process.stderr.write(`building ${o.records} records in ${t.where}\n`);
    built = await build(t, o, seed);
    process.stderr.write(`built in ${built.seconds.toFixed(1)} s (${Math.round(o.records / built.seconds)} records/s)\n`);
  }
  const v0 = performance.now();
  await t.maintenance('VACUUM ANALYZE audit_log, audit_checkpoint');
  const vacuumSeconds = (performance.now() - v0) / 1000;

  const rows = await sample(t.db, Math.min(SAMPLE, o.records));
  const avgEntry = rows.reduce((s, r) => s + Buffer.byteLength(r.entry, 'utf8'), 0) / rows.length;
  const loadBefore = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const sha = await rawSha256(rows, o.runs);
  const work = await checkerWork(rows, o.runs);
  const { m: verify, report } = await fullVerify(t, o, seed);
  const loadAfter = os.loadavg().map((x) => Math.round(x * 100) / 100);

  const result = {
    benchmark: 'audit-verify',
    date: new Date().toISOString(),
    commit: sh('git rev-parse --short HEAD'),
    dirty: sh("git status --porcelain -- src bench ':!bench/results'") !== '',
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    db: o.db,
    where: t.where,
    records: o.records,
    averageEntryBytes: Math.round(avgEntry),
    build: built ?? null,
    vacuumSeconds,
    loadAverage: { before: loadBefore, after: loadAfter },
    measures: [sha, work, verify],
    report,
  };
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, 'bench/results', `audit-verify-${o.db}-${result.date.slice(0, 19).replace(/:/g, '')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);

  const f = (n: number) => Math.round(n).toLocaleString('en-US');
  const lines = [
    `### ${o.db === 'pglite' ? 'PGlite' : 'PostgreSQL'}, ${f(o.records)} records (average entry ${f(avgEntry)} bytes), commit \`${result.commit}\`${result.dirty ? ' (uncommitted changes)' : ''}`,
    '',
    '| measure | records | runs (s) | best: records/minute | vs raw SHA-256 | CPU µs/record (this process, best run) |',
    '|---|---:|---|---:|---:|---:|',
    ...[sha, work, verify].map(
      (m) =>
        `| ${m.name} | ${f(m.records)} | ${m.runs.map((s) => s.toFixed(2)).join(', ')} | ${f(m.perMinute)} | ${(m.perMinute / sha.perMinute).toFixed(2)} | ${((Math.min(...m.cpu) / m.records) * 1e6).toFixed(1)} |`,
    ),
    '',
    `Target 1,000,000 records/minute: ${verify.perMinute >= 1_000_000 ? 'met' : '**not met**'}. Load average before ${loadBefore.join(' / ')}, after ${loadAfter.join(' / ')}. VACUUM ANALYZE ${vacuumSeconds.toFixed(1)} s.` +
      (built
        ? ` Built in ${built.seconds.toFixed(0)} s (${f(o.records / built.seconds)} records/s through AuditLog.append); audit_log ${(built.bytes / 2 ** 20).toFixed(0)} MiB.`
        : ''),
    `Raw: \`${file.slice(ROOT.length)}\`.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (o.keep) await t.db.close();
  else await t.remove();
}

main().catch((err) => {
  process.stderr.write(`audit-verify: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
