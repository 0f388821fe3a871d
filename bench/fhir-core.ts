/**
 * FHIR core benchmark: what the server costs on top of the database, and what encryption at rest
 * costs on top of the plaintext server.
 *
 *   npx tsx bench/fhir-core.ts [--db pglite|postgres|both] [--patients 100000] [--duration 20]
 *                              [--encryption on|off|both] [--audit on|off|both] [--no-floor]
 *
 * 1. Loads N synthetic Indian patients through the real server: transaction Bundles of
 *    `--bundle` (500) POST entries over HTTP to an in-process server on loopback, i.e. the full
 *    write path (parse, validate, authorize, encrypt, store, index, audit) in one database
 *    transaction per Bundle. Progress and ETA on stderr. Then VACUUM ANALYZE (autovacuum may be off).
 * 2. For each operation, over HTTP with `--concurrency` (16) keep-alive clients for `--duration`
 *    seconds after a `--warmup`: read Patient, search Patient by identifier (token), by
 *    family-name prefix (string), by birth year (`birthdate=YYYY`), by birth-date range (plaintext
 *    only: a blind-indexed birth date refuses ranges), create Patient. The HTTP clients run in a
 *    worker thread so that their own work does not run on the server's event loop.
 * 3. Beside each, "the floor": the same SQL statements the server issues for that operation
 *    (captured from the real store / search code, so the SQL text and parameters are identical,
 *    blind-index digests and ciphertext included), sent straight through the same `Db` adapter
 *    (src/store/db.ts) with the same concurrency and no HTTP, JSON, validation, FHIRPath,
 *    encryption, HMAC, authorization or audit. server / floor is the overhead.
 *    VACUUM ANALYZE runs before every measured run.
 * 4. `--encryption both` does all of it twice per database, back to back, each time on a database
 *    of its own (fresh PGlite directory / fresh PostgreSQL schema) loaded with the same N
 *    patients: first with encryption off (`openSushruta(config, { encryption: false })`, the
 *    plaintext baseline), then on (the default: AES-256-GCM bodies, HMAC blind indexes), and
 *    prints the on/off ratio of every operation.
 * 5. `--audit both` measures each loaded database twice, same run: with the tamper-evident audit
 *    log (the default), then with the server restarted on the same data and a sink that discards
 *    (the baseline), and prints the audit on/off ratio of every operation.
 *
 * Prints markdown tables and writes bench/results/fhir-core-<db>-<encryption>-<date>.json per
 * run (and bench/results/encryption-<db>-<date>.json with the on/off comparison).
 * See bench/README.md for every option.
 */
import { execSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle, BundleEntry, HumanName, Identifier, Patient } from '@medplum/fhirtypes';
import { Progress, formatDuration } from '../src/cli/progress.js';
import { loadConfig } from '../src/config/config.js';
import { writeVersion } from '../src/fhir/rest/write.js';
import { executeSearch, parseSearch } from '../src/fhir/search/index.js';
import type { AuditSink } from '../src/fhir/guard.js';
import type { AnyResource } from '../src/fhir/types.js';
import { type RunningServer, startServer } from '../src/runtime/server.js';
import type { Db, Queryable, QueryResult, SqlValue } from '../src/store/db.js';
import { openDb } from '../src/store/open-db.js';
import type { ResourceRow, ResourceStore } from '../src/store/resources.js';
import { type HttpReq, runHttp, type Stats, stats } from './http-load.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TENANT = 'bench';
const TABLES = [
  'resource',
  'resource_history',
  'search_string',
  'search_token',
  'search_reference',
  'search_date',
  'search_number',
  'search_quantity',
  'search_uri',
  'search_blind',
  'search_blind_short',
];

// ---------------------------------------------------------------------------------------------
// Options

/** Encryption at rest on (the default of openSushruta) or off (the plaintext baseline). */
type Mode = 'on' | 'off';

const ALL_OPS = ['read', 'search-identifier', 'search-family', 'search-birthyear', 'search-birthdate', 'create'] as const;
/** Operations a blind-indexed store refuses (400): the birth-date range. */
const PLAINTEXT_ONLY: ReadonlySet<string> = new Set(['search-birthdate']);

