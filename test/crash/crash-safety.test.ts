/**
 * Crash safety (invariant 4: a write is acknowledged only after commit; a crash at any instant
 * leaves the data consistent).
 *
 * The real server runs as a child process (`sushruta serve`) on PGlite (a data directory) and on
 * PostgreSQL (a fresh schema). Several clients stream creates, If-Match updates and transaction
 * Bundles of three linked resources at it, and every write that got a 2xx answer is written down.
 * The server is SIGKILLed mid-stream, started again on the same data (on PGlite this takes over
 * the stale lock file the killed process left), and then every acknowledged write must be there:
 *   - readable at (at least) its acknowledged version, and vread of every acknowledged version
 *     returns exactly the body that was acknowledged;
 *   - the current row and its history agree (vread of the current version = read);
 *   - every transaction Bundle is all or nothing, acknowledged or not (searched by its marker);
 *   - searches find every acknowledged resource by its marker identifier, at its current version
 *     (index rows commit with the resource).
 * After the last round the server is stopped and the tables are checked directly: current rows
 * match their history rows, versions are contiguous, and no index row points at nothing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { INDEX_TABLES } from '../../src/fhir/search/schema.js';
import type { DbTarget } from '../../src/store/db.js';
import { openDb } from '../../src/store/open-db.js';
import { freshTarget, testDbKinds } from '../support/db.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SYSTEM = 'urn:sushruta:test:crash-marker';
const ROUNDS = 3;
const CLIENTS = 6;
const FHIR_JSON = 'application/fhir+json';

// biome-ignore lint/suspicious/noExplicitAny: the test inspects arbitrary FHIR JSON
type Json = any;

// ---------------------------------------------------------------------------------------------
// The server as a child process

interface Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly url: string;
  readonly base: string;
  readonly exited: Promise<number | string | null>;
  stderr(): string;
}

const children = new Set<ChildProcess>();

function serverArgs(target: DbTarget): string[] {
  const where = target.kind === 'pglite' ? ['--data-dir', target.dataDir] : ['--database-url', target.url];
  return ['--import', 'tsx', 'src/cli/entry.ts', 'serve', '--port', '0', '--quiet', ...where];
}

async function startChild(target: DbTarget): Promise<Child> {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('SUSHRUTA_') || k === 'DATABASE_URL' || k === 'PORT' || k === 'HOST') delete env[k];
  const proc = spawn(process.execPath, serverArgs(target), { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(proc);
  let err = '';
  const exited = new Promise<number | string | null>((resolve) => {
    proc.once('exit', (code, signal) => {
      children.delete(proc);
      resolve(signal ?? code);
    });
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 60 s; stderr:\n${err}`)), 60_000);
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      err += chunk;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${String(how)}) before listening; stderr:\n${err}`));
    });
  });
  return { proc, pid: proc.pid as number, url, base: `${url}/fhir`, exited, stderr: () => err };
}

async function sigkill(c: Child): Promise<void> {
  c.proc.kill('SIGKILL');
  await c.exited;
}

async function stopGracefully(c: Child): Promise<void> {
  c.proc.kill('SIGTERM');
  const how = await Promise.race([c.exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
  if (how === 'timeout') await sigkill(c);
}

// ---------------------------------------------------------------------------------------------
// HTTP

interface Res {
  readonly status: number;
  readonly etag: string | null;
  readonly body: Json;
}

async function http(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
  const res = await fetch(`${base}/${path}`, {
    method,
    headers: { accept: FHIR_JSON, ...(body !== undefined ? { 'content-type': FHIR_JSON } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let parsed: Json = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* keep the text */
  }
  return { status: res.status, etag: res.headers.get('etag'), body: parsed };
}

// ---------------------------------------------------------------------------------------------
// The ledger: everything sent, and what was acknowledged

interface Tracked {
  readonly type: string;
  readonly id: string;
  readonly marker: string;
  /** Acknowledged versions and the bodies the server returned for them. */
  readonly acks: Map<string, Json>;
}

interface SentBundle {
  readonly marker: string;
  /** Set when the transaction was acknowledged. */
  members?: Tracked[];
}

interface Ledger {
  /** Markers of every single create sent; the Tracked entry once acknowledged. */
  readonly creates: Map<string, Tracked | undefined>;
  readonly bundles: Map<string, SentBundle>;
  /** Answers that are neither 2xx nor a dropped connection: the server misbehaved. */
  readonly unexpected: string[];
  acknowledged: number;
}

