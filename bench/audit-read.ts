/**
 * The audit log's read side at scale: what the read indexes of migration audit/002 cost every
 * append, and what the AuditEvent searches and the access report cost with and without them.
 *
 *   npx tsx bench/audit-read.ts [--db pglite|postgres] [--records 100000] [--runs 30]
 *                               [--append-records 20000] [--append-rounds 3]
 *
 * Index variants, each on a fresh database (in-memory PGlite, or a fresh schema of
 * BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test):
 *   `001`  the log's first migration only;
 *   `002`  with audit/002-read-indexes (what the server runs).
 * 1. Appends: `--append-rounds` rounds, each appending `--append-records` synthetic records to a
 *    fresh database of every variant in turn (interleaved, so a busy machine hurts all alike),
 *    through `AuditLog.append` (group commit, checkpoints every 1,000, as the server does), 2,000
 *    in flight; the median records/s per variant.
 * 2. Queries: one database per variant with `--records` records (90% of the measured hospital,
 *    200 agents, 20,000 patients, 30 days), ANALYZE, then each query `--runs` times with random
 *    arguments through the real `LogAuditReader` (a page of 21, newest first, as the FHIR layer
 *    asks): median and 95th percentile in ms, and the plan's scan nodes (EXPLAIN) for 002.
 * Writes bench/results/audit-read-<db>-<date>.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuditCondition } from '../src/fhir/audit-reader.js';
import { TenantId } from '../src/fhir/types.js';
import { signerFromSeedBytes } from '../src/security/audit/checkpoint.js';
import { AuditLog } from '../src/security/audit/log.js';
import { LogAuditReader } from '../src/security/audit/reader.js';
import { plainSealer, type UnplacedRecord } from '../src/security/audit/record.js';
import { auditMigrations } from '../src/security/audit/schema.js';
import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { openDb } from '../src/store/open-db.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TENANT = TenantId('bench-hospital');

function opt(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : (process.argv[i + 1] ?? dflt);
}
const DB = opt('--db', 'pglite');
const RECORDS = Number(opt('--records', '100000'));
const APPEND_RECORDS = Number(opt('--append-records', '20000'));
const APPEND_ROUNDS = Number(opt('--append-rounds', '3'));
const RUNS = Number(opt('--runs', '30'));
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
if (DB !== 'pglite' && DB !== 'postgres') throw new Error('--db must be pglite or postgres');

/** A small deterministic generator (mulberry32), so both variants get the same records. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const START = Date.UTC(2026, 9, 1);
const SPAN_MS = 30 * 24 * 3600 * 1000;
const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)] as T;
const ACTIONS: readonly [string, number][] = [
  ['read', 0.5],
  ['search-type', 0.3],
  ['create', 0.08],
  ['update', 0.07],
  ['delete', 0.01],
  ['history-instance', 0.04],
];

function record(i: number, total: number, r: () => number): UnplacedRecord {
  const tenant = r() < 0.9 ? TENANT : 'other-hospital';
  let x = r();
  let action = 'read';
  for (const [a, p] of ACTIONS) {
    if (x < p) {
      action = a;
      break;
    }
    x -= p;
  }
  const patients = Array.from({ length: 1 + Math.floor(r() * 3) }, () => `p-${Math.floor(r() * 20_000)}`);
  const type = action === 'search-type' ? 'Encounter' : pick(r, ['Patient', 'Encounter', 'Observation']);
  const id =
    action === 'search-type' ? null : type === 'Patient' ? (patients[0] as string) : `${type.toLowerCase()}-${Math.floor(r() * 50_000)}`;
  const status = r() < 0.02 ? 403 : r() < 0.02 ? 404 : action === 'create' ? 201 : 200;
  return {
    v: 1,
    time: new Date(START + Math.floor((i / total) * SPAN_MS)).toISOString(),
    tenant,
    request: `req-${i.toString(36).padStart(8, '0')}`,
    who: { kind: 'staff', id: `staff-${Math.floor(r() * 200)}`, role: 'doctor', session: null, client: null },
    what: {
      action,
      type,
      id,
      version: id ? '1' : null,
      query: action === 'search-type' ? { plain: `patient=${patients[0]}&_include=Encounter:subject` } : null,
      resources: id ? [`${type}/${id}`] : patients.map((p) => `Patient/${p}`),
      resourceCount: id ? 1 : patients.length,
    },
    patients,
    where: { peer: '10.0.0.1', forwarded: [], client: `10.1.${Math.floor(r() * 250)}.${Math.floor(r() * 250)}`, agent: 'bench' },
    why: { purpose: null, breakGlass: null },
    outcome: { status, rule: status === 403 ? 'care-relationship' : 'care-team', reason: null },
  };
}

async function open(variant: string): Promise<Db> {
  if (DB === 'pglite') return openDb({ kind: 'pglite', dataDir: 'memory://' });
  const schema = `bench_audit_read_${variant}`;
  const admin = await openDb({ kind: 'postgres', url: PG_URL, poolSize: 1 });
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const u = new URL(PG_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return openDb({ kind: 'postgres', url: u.toString(), poolSize: 4 });
}

interface QueryResult {
  readonly name: string;
  readonly medianMs: number;
  readonly p95Ms: number;
  readonly rows: number;
  readonly plan: string;
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;

/** `002-pending`: 002 with the GIN pending list back on, to tell the cost of each change apart. */
type Variant = '001' | '002' | '002-pending';
const VARIANTS: readonly Variant[] = ['001', '002', '002-pending'];