interface Options {
  db: 'pglite' | 'postgres' | 'both';
  /** Runs per database, in this order, each on a database of its own. */
  encryption: Mode[];
  /**
   * Audit log on (the tamper-evident chained log, the default) or off (a sink that discards): each
   * encryption mode's data is loaded once and measured with each audit mode in turn, same run.
   */
  audit: Mode[];
  /** Also measure the floor (the same SQL straight through the Db adapter). */
  floor: boolean;
  patients: number;
  duration: number;
  warmup: number;
  concurrency: number;
  bundle: number;
  pgUrl: string;
  pgSchema: string;
  pgliteDir?: string;
  reuse: boolean;
  keep: boolean;
  /** Delete the data after this run even though it reused it (the last audit mode of a run that loaded it). */
  dropAfter?: boolean;
  ops?: string[];
  pool: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    db: 'both',
    encryption: ['on'],
    audit: ['on'],
    floor: true,
    patients: 100_000,
    duration: 20,
    warmup: 3,
    concurrency: 16,
    bundle: 500,
    pgUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    pgSchema: 'bench_fhir_core',
    reuse: false,
    keep: false,
    pool: 2000,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) die(`${a} needs a value`);
      return x as string;
    };
    const num = () => {
      const x = v();
      if (!/^\d+(\.\d+)?$/.test(x)) die(`${a} must be a number, got '${x}'`);
      return Number(x);
    };
    switch (a) {
      case '--db': {
        const x = v();
        if (x !== 'pglite' && x !== 'postgres' && x !== 'both') die(`--db must be pglite, postgres or both, got '${x}'`);
        o.db = x as Options['db'];
        break;
      }
      case '--encryption': {
        const x = v();
        const modes: Record<string, Mode[]> = {
          on: ['on'],
          off: ['off'],
          both: ['off', 'on'],
          'off,on': ['off', 'on'],
          'on,off': ['on', 'off'],
        };
        const m = modes[x];
        if (!m) die(`--encryption must be on, off, both (= off,on) or on,off, got '${x}'`);
        o.encryption = m;
        break;
      }
      case '--audit': {
        const x = v();
        const modes: Record<string, Mode[]> = { on: ['on'], off: ['off'], both: ['on', 'off'] };
        const m = modes[x];
        if (!m) die(`--audit must be on, off or both (= on, then off on the same data), got '${x}'`);
        o.audit = m;
        break;
      }
      case '--no-floor':
        o.floor = false;
        break;
      case '--patients':
        o.patients = num();
        break;
      case '--duration':
        o.duration = num();
        break;
      case '--warmup':
        o.warmup = num();
        break;
      case '--concurrency':
        o.concurrency = num();
        break;
      case '--bundle':
        o.bundle = num();
        break;
      case '--pg-url':
        o.pgUrl = v();
        break;
      case '--pg-schema':
        o.pgSchema = v();
        if (!/^[a-z_][a-z0-9_]{0,62}$/.test(o.pgSchema)) die('--pg-schema must be a plain lower-case identifier');
        break;
      case '--pglite-dir':
        o.pgliteDir = v();
        break;
      case '--reuse':
        o.reuse = true;
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--ops': {
        const ops = v().split(',');
        const unknown = ops.filter((x) => !(ALL_OPS as readonly string[]).includes(x));
        if (unknown.length) die(`--ops: unknown operation(s) ${unknown.join(', ')}; known: ${ALL_OPS.join(', ')}`);
        o.ops = ops;
        break;
      }
      case '-h':
      case '--help':
        process.stdout.write(readFileSync(join(ROOT, 'bench/README.md'), 'utf8'));
        process.exit(0);
        break;
      default:
        die(`unknown option ${a} (see bench/README.md)`);
    }
  }
  return o;
}

function die(msg: string): never {
  process.stderr.write(`fhir-core: ${msg}\n`);
  process.exit(2);
}

const log = (s: string) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------------------------------------
// Synthetic patients: the demo hospital's generator when it is there, else a small local one.

type PatientGen = (seed: number, index: number) => Patient;

async function patientGenerator(): Promise<{ gen: PatientGen; source: string }> {
  const path = '../src/hospital/demo/index.js';
  try {
    const mod = (await import(path)) as { syntheticPatient?: PatientGen };
    if (typeof mod.syntheticPatient === 'function') return { gen: mod.syntheticPatient, source: 'src/hospital/demo syntheticPatient()' };
  } catch {
    /* not there yet */
  }
  return { gen: localPatient, source: 'bench/fhir-core.ts local generator' };
}

const GIVEN_M = [
  'Rahul',
  'Amit',
  'Suresh',
  'Rajesh',
  'Vikram',
  'Arjun',
  'Mohammad',
  'Imran',
  'Gurpreet',
  'Karthik',
  'Senthil',
  'Anil',
  'Sourav',
  'Joseph',
];
const GIVEN_F = [
  'Priya',
  'Sunita',
  'Anjali',
  'Pooja',
  'Lakshmi',
  'Fatima',
  'Ayesha',
  'Harpreet',
  'Meenakshi',
  'Divya',
  'Rupa',
  'Mary',
  'Kavita',
];
const FAMILY = [
  ['Sharma', 'शर्मा'],
  ['Verma', 'वर्मा'],
  ['Gupta', 'गुप्ता'],
  ['Yadav', 'यादव'],
  ['Singh', 'सिंह'],
  ['Khan', 'ख़ान'],
  ['Ansari', 'अंसारी'],
  ['Iyer', 'ஐயர்'],
  ['Nair', 'നായർ'],
  ['Reddy', 'రెడ్డి'],
  ['Banerjee', 'বন্দ্যোপাধ্যায়'],
  ['Chaudhary', 'चौधरी'],
  ['Patel', 'પટેલ'],
  ['Kulkarni', 'कुलकर्णी'],
  ['Das', 'দাস'],
  ['Menon', 'മേനോൻ'],
] as const;