const identifier = (marker: string) => [{ system: SYSTEM, value: marker }];

function patientBody(marker: string, n: number): Json {
  return {
    resourceType: 'Patient',
    identifier: identifier(marker),
    active: true,
    name: [{ family: `Crashtest${n % 97}`, given: ['Ananya', `v${n}`] }],
    gender: n % 2 ? 'female' : 'male',
    birthDate: `19${50 + (n % 50)}-0${1 + (n % 9)}-1${n % 10}`,
    telecom: [{ system: 'phone', value: `+91 98${String(100000000 + n).slice(1)}` }],
  };
}

function transactionBundle(marker: string, n: number): Json {
  const p = `urn:uuid:${crypto.randomUUID()}`;
  const e = `urn:uuid:${crypto.randomUUID()}`;
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: p, resource: patientBody(marker, n), request: { method: 'POST', url: 'Patient' } },
      {
        fullUrl: e,
        resource: {
          resourceType: 'Encounter',
          identifier: identifier(marker),
          status: 'in-progress',
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
          subject: { reference: p },
        },
        request: { method: 'POST', url: 'Encounter' },
      },
      {
        fullUrl: `urn:uuid:${crypto.randomUUID()}`,
        resource: {
          resourceType: 'Observation',
          identifier: identifier(marker),
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
          subject: { reference: p },
          encounter: { reference: e },
          valueQuantity: { value: 60 + (n % 40), unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
        },
        request: { method: 'POST', url: 'Observation' },
      },
    ],
  };
}

const etagVersion = (etag: string | null) => etag?.replace(/^W\/"|"$/g, '');

