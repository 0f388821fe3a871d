/**
 * Authorization overhead (issue 5, "Must show": under 5% of request time at the load of the FHIR
 * core benchmark).
 *
 *   npx tsx bench/policy.ts [--db pglite|postgres] [--patients 2000] [--duration 15] [--warmup 3]
 *                           [--concurrency 16] [--rounds 2] [--pg-url URL]
 *
 * 1. Loads N synthetic patients, each with an encounter in the doctor's department (so the care
 *    relationship holds), a Condition and an Observation, through the server as the operator.
 * 2. Creates a doctor account and signs it in through HTTP (password change, TOTP): every
 *    measured request carries the doctor's session cookie, as the web app's would.
 * 3. Measures, as the doctor, with `--concurrency` keep-alive clients: read a Condition, search a
 *    patient's Observations, search a patient's Encounters with `_include` of the Patient, and
 *    look a patient up by id. Each operation runs with the real access policy (role decision,
 *    then every returned resource screened: compartment, restriction, care relationship, grants:
 *    one round trip to the database per request) and with a policy that allows everything
 *    without screening (the baseline: the same server, sign-in, encryption and audit).
 *    The two alternate `--rounds` times on the same data, each after VACUUM ANALYZE, so that drift
 *    of the machine falls on both; throughput and p50 are the mean over rounds.
 *
 * Prints a markdown table and writes bench/results/policy-<db>-<date>.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/config.js';
import type { RequestContext } from '../src/fhir/context.js';
import type { AccessPolicy } from '../src/fhir/guard.js';
import { TenantId } from '../src/fhir/types.js';
import { syntheticPatient } from '../src/hospital/demo/index.js';
import { startServer } from '../src/runtime/server.js';
import { base32Decode, totp } from '../src/security/identity/totp.js';
import { openDb } from '../src/store/open-db.js';
import { type HttpReq, runHttp, type Stats } from './http-load.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TENANT = 'bench-policy';
const DEPT = 'dept-bench-medicine';
const DOCTOR = 'bench-doctor';

interface Options {
  db: 'pglite' | 'postgres';
  patients: number;
  duration: number;
  warmup: number;
  concurrency: number;
  rounds: number;
  pgUrl: string;
}

function parse(argv: string[]): Options {
  const o: Options = {
    db: 'pglite',
    patients: 2000,
    duration: 15,
    warmup: 3,
    concurrency: 16,
    rounds: 2,
    pgUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    const num = (name: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number from 1, got '${v}'`);
      i++;
      return n;
    };
    switch (argv[i]) {
      case '--db':
        if (v !== 'pglite' && v !== 'postgres') throw new Error(`--db must be pglite or postgres, got '${v}'`);
        o.db = v;
        i++;
        break;
      case '--patients':
        o.patients = num('--patients');
        break;
      case '--duration':
        o.duration = num('--duration');
        break;
      case '--warmup':
        o.warmup = num('--warmup');
        break;
      case '--concurrency':
        o.concurrency = num('--concurrency');
        break;
      case '--rounds':
        o.rounds = num('--rounds');
        break;
      case '--pg-url':
        o.pgUrl = v as string;
        i++;
        break;
      default:
        throw new Error(`unknown option '${argv[i]}' (see the comment at the top of bench/policy.ts)`);
    }
  }
  return o;
}

const log = (s: string) => process.stderr.write(`${s}\n`);

/** The baseline: everything allowed, nothing screened (same door, same audit). */
const allowAll: AccessPolicy = { decide: () => ({ allowed: true, rule: 'bench-allow-all' }) };

interface Fixture {
  readonly conditions: string[];
  readonly patients: string[];
}