function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function localPatient(seed: number, index: number): Patient {
  const r = mulberry(seed * 1_000_003 + index);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const female = r() < 0.5;
  const [family, native] = pick(FAMILY);
  const given = pick(female ? GIVEN_F : GIVEN_M);
  const year = 1940 + Math.floor(r() * 84);
  const month = 1 + Math.floor(r() * 12);
  const day = 1 + Math.floor(r() * 28);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return {
    resourceType: 'Patient',
    identifier: [
      { system: 'https://sushruta.example.in/fhir/sid/uhid', value: `BENCH${pad(index, 9)}` },
      {
        system: 'https://healthid.ndhm.gov.in',
        value: `91-${pad(Math.floor(r() * 1e4), 4)}-${pad(Math.floor(r() * 1e4), 4)}-${pad(index % 10000, 4)}`,
      },
    ],
    active: true,
    name: [
      { use: 'official', family, given: [given] },
      { use: 'usual', text: `${given} ${native}` },
    ],
    telecom: [{ system: 'phone', value: `+91 9${pad(Math.floor(r() * 1e9), 9)}`, use: 'mobile' }],
    gender: female ? 'female' : 'male',
    birthDate: `${year}-${pad(month)}-${pad(day)}`,
    address: [
      {
        use: 'home',
        line: [`${1 + Math.floor(r() * 400)}, Sector ${1 + Math.floor(r() * 60)}`],
        city: 'New Delhi',
        state: 'Delhi',
        postalCode: `1100${pad(Math.floor(r() * 99))}`,
        country: 'IN',
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Statement capture: the floor replays exactly the SQL the server's own code issues.

interface Stmt {
  readonly text: string;
  readonly params: readonly SqlValue[];
}

class Recorder implements Queryable {
  readonly stmts: Stmt[] = [];
  async query<R>(text: string, params?: readonly SqlValue[]): Promise<QueryResult<R>> {
    this.stmts.push({ text, params: params ?? [] });
    return { rows: [], rowCount: 0 };
  }
}

async function captureCreate(store: ResourceStore, p: Patient): Promise<{ stmts: Stmt[]; id: string }> {
  const rec = new Recorder();
  const id = randomUUID();
  await writeVersion(rec, store, p as AnyResource, id, undefined);
  return { stmts: rec.stmts, id };
}

async function captureSearch(store: ResourceStore, params: [string, string][]): Promise<Stmt> {
  const rec = new Recorder();
  const { search } = parseSearch('Patient', params, { lenient: false, defaultCount: 20, maxCount: 1000 });
  await executeSearch(rec, store, search);
  if (rec.stmts.length !== 1) throw new Error(`expected one search statement, captured ${rec.stmts.length}`);
  return rec.stmts[0] as Stmt;
}

async function captureRead(store: ResourceStore, id: string): Promise<Stmt> {
  const rec = new Recorder();
  await store.current(rec, 'Patient', id);
  return rec.stmts[0] as Stmt;
}

// ---------------------------------------------------------------------------------------------
// Measurement

/** The floor: `concurrency` async callers issuing `op` straight through the Db adapter. */
async function runFloor(op: (i: number) => Promise<number>, o: Options, countRows: boolean): Promise<Stats> {
  const lat: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let rows = 0;
  let samples = 0;
  let next = 0;
  const t0 = performance.now();
  const from = t0 + o.warmup * 1000;
  const end = from + o.duration * 1000;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      for (;;) {
        const start = performance.now();
        if (start >= end) return;
        const i = next++;
        try {
          const n = await op(i);
          const done = performance.now();
          if (start < from) continue;
          lat.push(done - start);
          if (countRows && i % 16 === 0) {
            rows += n;
            samples++;
          }
        } catch (err) {
          if (start < from) continue;
          errors++;
          firstError ??= String((err as Error).message ?? err);
        }
      }
    }),
  );
  return stats(lat, errors, o.duration, countRows && samples ? rows / samples : undefined, firstError);
}

// ---------------------------------------------------------------------------------------------
// One database

interface OpResult {
  readonly op: string;
  readonly description: string;
  readonly server: Stats;
  readonly floor?: Stats;
  readonly floorSql: string;
  /** 1-, 5- and 15-minute load averages just before the server run of this operation. */
  readonly loadAverage: number[];
}

interface DbResult {
  readonly db: 'pglite' | 'postgres';
  readonly encryption: Mode;
  readonly audit: Mode;
  readonly databaseVersion: string;
  readonly patients: number;
  readonly load: {
    readonly loaded: number;
    readonly seconds: number;
    readonly perSecond: number;
    readonly via: string;
    readonly reused: boolean;
    /** Load averages before loading. */
    readonly loadAverage: number[];
  };
  readonly vacuumSeconds: number;
  /** Rows (planner estimate after VACUUM ANALYZE) and bytes (table + indexes + TOAST) per table. */
  readonly storage: TableSize[];
  readonly results: OpResult[];
}

interface TableSize {
  readonly table: string;
  readonly rows: number;
  readonly bytes: number;
}

async function tableSizes(db: Queryable): Promise<TableSize[]> {
  const r = await db.query<{ t: string; rows: number | string; bytes: number | string }>(
    `SELECT c.relname AS t, c.reltuples::bigint AS rows, pg_total_relation_size(c.oid) AS bytes
     FROM pg_class c WHERE c.oid IN (${TABLES.map((t) => `to_regclass('${t}')`).join(', ')})`,
  );
  return TABLES.map((t) => {
    const x = r.rows.find((y) => y.t === t);
    return { table: t, rows: Math.max(0, Number(x?.rows ?? 0)), bytes: Number(x?.bytes ?? 0) };
  });
}

const loadAvg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

async function vacuum(db: Queryable): Promise<number> {
  const t = performance.now();
  await db.query(`VACUUM ANALYZE ${TABLES.join(', ')}`);
  return (performance.now() - t) / 1000;
}

async function count(db: Db): Promise<number> {
  const r = await db.query<{ n: string }>("SELECT count(*) AS n FROM resource WHERE tenant_id = $1 AND resource_type = 'Patient'", [
    TENANT,
  ]);
  return Number(r.rows[0]?.n ?? 0);
}

async function loadPatients(server: RunningServer, o: Options, from: number, gen: PatientGen, parallel: number): Promise<number> {
  const total = o.patients - from;
  const bundles = Math.ceil(total / o.bundle);
  const progress = new Progress(`loading ${total} patients in ${bundles} transaction Bundles of ${o.bundle}`, total);
  let nextBundle = 0;
  let done = 0;
  const base = `${server.url}/fhir`;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (;;) {
        const b = nextBundle++;
        if (b >= bundles) return;
        const start = from + b * o.bundle;
        const n = Math.min(o.bundle, o.patients - start);
        const entry: BundleEntry[] = Array.from({ length: n }, (_, k) => ({
          fullUrl: `urn:uuid:${randomUUID()}`,
          resource: gen(1, start + k),
          request: { method: 'POST', url: 'Patient' },
        }));
        const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry };
        const res = await fetch(base, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json', prefer: 'return=minimal' },
          body: JSON.stringify(bundle),
        });
        const text = await res.text();
        if (res.status !== 200)
          throw new Error(`Bundle of patients ${start}..${start + n - 1} refused: ${res.status} ${text.slice(0, 800)}`);
        done += n;
        progress.update(done);
      }
    }),
  );
  return total;
}