async function fresh(variant: Variant): Promise<Db> {
  const db = await open(variant.replace('-', '_'));
  await migrate(db, [variant === '001' ? auditMigrations.slice(0, 1) : auditMigrations]);
  if (variant === '002-pending') await db.query('ALTER INDEX audit_log_patients SET (fastupdate = on)');
  return db;
}

async function drop(variant: Variant): Promise<void> {
  if (DB !== 'postgres') return;
  const admin = await openDb({ kind: 'postgres', url: PG_URL, poolSize: 1 });
  await admin.query(`DROP SCHEMA IF EXISTS bench_audit_read_${variant.replace('-', '_')} CASCADE`);
  await admin.close();
}

/** Appends `total` records as the server does; returns records per second. */
async function append(db: Db, total: number): Promise<number> {
  const log = await AuditLog.open(db, { signer: signerFromSeedBytes('bench/audit', randomBytes(32)), checkpointSeconds: 0 });
  const r = rng(20221123);
  const t0 = performance.now();
  for (let done = 0; done < total; ) {
    const n = Math.min(2000, total - done);
    await Promise.all(Array.from({ length: n }, (_, k) => log.append(record(done + k, total, r))));
    done += n;
  }
  const perSec = total / ((performance.now() - t0) / 1000);
  await log.close();
  return perSec;
}

async function appendRounds(): Promise<Record<Variant, number[]>> {
  const out: Record<Variant, number[]> = { '001': [], '002': [], '002-pending': [] };
  for (let round = 1; round <= APPEND_ROUNDS; round++) {
    // Every other round in reverse order, so that what one variant leaves behind (a dropped
    // schema's files, a warm cache) does not always fall on the same one.
    for (const v of round % 2 === 1 ? VARIANTS : [...VARIANTS].reverse()) {
      const db = await fresh(v);
      try {
        out[v].push(await append(db, APPEND_RECORDS));
      } finally {
        await db.close();
        await drop(v);
      }
      process.stderr.write(`  append round ${round}, ${v}: ${Math.round(out[v][out[v].length - 1] ?? 0)} records/s\n`);
    }
  }
  return out;
}