/** One client: writes until the server goes away (or `stop` is set). */
async function client(
  base: string,
  ledger: Ledger,
  tag: string,
  stop: { stopped: boolean; killing: boolean },
  limit = Infinity,
): Promise<void> {
  const mine: Tracked[] = [];
  let seq = 0;
  while (!stop.stopped && seq < limit) {
    const n = seq++;
    const marker = `${tag}-${n}`;
    const dice = Math.random();
    try {
      if (dice < 0.3 && mine.length > 0) {
        // Update one of this client's resources with If-Match on the version last acknowledged.
        const t = mine[Math.floor(Math.random() * mine.length)] as Tracked;
        const last = [...t.acks.keys()].map(Number).sort((a, b) => b - a)[0] as number;
        const prev = t.acks.get(String(last));
        const next = { ...patientBody(t.marker, n), id: t.id };
        // An update whose answer is lost leaves the version unknown: this client stops using it.
        mine.splice(mine.indexOf(t), 1);
        const r = await http(base, 'PUT', `Patient/${t.id}`, next, { 'if-match': `W/"${last}"` });
        if (r.status !== 200) {
          ledger.unexpected.push(`PUT Patient/${t.id} (If-Match ${last}) -> ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
          continue;
        }
        const v = r.body?.meta?.versionId;
        if (v !== String(last + 1) || etagVersion(r.etag) !== v || r.body.id !== t.id) {
          ledger.unexpected.push(`PUT Patient/${t.id} after version ${last} answered version ${v} (ETag ${r.etag})`);
        }
        if (prev && isDeepStrictEqual(prev, r.body)) ledger.unexpected.push(`PUT Patient/${t.id} returned the previous body`);
        t.acks.set(String(v), r.body);
        ledger.acknowledged++;
        mine.push(t);
      } else if (dice < 0.5) {
        ledger.bundles.set(marker, { marker });
        const r = await http(base, 'POST', '', transactionBundle(marker, n));
        if (r.status !== 200 || r.body?.type !== 'transaction-response') {
          ledger.unexpected.push(`transaction ${marker} -> ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
          continue;
        }
        const members: Tracked[] = [];
        for (const e of r.body.entry ?? []) {
          const res = e.resource;
          if (!res?.id || !res.meta?.versionId || !String(e.response?.status).startsWith('201')) {
            ledger.unexpected.push(`transaction ${marker}: entry without a created resource: ${JSON.stringify(e).slice(0, 300)}`);
            continue;
          }
          members.push({ type: res.resourceType, id: res.id, marker, acks: new Map([[res.meta.versionId, res]]) });
        }
        (ledger.bundles.get(marker) as SentBundle).members = members;
        ledger.acknowledged++;
      } else {
        ledger.creates.set(marker, undefined);
        const r = await http(base, 'POST', 'Patient', patientBody(marker, n));
        if (r.status !== 201 || !r.body?.id) {
          ledger.unexpected.push(`POST Patient ${marker} -> ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
          continue;
        }
        if (r.body.meta?.versionId !== '1' || etagVersion(r.etag) !== '1') {
          ledger.unexpected.push(`POST Patient ${marker} answered version ${r.body.meta?.versionId} (ETag ${r.etag})`);
        }
        const t: Tracked = { type: 'Patient', id: r.body.id, marker, acks: new Map([['1', r.body]]) };
        ledger.creates.set(marker, t);
        ledger.acknowledged++;
        mine.push(t);
      }
    } catch (err) {
      // The connection dropped: the server was killed. Whatever was in flight is unacknowledged.
      if (!stop.killing) ledger.unexpected.push(`${tag}: request failed before the kill: ${String(err)}`);
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Verification through the restarted server

/** Runs `fn` over `items` with a few requests in flight. */
async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** Marker -> resources of `type` carrying it, found by searching the identifier token. */
async function searchMarkers(base: string, type: string, markers: readonly string[], problems: string[]): Promise<Map<string, Json[]>> {
  const found = new Map<string, Json[]>();
  const chunks: string[][] = [];
  for (let i = 0; i < markers.length; i += 40) chunks.push(markers.slice(i, i + 40));
  await pool(chunks, 4, async (chunk) => {
    const q = chunk.map((m) => `${SYSTEM}|${m}`).join(',');
    const r = await http(base, 'GET', `${type}?identifier=${encodeURIComponent(q)}&_count=1000`);
    if (r.status !== 200) {
      problems.push(`search ${type}?identifier=(${chunk.length} markers) -> ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      return;
    }
    for (const e of r.body.entry ?? []) {
      if (e.search?.mode !== 'match' || e.resource?.resourceType !== type) continue;
      const marker = (e.resource.identifier ?? []).find((i: Json) => i.system === SYSTEM)?.value as string | undefined;
      if (!marker || !chunk.includes(marker)) {
        problems.push(`search ${type} by marker returned ${type}/${e.resource.id}, which carries none of the markers asked for`);
        continue;
      }
      found.set(marker, [...(found.get(marker) ?? []), e.resource]);
    }
  });
  return found;
}

/** Read + vread checks for one resource; `acks` may be empty (found but never acknowledged). */
async function checkResource(base: string, t: Tracked, problems: string[]): Promise<Json | undefined> {
  const ref = `${t.type}/${t.id}`;
  const cur = await http(base, 'GET', ref);
  if (cur.status !== 200) {
    problems.push(`${ref}: acknowledged (versions ${[...t.acks.keys()].join(', ') || 'none'}) but read -> ${cur.status}`);
    return undefined;
  }
  const current = Number(cur.body.meta?.versionId);
  const acked = [...t.acks.keys()].map(Number);
  if (acked.length > 0 && !(current >= Math.max(...acked))) {
    problems.push(
      `${ref}: acknowledged version ${Math.max(...acked)} but the current version is ${current} (an acknowledged write was lost)`,
    );
  }
  if (etagVersion(cur.etag) !== String(current)) problems.push(`${ref}: ETag ${cur.etag} but meta.versionId ${current}`);
  const hist = await http(base, 'GET', `${ref}/_history/${current}`);
  if (hist.status !== 200 || !isDeepStrictEqual(hist.body, cur.body)) {
    problems.push(`${ref}: the current row and its history row (version ${current}) differ (vread -> ${hist.status})`);
  }
  for (const [v, body] of t.acks) {
    const r = v === String(current) ? cur : await http(base, 'GET', `${ref}/_history/${v}`);
    if (r.status !== 200) problems.push(`${ref}: acknowledged version ${v} -> vread ${r.status}`);
    else if (!isDeepStrictEqual(r.body, body)) {
      problems.push(
        `${ref}: version ${v} differs from what was acknowledged:\n  acked ${JSON.stringify(body)}\n  now   ${JSON.stringify(r.body)}`,
      );
    }
  }
  return cur.body;
}

async function verify(base: string, ledger: Ledger): Promise<string[]> {
  const problems: string[] = [];
  // 1. Single creates and updates: found by marker (exactly once), readable, history agrees.
  const createMarkers = [...ledger.creates.keys()];
  const bundleMarkers = [...ledger.bundles.keys()];
  const patients = await searchMarkers(base, 'Patient', [...createMarkers, ...bundleMarkers], problems);
  const toCheck: Tracked[] = [];
  const searchedVersion = new Map<string, string>();
  for (const marker of createMarkers) {
    const t = ledger.creates.get(marker);
    const hits = patients.get(marker) ?? [];
    if (hits.length > 1) problems.push(`marker ${marker}: ${hits.length} Patients found for one create`);
    if (t) {
      if (hits.length === 0) problems.push(`Patient/${t.id} (marker ${marker}): acknowledged but not found by searching its identifier`);
      else if (hits[0].id !== t.id) problems.push(`marker ${marker}: search found Patient/${hits[0].id}, acknowledged was Patient/${t.id}`);
      toCheck.push(t);
    } else if (hits[0]) {
      // Never acknowledged, but committed: must still be whole.
      toCheck.push({ type: 'Patient', id: hits[0].id, marker, acks: new Map() });
    }
    if (hits[0]) searchedVersion.set(`Patient/${hits[0].id}`, hits[0].meta?.versionId);
  }
  // 2. Transaction Bundles: all three resources or none, acknowledged ones exactly as answered.
  const byType = new Map<string, Map<string, Json[]>>([
    ['Patient', patients],
    ['Encounter', await searchMarkers(base, 'Encounter', bundleMarkers, problems)],
    ['Observation', await searchMarkers(base, 'Observation', bundleMarkers, problems)],
  ]);
  for (const marker of bundleMarkers) {
    const b = ledger.bundles.get(marker) as SentBundle;
    const hits = ['Patient', 'Encounter', 'Observation'].map((type) => byType.get(type)?.get(marker) ?? []);
    const present = hits.filter((h) => h.length > 0).length;
    if (hits.some((h) => h.length > 1)) problems.push(`transaction ${marker}: a resource was created twice`);
    if (present !== 0 && present !== 3) {
      problems.push(
        `transaction ${marker}: half-written, found ${present} of its 3 resources (${b.members ? 'acknowledged' : 'not acknowledged'})`,
      );
    }
    if (b.members) {
      if (present !== 3) problems.push(`transaction ${marker}: acknowledged but only ${present} of 3 resources found by search`);
      for (const m of b.members) {
        const hit = hits[['Patient', 'Encounter', 'Observation'].indexOf(m.type)]?.[0];
        if (hit && hit.id !== m.id)
          problems.push(`transaction ${marker}: search found ${m.type}/${hit.id}, acknowledged ${m.type}/${m.id}`);
        toCheck.push(m);
      }
    } else if (present === 3) {
      for (const [i, h] of hits.entries()) {
        toCheck.push({ type: ['Patient', 'Encounter', 'Observation'][i] as string, id: h[0].id, marker, acks: new Map() });
      }
    }
    if (present === 3) {
      const [p, e, o] = hits.map((h) => h[0]);
      if (
        e.subject?.reference !== `Patient/${p.id}` ||
        o.subject?.reference !== `Patient/${p.id}` ||
        o.encounter?.reference !== `Encounter/${e.id}`
      ) {
        problems.push(`transaction ${marker}: references were not resolved to the created ids`);
      }
    }
    for (const h of hits) if (h[0]) searchedVersion.set(`${h[0].resourceType}/${h[0].id}`, h[0].meta?.versionId);
  }
  // 3. Every resource: readable at (at least) its acknowledged version, history agrees, and the
  //    search index holds the current version (not a stale one).
  await pool(toCheck, 6, async (t) => {
    const cur = await checkResource(base, t, problems);
    const sv = searchedVersion.get(`${t.type}/${t.id}`);
    if (cur && sv !== undefined && sv !== cur.meta?.versionId) {
      problems.push(`${t.type}/${t.id}: search returned version ${sv}, read returns ${cur.meta?.versionId}`);
    }
  });
  return problems;
}

/** Direct look at the tables once the server is stopped: rows, history and index agree. */
async function verifyTables(target: DbTarget): Promise<string[]> {
  const db = await openDb(target);
  const problems: string[] = [];
  try {
    const q = async (label: string, sql: string) => {
      const { rows } = await db.query<Record<string, unknown>>(sql);
      if (rows.length > 0) problems.push(`${label}: ${rows.length} rows, e.g. ${JSON.stringify(rows.slice(0, 3))}`);
    };
    const key = (a: string, b: string) =>
      `${a}.tenant_id = ${b}.tenant_id AND ${a}.resource_type = ${b}.resource_type AND ${a}.id = ${b}.id`;
    await q(
      'current rows without an identical history row',
      `SELECT r.resource_type, r.id, r.version_id FROM resource r LEFT JOIN resource_history h ON ${key('h', 'r')} AND h.version_id = r.version_id
       WHERE h.id IS NULL OR h.body <> r.body OR h.deleted <> r.deleted OR h.last_updated <> r.last_updated`,
    );
    await q(
      'history rows newer than (or without) their current row',
      `SELECT h.resource_type, h.id, h.version_id FROM resource_history h
       WHERE NOT EXISTS (SELECT 1 FROM resource r WHERE ${key('r', 'h')} AND r.version_id >= h.version_id)`,
    );
    await q(
      'resources whose versions are not 1..n',
      `SELECT resource_type, id, count(*) AS n, max(version_id) AS max FROM resource_history
       GROUP BY tenant_id, resource_type, id HAVING count(*) <> max(version_id) OR min(version_id) <> 1`,
    );
    for (const table of INDEX_TABLES) {
      await q(
        `${table} rows of no live resource`,
        `SELECT t.resource_type, t.resource_id FROM ${table} t WHERE NOT EXISTS (
           SELECT 1 FROM resource r WHERE r.tenant_id = t.tenant_id AND r.resource_type = t.resource_type AND r.id = t.resource_id AND NOT r.deleted)`,
      );
    }
    await q(
      'live resources without their identifier index row',
      `SELECT r.resource_type, r.id FROM resource r WHERE NOT r.deleted AND NOT EXISTS (
         SELECT 1 FROM search_token t WHERE t.tenant_id = r.tenant_id AND t.resource_type = r.resource_type AND t.resource_id = r.id
           AND t.code = 'identifier' AND t.system = '${SYSTEM}')`,
    );
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM resource');
    if (Number(rows[0]?.n) === 0) problems.push('no resources at all were written');
  } finally {
    await db.close();
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------

const dirs: string[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.each(testDbKinds())('crash safety on $name', (kind) => {
  it(`keeps every acknowledged write through ${ROUNDS} SIGKILLs of the server`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sushruta-crash-'));
    dirs.push(dir);
    const target = await freshTarget(kind.name, join(dir, 'data'));
    const ledger: Ledger = { creates: new Map(), bundles: new Map(), unexpected: [], acknowledged: 0 };
    const log: string[] = [];
    let server = await startChild(target);
    for (let round = 1; round <= ROUNDS; round++) {
      // Stream writes from several clients, then kill the server without warning.
      // Warm the server up (definitions load on first use) so that the kill lands among writes.
      expect((await http(server.base, 'GET', `Patient?identifier=${encodeURIComponent(`${SYSTEM}|warm-up`)}`)).status).toBe(200);
      const stop = { stopped: false, killing: false };
      await client(server.base, ledger, `r${round}w`, stop, 3);
      const before = ledger.acknowledged;
      const work = Array.from({ length: CLIENTS }, (_, c) => client(server.base, ledger, `r${round}c${c}`, stop));
      const killAfter = 300 + Math.floor(Math.random() * 1200);
      await new Promise((r) => setTimeout(r, killAfter));
      const killed = server;
      stop.killing = true;
      await sigkill(killed);
      stop.stopped = true;
      await Promise.all(work);
      log.push(`round ${round}: killed after ${killAfter} ms, ${ledger.acknowledged - before} writes acknowledged`);

      if (target.kind === 'pglite') {
        // The killed process could not clean up: its lock file is stale, and must not block the restart.
        const lockFile = join(target.dataDir, 'sushruta.lock');
        expect(existsSync(lockFile), 'the killed server left its lock file').toBe(true);
        expect(JSON.parse(readFileSync(lockFile, 'utf8')).pid).toBe(killed.pid);
      }
      server = await startChild(target);
      if (target.kind === 'pglite') {
        expect(JSON.parse(readFileSync(join(target.dataDir, 'sushruta.lock'), 'utf8')).pid).toBe(server.pid);
      }
      const problems = await verify(server.base, ledger);
      expect(problems, `after round ${round} (${log.join('; ')})`).toEqual([]);
    }
    expect(ledger.unexpected, 'answers that were neither 2xx nor a dropped connection').toEqual([]);
    // Enough happened for the test to mean something.
    expect(ledger.acknowledged).toBeGreaterThan(ROUNDS * 5);
    expect([...ledger.bundles.values()].some((b) => b.members)).toBe(true);
    await stopGracefully(server);
    expect(await verifyTables(target)).toEqual([]);
    console.log(`crash safety on ${kind.name}: ${log.join('; ')}`);
  }, 240_000);
});