interface Workload {
  readonly op: string;
  readonly description: string;
  readonly http: HttpReq[];
  readonly floor: (i: number) => Promise<number>;
  readonly floorSql: string;
  readonly countRows: boolean;
  /** Undoes what the floor wrote (create): rows whose body does not match their id must not stay behind. */
  readonly afterFloor?: () => Promise<void>;
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/** The operations one run measures: all but the plaintext-only ones by default, which run only in an `--encryption off` run. */
function selectedOps(o: Options, mode: Mode): string[] {
  const plainOnly = o.encryption.length === 1 && o.encryption[0] === 'off';
  const wanted: readonly string[] = o.ops ?? ALL_OPS.filter((op) => plainOnly || !PLAINTEXT_ONLY.has(op));
  const skipped = mode === 'on' ? wanted.filter((op) => PLAINTEXT_ONLY.has(op)) : [];
  if (skipped.length) log(`skipping ${skipped.join(', ')} with encryption on: a blind-indexed birth date refuses ranges (400)`);
  return wanted.filter((op) => !skipped.includes(op));
}

async function workloads(server: RunningServer, o: Options, gen: PatientGen, ops: readonly string[]): Promise<Workload[]> {
  const db = server.sushruta.db;
  const store = server.sushruta.service.deps.store;
  // Query values from the stored data itself: a random sample of the loaded patients.
  const sample = await db.query<ResourceRow>(
    `SELECT resource_type, id, version_id, last_updated, deleted, body FROM resource
     WHERE tenant_id = $1 AND resource_type = 'Patient' AND NOT deleted ORDER BY random() LIMIT ${o.pool}`,
    [TENANT],
  );
  const patients = sample.rows.map((r) => store.decode(r).resource as Patient);
  const ids = patients.map((p) => p.id as string);
  const identifiers = patients
    .map((p) => p.identifier?.find((i: Identifier) => i.system && i.value))
    .filter((i): i is Identifier => !!i)
    .map((i) => `${i.system}|${i.value}`);
  const prefixes = patients
    .map((p) => p.name?.find((n: HumanName) => n.family)?.family)
    .filter((f): f is string => !!f && f.length >= 3)
    .map((f) => f.slice(0, 3).toLowerCase());
  const years = patients.map((p) => /^\d{4}/.exec(p.birthDate ?? '')?.[0]).filter((y): y is string => !!y);
  const rnd = mulberry(42);
  const months = Array.from({ length: o.pool }, () => {
    const y = 1940 + Math.floor(rnd() * 80);
    const m = 1 + Math.floor(rnd() * 12);
    const lo = `${y}-${String(m).padStart(2, '0')}-01`;
    const hi = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
    return [lo, hi] as const;
  });
  if (ids.length === 0 || identifiers.length === 0 || prefixes.length === 0 || years.length === 0) throw new Error('no patients to query');

  const q = (s: Stmt) => async () => (await db.query(s.text, s.params)).rows.length;
  const enc = encodeURIComponent;
  const searchWorkload = async (op: string, description: string, params: [string, string][][]): Promise<Workload> => {
    const stmts: Stmt[] = [];
    for (const p of params) stmts.push(await captureSearch(store, p));
    return {
      op,
      description,
      countRows: true,
      http: params.map((p) => ({ m: 'GET', p: `/fhir/Patient?${p.map(([k, v]) => `${k}=${enc(v)}`).join('&')}` })),
      floor: (i) => q(stmts[i % stmts.length] as Stmt)(),
      floorSql: oneLine((stmts[0] as Stmt).text),
    };
  };

  const builders: Record<string, () => Promise<Workload>> = {
    read: async () => {
      const reads = await Promise.all(ids.map((id) => captureRead(store, id)));
      return {
        op: 'read',
        description: 'GET Patient/{id} (random loaded patient)',
        countRows: false,
        http: ids.map((id) => ({ m: 'GET', p: `/fhir/Patient/${id}` })),
        floor: (i) => q(reads[i % reads.length] as Stmt)(),
        floorSql: oneLine((reads[0] as Stmt).text),
      };
    },
    'search-identifier': () =>
      searchWorkload(
        'search-identifier',
        'GET Patient?identifier={system}|{value} (token, 1 match)',
        identifiers.map((v) => [['identifier', v]]),
      ),
    'search-family': () =>
      searchWorkload(
        'search-family',
        'GET Patient?family={3-letter prefix} (string prefix, first page of 20)',
        prefixes.map((v) => [['family', v]]),
      ),
    'search-birthyear': () =>
      searchWorkload(
        'search-birthyear',
        'GET Patient?birthdate={YYYY} (year of birth of a loaded patient, first page of 20)',
        years.map((y) => [['birthdate', y]]),
      ),
    'search-birthdate': () =>
      searchWorkload(
        'search-birthdate',
        'GET Patient?birthdate=ge{month start}&birthdate=lt{next month} (date range, first page of 20; plaintext only)',
        months.map(([lo, hi]) => [
          ['birthdate', `ge${lo}`],
          ['birthdate', `lt${hi}`],
        ]),
      ),
    create: async () => {
      // Creates: new patients beyond the loaded ones. The floor replays the statements the write
      // path issues (INSERT resource_history, INSERT resource, INSERT index rows) under a fresh id,
      // in one transaction. The server additionally runs a DELETE over every index table (see
      // README). With encryption on the replayed body is the captured ciphertext, bound (AAD) to
      // the captured id, so the floor's rows could not be decrypted: they are deleted afterwards.
      const fresh = Array.from({ length: Math.min(o.pool, 1000) }, (_, k) => gen(7, o.patients + k));
      const captured = await Promise.all(fresh.map((p) => captureCreate(store, p)));
      const templates = captured.map(({ stmts, id }) => ({
        stmts: stmts.filter((s) => !/^\s*WITH d0 AS \(DELETE|^\s*DELETE/i.test(s.text)),
        id,
      }));
      const written: string[] = [];
      return {
        op: 'create',
        description: 'POST Patient (new synthetic patient)',
        countRows: false,
        http: fresh.map((p) => ({ m: 'POST', p: '/fhir/Patient', b: JSON.stringify(p) })),
        floor: async (i) => {
          const t = templates[i % templates.length] as (typeof templates)[number];
          const id = randomUUID();
          written.push(id);
          await db.transaction(async (tx) => {
            for (const s of t.stmts)
              await tx.query(
                s.text,
                s.params.map((v) => (v === t.id ? id : v)),
              );
          });
          return 1;
        },
        floorSql: templates[0]?.stmts.map((s) => oneLine(s.text).slice(0, 140)).join(' ; ') ?? '',
        afterFloor: async () => {
          for (let k = 0; k < written.length; k += 5000) {
            const batch = written.slice(k, k + 5000);
            await db.transaction(async (tx) => {
              for (const t of TABLES) {
                const col = t.startsWith('resource') ? 'id' : 'resource_id';
                await tx.query(`DELETE FROM ${t} WHERE tenant_id = $1 AND resource_type = 'Patient' AND ${col} = ANY($2::text[])`, [
                  TENANT,
                  batch,
                ]);
              }
            });
          }
          log(`  removed the ${written.length} patients the create floor wrote`);
        },
      };
    },
  };
  const out: Workload[] = [];
  for (const op of ops) {
    const build = builders[op];
    if (build) out.push(await build());
  }
  return out;
}

/** Where one run keeps its data: each encryption mode has a database (and key file) of its own. */
function location(kind: 'pglite' | 'postgres', mode: Mode, o: Options): { dataDir?: string; schema?: string; keyFile: string } {
  if (kind === 'pglite') {
    const dataDir = o.pgliteDir
      ? mode === 'on'
        ? o.pgliteDir
        : `${o.pgliteDir}-plain`
      : mkdtempSync(join(os.tmpdir(), `sushruta-bench-${mode === 'on' ? 'enc' : 'plain'}-`));
    return { dataDir, keyFile: `${dataDir}.keys/master.kek` };
  }
  const schema = mode === 'on' ? o.pgSchema : `${o.pgSchema}_plain`;
  return { schema, keyFile: join(os.tmpdir(), `sushruta-bench-${schema}.keys`, 'master.kek') };
}

/** The audit-off baseline: the audit stage runs, its entries go nowhere. */
const discardAudit: AuditSink = { append: async () => {} };

async function runDb(
  kind: 'pglite' | 'postgres',
  mode: Mode,
  audit: Mode,
  o: Options,
  gen: PatientGen,
  genSource: string,
): Promise<DbResult> {
  const where = location(kind, mode, o);
  const keyDir = dirname(where.keyFile);
  let dataDir: string | undefined;
  let databaseUrl: string | undefined;
  let cleanup = async () => {};
  if (!o.reuse) rmSync(keyDir, { recursive: true, force: true });
  if (kind === 'pglite') {
    dataDir = where.dataDir as string;
    if (!o.reuse && o.pgliteDir) rmSync(dataDir, { recursive: true, force: true });
    const d = dataDir;
    if (!o.keep && (!o.reuse || o.dropAfter))
      cleanup = async () => {
        rmSync(d, { recursive: true, force: true });
        rmSync(keyDir, { recursive: true, force: true });
      };
  } else {
    const schema = where.schema as string;
    const admin = await openDb({ kind: 'postgres', url: o.pgUrl, poolSize: 1 });
    try {
      if (!o.reuse) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await admin.close();
    }
    const u = new URL(o.pgUrl);
    u.searchParams.set('options', `-c search_path=${schema}`);
    databaseUrl = u.toString();
    if (!o.keep && (!o.reuse || o.dropAfter)) {
      cleanup = async () => {
        const a = await openDb({ kind: 'postgres', url: o.pgUrl, poolSize: 1 });
        await a.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await a.close();
        rmSync(keyDir, { recursive: true, force: true });
      };
    }
  }
  log(
    `\n== ${kind}, encryption ${mode}, audit ${audit}: ${dataDir ? `PGlite in ${dataDir}` : `PostgreSQL schema ${where.schema}`}, key file ${where.keyFile}`,
  );
  const config = loadConfig({
    env: {},
    flags: {
      port: 0,
      tenant: TENANT,
      dataDir,
      databaseUrl,
      keyFile: where.keyFile,
      limits: { bundleEntries: Math.max(1000, o.bundle) },
    },
  });
  // encryption: false is the plaintext baseline; it is an option of openSushruta, never a config key.
  const server = await startServer(config, {
    logger: false,
    open: { encryption: mode === 'on', ...(audit === 'off' ? { audit: discardAudit } : {}) },
  });
  // VACUUM cannot run in a transaction and the server's PostgreSQL connections carry the query
  // deadline as statement_timeout: maintenance gets a connection of its own without one.
  const maint: Db | undefined = databaseUrl ? await openDb({ kind: 'postgres', url: databaseUrl, poolSize: 1 }) : undefined;
  try {
    const db = server.sushruta.db;
    const vdb: Queryable = maint ?? db;
    if (mode === 'on' && !server.sushruta.crypto) throw new Error('encryption on was asked for, but the server runs without it');
    if (mode === 'off' && server.sushruta.crypto) throw new Error('encryption off was asked for, but the server encrypts');
    if ((audit === 'on') !== (server.sushruta.auditLog !== undefined))
      throw new Error(`audit ${audit} was asked for, but the server differs`);
    const version = (await db.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v ?? '?';
    const have = await count(db);
    const loadAverage = loadAvg();
    const t0 = performance.now();
    let loaded = 0;
    if (have < o.patients) {
      log(
        `${have} patients present; loading ${o.patients - have} through HTTP transaction Bundles (patients from ${genSource}); load average ${loadAverage.join(' ')}`,
      );
      loaded = await loadPatients(server, o, have, gen, kind === 'postgres' ? 2 : 1);
    } else log(`reusing ${have} patients already loaded`);
    const loadSeconds = (performance.now() - t0) / 1000;
    if (loaded) log(`loaded ${loaded} patients in ${formatDuration(loadSeconds)} (${(loaded / loadSeconds).toFixed(0)} patients/s)`);
    const vacuumSeconds = await vacuum(vdb);
    log(`VACUUM ANALYZE: ${vacuumSeconds.toFixed(1)} s`);
    const patients = await count(db);
    await checkStorage(db, mode);
    const storage = await tableSizes(db);
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
    log(`storage: ${storage.map((x) => `${x.table} ${x.rows} rows ${mib(x.bytes)}`).join(', ')}`);

    const results: OpResult[] = [];
    for (const w of await workloads(server, o, gen, selectedOps(o, mode))) {
      await vacuum(vdb);
      const la = loadAvg();
      log(
        `${kind} enc ${mode} audit ${audit} ${w.op}: server over HTTP, ${o.concurrency} clients, ${o.warmup} s warm-up + ${o.duration} s (load average ${la.join(' ')}) ...`,
      );
      const s = await runHttp(server.url, w.http, {
        concurrency: o.concurrency,
        warmup: o.warmup,
        duration: o.duration,
        countRows: w.countRows,
      });
      let f: Stats | undefined;
      if (o.floor) {
        await vacuum(vdb);
        log(`${kind} enc ${mode} ${w.op}: floor through the Db adapter ...`);
        f = await runFloor(w.floor, o, w.countRows);
        await w.afterFloor?.();
      }
      results.push({ op: w.op, description: w.description, server: s, ...(f ? { floor: f } : {}), floorSql: w.floorSql, loadAverage: la });
      const errs = s.errors || f?.errors ? ` | ERRORS server ${s.errors} floor ${f?.errors ?? '-'}: ${s.firstError ?? f?.firstError}` : '';
      log(
        `  server ${s.rps.toFixed(0)} req/s p50 ${s.p50.toFixed(2)} ms p99 ${s.p99.toFixed(2)} ms` +
          (f
            ? ` | floor ${f.rps.toFixed(0)} req/s p50 ${f.p50.toFixed(2)} ms p99 ${f.p99.toFixed(2)} ms | ratio ${(s.rps / f.rps).toFixed(2)}`
            : '') +
          errs,
      );
    }
    return {
      db: kind,
      encryption: mode,
      audit,
      databaseVersion: version,
      patients,
      load: {
        loaded,
        seconds: loadSeconds,
        perSecond: loaded ? loaded / loadSeconds : 0,
        via: `HTTP POST transaction Bundles of ${o.bundle} Patient entries`,
        reused: loaded === 0,
        loadAverage,
      },
      vacuumSeconds,
      storage,
      results,
    };
  } finally {
    await maint?.close();
    await server.stop();
    await cleanup();
  }
}

/**
 * The run measures what it says: with encryption on no body is plain JSON and the family index
 * holds digests; with it off bodies are JSON. Fails loudly rather than publish a mislabelled figure.
 */
async function checkStorage(db: Db, mode: Mode): Promise<void> {
  const r = await db.query<{ plain: string; total: string }>(
    `SELECT count(*) FILTER (WHERE get_byte(body, 0) = 123) AS plain, count(*) AS total FROM (
       SELECT body FROM resource WHERE tenant_id = $1 AND resource_type = 'Patient' LIMIT 1000) b`,
    [TENANT],
  );
  const plain = Number(r.rows[0]?.plain ?? 0);
  const total = Number(r.rows[0]?.total ?? 0);
  if (mode === 'on' && plain > 0) throw new Error(`encryption on, but ${plain} of ${total} sampled bodies are plain JSON`);
  if (mode === 'off' && plain !== total)
    throw new Error(`encryption off, but ${total - plain} of ${total} sampled bodies are not plain JSON`);
  log(`storage check: ${total} sampled bodies, ${plain} plain JSON (encryption ${mode})`);
}

// ---------------------------------------------------------------------------------------------
// Reporting

function machine() {
  const cpuinfo = (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return '';
    }
  })();
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? '?';
  const git = (cmd: string) => {
    try {
      return execSync(cmd, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '?';
    }
  };
  const pglite = (() => {
    try {
      return JSON.parse(readFileSync(join(ROOT, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')).version as string;
    } catch {
      return '?';
    }
  })();
  return {
    nproc: os.availableParallelism(),
    cpu: model,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version,
    pglite,
    commit: git('git rev-parse --short HEAD'),
    dirty: git('git status --porcelain') !== '',
  };
}

const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–');
const f2 = (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : '–');

const dbName = (db: 'pglite' | 'postgres') => (db === 'pglite' ? 'PGlite' : 'PostgreSQL');
const busy = (la: readonly number[]) => ((la[0] ?? 0) > 3 ? ` (load ${(la[0] ?? 0).toFixed(1)})` : '');

function table(r: DbResult): string {
  const floor = r.results.some((x) => x.floor);
  const lines = [
    `### ${dbName(r.db)}, encryption ${r.encryption}, audit ${r.audit}, ${r.patients.toLocaleString('en-US')} patients`,
    '',
    floor
      ? '| operation | server req/s | server p50 ms | server p99 ms | floor req/s | floor p50 ms | floor p99 ms | server/floor throughput | rows/result |'
      : '| operation | server req/s | server p50 ms | server p99 ms | rows/result |',
    floor ? '|---|---:|---:|---:|---:|---:|---:|---:|---:|' : '|---|---:|---:|---:|---:|',
  ];
  for (const x of r.results) {
    const errs = x.server.errors || x.floor?.errors ? ` (errors: server ${x.server.errors}, floor ${x.floor?.errors ?? '-'})` : '';
    const rows = x.server.rows !== undefined ? x.server.rows.toFixed(1) : '';
    const f = x.floor;
    lines.push(
      `| ${x.op}${errs}${busy(x.loadAverage)} | ${f0(x.server.rps)} | ${f2(x.server.p50)} | ${f2(x.server.p99)} | ` +
        (f ? `${f0(f.rps)} | ${f2(f.p50)} | ${f2(f.p99)} | ${(x.server.rps / f.rps).toFixed(2)} | ` : '') +
        `${rows} |`,
    );
  }
  lines.push(
    '',
    r.load.reused
      ? '_Load: data reused from an earlier run._'
      : `_Load: ${r.load.loaded.toLocaleString('en-US')} patients in ${formatDuration(r.load.seconds)} (${f0(r.load.perSecond)} patients/s) via ${r.load.via}; load average before ${r.load.loadAverage.join(' / ')}; VACUUM ANALYZE ${r.vacuumSeconds.toFixed(1)} s._`,
    `_Storage after load: ${storageLine(r)}._`,
  );
  return lines.join('\n');
}

function storageLine(r: DbResult): string {
  const used = r.storage.filter((x) => x.rows > 0);
  const total = r.storage.reduce((a, x) => a + x.bytes, 0);
  return `${used.map((x) => `${x.table} ${x.rows.toLocaleString('en-US')} rows / ${(x.bytes / 2 ** 20).toFixed(0)} MiB`).join(', ')}; all ${(total / 2 ** 20).toFixed(0)} MiB (tables, indexes, TOAST)`;
}

/** What one on/off comparison measures, and its target (on keeps at least this share of off). */
interface Dimension {
  readonly name: 'encryption' | 'audit';
  readonly title: string;
  readonly target: number;
}

/** Issue 3: with encryption on, each operation keeps at least 85% of its plaintext throughput. */
const ENCRYPTION: Dimension = { name: 'encryption', title: 'Encryption', target: 0.85 };
/** Issue 4: with the audit log on, each operation keeps at least 80% of its throughput without it. */
const AUDIT: Dimension = { name: 'audit', title: 'Audit log', target: 0.8 };

interface Comparison {
  readonly op: string;
  readonly off: Stats;
  readonly on: Stats;
  /** on / off throughput. */
  readonly ratio: number;
  readonly met: boolean;
  readonly floorRatio?: number;
}

function compare(off: DbResult, on: DbResult, d: Dimension): Comparison[] {
  const out: Comparison[] = [];
  for (const x of off.results) {
    const y = on.results.find((r) => r.op === x.op);
    if (!y) continue;
    const ratio = y.server.rps / x.server.rps;
    out.push({
      op: x.op,
      off: x.server,
      on: y.server,
      ratio,
      met: ratio >= d.target,
      ...(x.floor && y.floor ? { floorRatio: y.floor.rps / x.floor.rps } : {}),
    });
  }
  return out;
}

function comparisonTable(db: 'pglite' | 'postgres', d: Dimension, off: DbResult, on: DbResult, rows: readonly Comparison[]): string {
  const floor = rows.some((c) => c.floorRatio !== undefined);
  const fixed = d.name === 'encryption' ? `audit ${on.audit}` : `encryption ${on.encryption}`;
  const lines = [
    `### ${d.title} on / off, ${dbName(db)}, ${fixed}, ${on.patients.toLocaleString('en-US')} patients (on) / ${off.patients.toLocaleString('en-US')} (off)`,
    '',
    `| operation | off req/s | off p50 ms | off p99 ms | on req/s | on p50 ms | on p99 ms | on/off throughput | ≥ ${d.target} |${floor ? ' floor on/off |' : ''}`,
    `|---|---:|---:|---:|---:|---:|---:|---:|:---:|${floor ? '---:|' : ''}`,
  ];
  for (const c of rows) {
    lines.push(
      `| ${c.op} | ${f0(c.off.rps)} | ${f2(c.off.p50)} | ${f2(c.off.p99)} | ${f0(c.on.rps)} | ${f2(c.on.p50)} | ${f2(c.on.p99)} | ${c.ratio.toFixed(3)} | ${c.met ? 'yes' : '**no**'} |${floor ? ` ${c.floorRatio !== undefined ? c.floorRatio.toFixed(3) : ''} |` : ''}`,
    );
  }
  const skipped = off.results.filter((x) => !rows.some((c) => c.op === x.op)).map((x) => x.op);
  const lr = on.load.perSecond && off.load.perSecond ? on.load.perSecond / off.load.perSecond : Number.NaN;
  lines.push('');
  if (d.name === 'encryption')
    lines.push(
      `_Load through HTTP transaction Bundles: off ${f0(off.load.perSecond)} patients/s, on ${f0(on.load.perSecond)} patients/s (on/off ${Number.isFinite(lr) ? lr.toFixed(2) : '–'})._` +
        (skipped.length ? ` _Measured with encryption off only (refused with it on): ${skipped.join(', ')}._` : ''),
    );
  else lines.push('_Same data, same run: the server restarted on it with the audit sink swapped; the floor has no audit in either half._');
  return lines.join('\n');
}

/** JSON laid out as the repository's formatter (Biome) lays it out: short scalar arrays on one line. */
export function toJson(value: unknown): string {
  const text = JSON.stringify(value, null, 2).replace(
    /^( *)("[^"\n]*": )?\[\n([^[\]{}]*?)\n *\]/gm,
    (all, indent: string, key = '', body: string) => {
      const items = body.split(',\n').map((x) => x.trim());
      const line = `${indent}${key}[${items.join(', ')}]`;
      return line.length <= 140 ? line : all;
    },
  );
  return `${text}\n`;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const { gen, source } = await patientGenerator();
  const kinds: ('pglite' | 'postgres')[] = o.db === 'both' ? ['pglite', 'postgres'] : [o.db];
  const m = machine();
  const date = new Date().toISOString();
  const stamp = `${date.slice(0, 10)}T${date.slice(11, 16).replace(':', '')}`;
  const command = `npx tsx bench/fhir-core.ts ${process.argv.slice(2).join(' ')}`.trim();
  log(
    `fhir-core benchmark: ${kinds.join(' + ')}, encryption ${o.encryption.join(' then ')}, audit ${o.audit.join(' then ')}, ${o.patients} patients, ${o.concurrency} clients, ${o.duration} s per run; ${m.nproc} CPUs (${m.cpu}), ${m.ramGiB} GiB; load average ${m.loadAverage.join(' ')}`,
  );
  const outDir = join(ROOT, 'bench/results');
  mkdirSync(outDir, { recursive: true });
  const tables: string[] = [];
  const emit = (kind: 'pglite' | 'postgres', d: Dimension, off: DbResult | undefined, on: DbResult | undefined) => {
    if (!off || !on) return;
    const rows = compare(off, on, d);
    const file = join(outDir, `${d.name}-${kind}-${stamp}.json`);
    writeFileSync(
      file,
      toJson({ benchmark: d.name, date, command, machine: m, options: o, patientSource: source, target: d.target, comparison: rows }),
    );
    tables.push(comparisonTable(kind, d, off, on, rows));
    log(`${d.name} on/off comparison written to ${file}`);
  };
  for (const kind of kinds) {
    const runs: DbResult[] = [];
    // Each encryption mode's data is loaded by its first audit run and reused by the next, so the
    // PGlite directories must be named once for the whole run.
    const ko =
      kind === 'pglite' && !o.pgliteDir && o.audit.length > 1 ? { ...o, pgliteDir: mkdtempSync(join(os.tmpdir(), 'sushruta-bench-')) } : o;
    for (const mode of o.encryption) {
      for (const [i, audit] of o.audit.entries()) {
        const last = i === o.audit.length - 1;
        const r = await runDb(
          kind,
          mode,
          audit,
          { ...ko, reuse: ko.reuse || i > 0, keep: ko.keep || !last, dropAfter: last && !ko.reuse },
          gen,
          source,
        );
        runs.push(r);
        const file = join(outDir, `fhir-core-${kind}-enc-${mode}-audit-${audit}-${stamp}.json`);
        writeFileSync(file, toJson({ benchmark: 'fhir-core', date, command, machine: m, options: o, patientSource: source, ...r }));
        tables.push(table(r));
        log(`results written to ${file}`);
      }
    }
    const find = (encryption: Mode, audit: Mode) => runs.find((r) => r.encryption === encryption && r.audit === audit);
    const auditMode = o.audit[0] as Mode;
    emit(kind, ENCRYPTION, find('off', auditMode), find('on', auditMode));
    for (const mode of o.encryption) emit(kind, AUDIT, find(mode, 'off'), find(mode, 'on'));
  }
  process.stdout.write(
    `\n## FHIR core benchmark, ${date.slice(0, 10)}, commit ${m.commit}${m.dirty ? ' (uncommitted changes)' : ''}\n\n` +
      `Machine: ${m.nproc} CPUs (${m.cpu}), ${m.ramGiB} GiB RAM, Node ${m.node}, PGlite ${m.pglite}; load average at start ${m.loadAverage.join(' / ')}. ` +
      `${o.concurrency} keep-alive HTTP clients (worker thread)${o.floor ? ' vs the same SQL through the Db adapter' : ''}; ${o.warmup} s warm-up + ${o.duration} s per run.\n` +
      `Command: \`${command}\`\n\n${tables.join('\n\n')}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`fhir-core: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