async function post(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

async function load(operatorUrl: string, n: number): Promise<Fixture> {
  const conditions: string[] = [];
  const patients: string[] = [];
  const per = 100;
  const t0 = Date.now();
  for (let b = 0; b < n; b += per) {
    const entry: unknown[] = [];
    for (let i = b; i < Math.min(n, b + per); i++) {
      const pu = `urn:uuid:${crypto.randomUUID()}`;
      const subject = { reference: pu };
      entry.push(
        { fullUrl: pu, resource: syntheticPatient(20221123, i), request: { method: 'POST', url: 'Patient' } },
        {
          resource: {
            resourceType: 'Encounter',
            status: 'in-progress',
            class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
            subject,
            serviceProvider: { reference: `Organization/${DEPT}` },
            participant: [{ individual: { reference: `Practitioner/${DOCTOR}` } }],
            period: { start: new Date(Date.now() - 3_600_000).toISOString() },
          },
          request: { method: 'POST', url: 'Encounter' },
        },
        {
          resource: { resourceType: 'Condition', subject, code: { text: 'Essential hypertension' } },
          request: { method: 'POST', url: 'Condition' },
        },
        {
          resource: { resourceType: 'Observation', status: 'final', code: { text: 'Blood pressure' }, subject, valueString: '150/95 mmHg' },
          request: { method: 'POST', url: 'Observation' },
        },
      );
    }
    const r = await post(`${operatorUrl}/fhir`, { resourceType: 'Bundle', type: 'transaction', entry });
    if (r.status !== 200) throw new Error(`loading failed: ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
    for (const e of (r.json as { entry: { response: { location: string } }[] }).entry) {
      const [type, id] = e.response.location.split('/');
      if (type === 'Condition') conditions.push(id as string);
      if (type === 'Patient') patients.push(id as string);
    }
    const done = Math.min(n, b + per);
    const eta = ((Date.now() - t0) / done) * (n - done);
    log(`loaded ${done}/${n} patients, about ${Math.ceil(eta / 1000)} s left`);
  }
  return { conditions, patients };
}

/** Signs the doctor in through HTTP (initial password -> own password -> TOTP) and returns the cookie. */
async function signIn(url: string, username: string, initial: string): Promise<string> {
  const jar = new Map<string, string>();
  let csrf = '';
  const call = async (path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(csrf ? { 'x-csrf-token': csrf } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair = ''] = c.split(';');
      const i = pair.indexOf('=');
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status !== 200) throw new Error(`sign-in step ${path} failed: ${res.status} ${JSON.stringify(json)}`);
    if (typeof json.csrfToken === 'string') csrf = json.csrfToken;
    return json;
  };
  await call('/auth/login', { username, password: initial });
  await call('/auth/password', { newPassword: 'monsoon lantern pickle river' });
  const begun = await call('/auth/totp/begin');
  await call('/auth/totp/confirm', { code: totp(base32Decode(begun.secret as string), Date.now() / 1000) });
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

function requests(f: Fixture): Record<string, HttpReq[]> {
  const pick = <T>(list: readonly T[], k: number) => list[(k * 7919) % list.length] as T;
  const many = (fn: (k: number) => HttpReq) => Array.from({ length: 500 }, (_, k) => fn(k));
  return {
    'read Condition': many((k) => ({ m: 'GET', p: `/fhir/Condition/${pick(f.conditions, k)}` })),
    "search a patient's Observations": many((k) => ({ m: 'GET', p: `/fhir/Observation?patient=${pick(f.patients, k)}` })),
    'search Encounters + _include Patient': many((k) => ({
      m: 'GET',
      p: `/fhir/Encounter?patient=${pick(f.patients, k)}&_include=Encounter:subject`,
    })),
    'Patient by _id': many((k) => ({ m: 'GET', p: `/fhir/Patient?_id=${pick(f.patients, k)}` })),
  };
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const keyDir = mkdtempSync(join(os.tmpdir(), 'sushruta-bench-policy-keys-'));
  let dataDir: string | undefined;
  let databaseUrl: string | undefined;
  let schema: string | undefined;
  if (o.db === 'pglite') {
    dataDir = mkdtempSync(join(os.tmpdir(), 'sushruta-bench-policy-'));
  } else {
    schema = `bench_policy_${process.pid}`;
    const admin = await openDb({ kind: 'postgres', url: o.pgUrl, poolSize: 1 });
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.close();
    const u = new URL(o.pgUrl);
    u.searchParams.set('options', `-c search_path=${schema}`);
    databaseUrl = u.toString();
  }
  const config = loadConfig({ env: {}, flags: { port: 0, tenant: TENANT, dataDir, databaseUrl, keyFile: join(keyDir, 'master.kek') } });
  const results: Record<string, { care: Stats[]; allow: Stats[] }> = {};
  try {
    log(`== ${o.db}: ${o.patients} patients, ${o.concurrency} clients, ${o.rounds} rounds of ${o.duration} s per operation and policy`);
    let server = await startServer(config, { logger: false });
    const fixture = await load(server.operatorUrl, o.patients);
    const opCtx: RequestContext = {
      requestId: `bench-policy-${process.pid}`,
      tenantId: TenantId(TENANT),
      actor: { kind: 'local-operator', description: 'bench/policy.ts' },
      provenance: { peerAddress: 'local', clientAddress: 'local', forwardedChain: [], userAgent: 'bench' },
      baseUrl: `${server.url}/fhir`,
      lenient: false,
    };
    const made = await server.sushruta.identity.createAccount(opCtx, {
      username: 'bench.doctor',
      displayName: 'Bench Doctor',
      roles: ['doctor'],
      departments: [DEPT],
      practitionerId: DOCTOR,
    });
    const cookie = await signIn(server.url, 'bench.doctor', made.initialPassword);
    await server.stop();
    const ops = requests(fixture);
    for (let round = 1; round <= o.rounds; round++) {
      for (const policy of ['care', 'allow'] as const) {
        server = await startServer(config, { logger: false, open: policy === 'allow' ? { policy: allowAll } : {} });
        try {
          await server.sushruta.db.query('VACUUM ANALYZE');
          for (const [name, list] of Object.entries(ops)) {
            const s = await runHttp(server.url, list, {
              concurrency: o.concurrency,
              warmup: o.warmup,
              duration: o.duration,
              headers: { cookie },
              countRows: true,
            });
            if (s.errors > 0) throw new Error(`${name} (${policy}): ${s.errors} errors, first: ${s.firstError}`);
            results[name] ??= { care: [], allow: [] };
            results[name][policy].push(s);
            log(`round ${round} ${policy.padEnd(5)} ${name}: ${s.rps.toFixed(0)} req/s, p50 ${s.p50.toFixed(2)} ms, ${s.rows ?? '-'} rows`);
          }
        } finally {
          await server.stop();
        }
      }
    }
  } finally {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (schema) {
      const admin = await openDb({ kind: 'postgres', url: o.pgUrl, poolSize: 1 });
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.close();
    }
    rmSync(keyDir, { recursive: true, force: true });
  }

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rows = Object.entries(results).map(([name, r]) => {
    const careRps = mean(r.care.map((s) => s.rps));
    const allowRps = mean(r.allow.map((s) => s.rps));
    const careP50 = mean(r.care.map((s) => s.p50));
    const allowP50 = mean(r.allow.map((s) => s.p50));
    return { name, careRps, allowRps, careP50, allowP50, overhead: 1 - careRps / allowRps, p50Overhead: careP50 / allowP50 - 1 };
  });
  const lines = [
    `| operation (${o.db}, ${o.patients} patients, ${o.concurrency} clients) | policy: req/s | allow-all: req/s | policy: p50 ms | allow-all: p50 ms | overhead (throughput) | overhead (p50) |`,
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.careRps.toFixed(0)} | ${r.allowRps.toFixed(0)} | ${r.careP50.toFixed(2)} | ${r.allowP50.toFixed(2)} | ${(r.overhead * 100).toFixed(1)}% | ${(r.p50Overhead * 100).toFixed(1)}% |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '').slice(0, 15);
  const file = join(ROOT, 'bench', 'results', `policy-${o.db}-${stamp}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ options: o, load: os.loadavg(), results, summary: rows }, null, 2)}\n`);
  log(`results: ${file}`);
}

main().catch((err) => {
  process.stderr.write(`bench/policy: ${(err as Error).message}\n`);
  process.exit(1);
});