async function queries(variant: Variant): Promise<QueryResult[]> {
  const db = await fresh(variant);
  try {
    process.stderr.write(`== ${DB}, indexes ${variant}: appending ${RECORDS} records\n`);
    await append(db, RECORDS);
    await db.query('ANALYZE audit_log');
    const reader = new LogAuditReader(plainSealer);
    const q = rng(7);
    const day = (k: number) => new Date(START + k * 24 * 3600 * 1000);
    const hour = () => {
      const from = new Date(START + Math.floor(q() * (SPAN_MS - 3600_000)));
      return { from, to: new Date(from.getTime() + 3600_000) };
    };
    const cases: [string, () => AuditCondition[], (() => number) | undefined][] = [
      ['newest page (no filter)', () => [], undefined],
      ['patient', () => [{ on: 'patient', any: [`p-${Math.floor(q() * 20_000)}`] }], undefined],
      ['patient, page 2 (keyset)', () => [{ on: 'patient', any: [`p-${Math.floor(q() * 20_000)}`] }], () => Math.floor(RECORDS * 0.6)],
      ['agent', () => [{ on: 'agent', any: [`staff:staff-${Math.floor(q() * 200)}`] }], undefined],
      [
        'agent + one day',
        () => [
          { on: 'agent', any: [`staff:staff-${Math.floor(q() * 200)}`] },
          { on: 'recorded', any: [{ from: day(10), to: day(11) }] },
        ],
        undefined,
      ],
      [
        'agent + the first day',
        () => [
          { on: 'agent', any: [`staff:staff-${Math.floor(q() * 200)}`] },
          { on: 'recorded', any: [{ from: day(0), to: day(1) }] },
        ],
        undefined,
      ],
      [
        'outcome 4 + the first day',
        () => [
          { on: 'status', any: [{ from: 400, to: 499 }] },
          { on: 'recorded', any: [{ from: day(0), to: day(1) }] },
        ],
        undefined,
      ],
      ['date: one hour', () => [{ on: 'recorded', any: [hour()] }], undefined],
      ['action D (1%)', () => [{ on: 'action', any: ['delete'] }], undefined],
      ['outcome 4 (4%)', () => [{ on: 'status', any: [{ from: 400, to: 499 }] }], undefined],
      [
        'entity Observation/x',
        () => [{ on: 'entity', any: [{ type: 'Observation', id: `observation-${Math.floor(q() * 50_000)}` }] }],
        undefined,
      ],
    ];
    const queries: QueryResult[] = [];
    for (const [name, where, before] of cases) {
      const times: number[] = [];
      let rows = 0;
      for (let i = 0; i < RUNS; i++) {
        const w = where();
        const b = before?.();
        const s = performance.now();
        const found = await reader.find(db, {
          tenantId: TENANT,
          where: w,
          order: 'desc',
          limit: 21,
          reveal: true,
          ...(b ? { after: { time: new Date(START + 0.6 * SPAN_MS).toISOString(), seq: b } } : {}),
        });
        times.push(performance.now() - s);
        rows += found.length;
      }
      const plan = await explain(db, where());
      queries.push({ name, medianMs: quantile(times, 0.5), p95Ms: quantile(times, 0.95), rows: Math.round(rows / RUNS), plan });
    }
    const counts: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const s = performance.now();
      await reader.count(db, TENANT, [{ on: 'patient', any: [`p-${Math.floor(q() * 20_000)}`] }]);
      counts.push(performance.now() - s);
    }
    queries.push({
      name: 'count for a patient (_total)',
      medianMs: quantile(counts, 0.5),
      p95Ms: quantile(counts, 0.95),
      rows: 1,
      plan: '',
    });
    return queries;
  } finally {
    await db.close();
    await drop(variant);
  }
}

/** The plan's top node for a page query, as the reader would run it (same SQL shape). */
async function explain(db: Db, where: AuditCondition[]): Promise<string> {
  let sql = '';
  let params: unknown[] = [];
  const spy = {
    query: async <R>(text: string, p?: readonly unknown[]) => {
      sql = text;
      params = [...(p ?? [])];
      return { rows: [] as R[], rowCount: 0 };
    },
  };
  await new LogAuditReader(plainSealer).find(spy as never, { tenantId: TENANT, where, order: 'desc', limit: 21, reveal: false });
  const res = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params as never);
  return res.rows
    .map((x) => x['QUERY PLAN'])
    .filter((l) => /Scan/.test(l))
    .slice(0, 2)
    .map((l) => l.trim().replace(/\s+\(cost.*$/, ''))
    .join(' / ');
}

const appends = await appendRounds();
const measured: Partial<Record<Variant, QueryResult[]>> = {};
if (!process.argv.includes('--append-only')) for (const v of VARIANTS) measured[v] = await queries(v);
const median = (xs: number[]) => quantile(xs, 0.5);
const lines = [
  `| ${DB}: ${RECORDS} records, page of 21 | ${VARIANTS.map((v) => `${v} median / p95 ms`).join(' | ')} | 002 plan |`,
  `|---|${VARIANTS.map(() => '---|').join('')}---|`,
  `| append, records/s (median of ${APPEND_ROUNDS} × ${APPEND_RECORDS}) | ${VARIANTS.map((v) => Math.round(median(appends[v]))).join(' | ')} | |`,
];
const base = measured['002'] ?? [];
for (let i = 0; i < base.length; i++) {
  const cells = VARIANTS.map((v) => {
    const x = measured[v]?.[i];
    return x ? `${x.medianMs.toFixed(1)} / ${x.p95Ms.toFixed(1)}` : '';
  });
  lines.push(`| ${base[i]?.name} | ${cells.join(' | ')} | ${base[i]?.plan} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
const dir = join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `audit-read-${DB}-${new Date().toISOString().slice(0, 16).replace(/[-:]/g, '')}.json`);
writeFileSync(
  file,
  `${JSON.stringify({ db: DB, records: RECORDS, runs: RUNS, appendRecords: APPEND_RECORDS, appends, queries: measured, cpus: os.cpus().length, load: os.loadavg(), node: process.version }, null, 2)}\n`,
);
process.stderr.write(`wrote ${file}\n`);
