/**
 * Key rotation while the hospital works. 300 patients are loaded; four clients then read known
 * patients, search by identifier, name and phonetic key, create patients and update their own
 * (every acknowledged write is written down). While they run, the data key is rotated and
 * `keys.complete()` re-encrypts every body, then the index key is rotated and `complete()`
 * rebuilds every blind index. Required:
 *   - no read or search failed or returned wrong data (every answer 2xx; no 404 is expected);
 *   - every acknowledged write reads back afterwards with identical content, at every version;
 *   - afterwards no body (current or history) and no blind-index row is under an old key version,
 *     the old versions are 'retired', `keys.verify()` finds no problem, and searches by identifier
 *     and name find exactly the right patients.
 * Then a re-encryption is interrupted after its first batch (a progress callback that throws):
 * the rows already done are under the new key, the rest under the old one, and everything still
 * reads; `complete()` run again resumes (it does only the rows left) and finishes. Finally a
 * rotation of both keys is interrupted and the server restarted, as after a crash: the server's
 * background job finishes the work by itself.
 *
 * Proved able to fail: with SUSHRUTA_AT_REST_SELFTEST=plaintext there are no keys (fails at once);
 * with the `complete()` calls removed, the "no row under an old key version" and 'retired'
 * assertions fail (checked once by hand while writing this test).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticPatient } from '../../src/hospital/demo/index.js';
import {
  type AtRestServer,
  type Json,
  type Kind,
  type Response,
  type Storage,
  TENANT,
  atRestKinds,
  content,
  makeStorage,
  matchIds,
  startAtRest,
  transact,
} from './harness.js';

const SEED = 77;
const PATIENTS = 300;
const CLIENTS = 4;
const UHID_SYSTEM = 'https://sushruta.example.in/fhir/sid/uhid';
const MARK_SYSTEM = 'urn:sushruta:test:rotation';

interface Known {
  readonly id: string;
  readonly resource: Json;
  readonly uhid: string;
  readonly family: string;
  readonly given: string;
}

interface Ack {
  /** Server answer to each acknowledged write, by version. */
  readonly versions: Map<string, Json>;
  latest: string;
  readonly mark: string;
}

interface Failure {
  readonly op: string;
  readonly request: string;
  readonly status: number;
  readonly detail: string;
}

/** A small deterministic generator per client (xorshift). */
function rng(seed: number): () => number {
  let x = seed * 2654435761 + 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % 1_000_000) / 1_000_000;
  };
}

async function sqlCount(server: AtRestServer, text: string, params: (string | number)[]): Promise<number> {
  const r = await server.sushruta.db.query<{ n: string }>(text, params);
  return Number(r.rows[0]?.n ?? -1);
}

async function bodiesBelow(server: AtRestServer, version: number): Promise<{ resource: number; history: number }> {
  return {
    resource: await sqlCount(server, 'SELECT count(*) AS n FROM resource WHERE tenant_id = $1 AND key_version < $2', [TENANT, version]),
    history: await sqlCount(server, 'SELECT count(*) AS n FROM resource_history WHERE tenant_id = $1 AND key_version < $2', [
      TENANT,
      version,
    ]),
  };
}

async function indexRowsBelow(server: AtRestServer, version: number): Promise<number> {
  let n = 0;
  for (const t of ['search_string', 'search_token', 'search_blind']) {
    n += await sqlCount(server, `SELECT count(*) AS n FROM ${t} WHERE tenant_id = $1 AND key_version IS NOT NULL AND key_version < $2`, [
      TENANT,
      version,
    ]);
  }
  return n;
}

describe.each(atRestKinds())('key rotation on $name', ({ name: kind }: { name: Kind }) => {
  let storage: Storage;
  let server: AtRestServer;
  const known: Known[] = [];
  const acks = new Map<string, Ack>();

  beforeAll(async () => {
    storage = await makeStorage(kind);
    server = await startAtRest(storage);
    const patients = Array.from({ length: PATIENTS }, (_, i) => syntheticPatient(SEED, i) as Json);
    for (let b = 0; b < PATIENTS; b += 100) {
      const slice = patients.slice(b, b + 100);
      const ids = await transact(
        server,
        slice.map((p) => ({ resource: p, request: { method: 'POST', url: 'Patient' } })),
      );
      ids.forEach((id, k) => {
        const p = slice[k];
        known.push({
          id,
          resource: p,
          uhid: (p.identifier as Json[]).find((x) => x.system === UHID_SYSTEM).value,
          family: p.name[0].family,
          given: p.name[0].given[0],
        });
      });
    }
    expect(known).toHaveLength(PATIENTS);
    // Planner statistics. The server's StatisticsKeeper analyses after 500 resource writes, but with
    // blind indexes 300 patients already make ~69,000 search_string rows; without statistics every
    // name search here takes 5-13 s on PGlite (some 408), which is a separate finding (see the
    // report), not what this test is about, and would make it run for 15 minutes.
    await server.sushruta.db.query('ANALYZE');
  }, 300_000);

  afterAll(async () => {
    await server?.stop();
    storage?.remove();
  });

  const keys = () => {
    const k = server.sushruta.keys;
    if (!k) throw new Error('no key administration: the server runs without encryption');
    return k;
  };

  /** Searches all pages are unnecessary: _count=1000 is the server's maximum here and above any result. */
  const search = (q: string) => server.fhir('GET', `Patient?${q}&_count=1000`);

  async function verifySearchesFindEveryone(sample: readonly Known[]): Promise<string[]> {
    const wrong: string[] = [];
    for (const k of sample) {
      const byId = await search(`identifier=${encodeURIComponent(`${UHID_SYSTEM}|${k.uhid}`)}`);
      if (byId.status !== 200 || JSON.stringify(matchIds(byId.body)) !== JSON.stringify([k.id])) {
        wrong.push(`identifier ${k.uhid}: ${byId.status} ${JSON.stringify(matchIds(byId.body))}`);
      }
      const byName = await search(`family=${encodeURIComponent(k.family)}&given=${encodeURIComponent(k.given)}`);
      if (byName.status !== 200 || !matchIds(byName.body).includes(k.id)) wrong.push(`name ${k.given} ${k.family}: ${byName.status}`);
      // A string matches at the start of the value or of any of its words (the blind index stores both).
      const starts = (value: string | undefined, q: string) =>
        value !== undefined && [value, ...value.split(/\s+/)].some((w) => w.toLowerCase().startsWith(q.toLowerCase()));
      const names = (o: Known) => o.resource.name as Json[];
      const expectedByName = known.filter(
        (o) =>
          names(o).some((n) => starts(n.family, k.family)) && names(o).some((n) => (n.given ?? []).some((g: string) => starts(g, k.given))),
      );
      const got = matchIds(byName.body).filter((id) => known.some((o) => o.id === id));
      if (JSON.stringify(got) !== JSON.stringify(expectedByName.map((o) => o.id).sort())) {
        wrong.push(`name ${k.given} ${k.family}: expected ${expectedByName.length} known patients, got ${got.length}`);
      }
    }
    return wrong;
  }

  it('rotates the data and index keys under four concurrent clients without a failed read, search or lost write', {
    timeout: 15 * 60_000,
  }, async () => {
    const failures: Failure[] = [];
    let phase: 'warm-up' | 'data' | 'index' | 'after' = 'warm-up';
    const opsIn = { 'warm-up': 0, data: 0, index: 0, after: 0 };
    const opsByKind: Record<string, number> = {};
    let stop = false;
    const fail = (op: string, request: string, r: Response, detail = '') =>
      failures.push({ op, request, status: r.status, detail: detail || r.text.slice(0, 400) });

    const client = async (c: number) => {
      const rand = rng(c + 1);
      const mine: string[] = [];
      let n = 0;
      while (!stop) {
        n += 1;
        const x = rand();
        const k = known[Math.floor(rand() * known.length)] as Known;
        const startedIn = phase;
        let op: string;
        if (x < 0.3) {
          op = 'read';
          const r = await server.fhir('GET', `Patient/${k.id}`);
          if (r.status !== 200) fail(op, `GET Patient/${k.id}`, r);
          else if (
            JSON.stringify(r.body.name) !== JSON.stringify(k.resource.name) ||
            JSON.stringify(r.body.identifier) !== JSON.stringify(k.resource.identifier)
          )
            fail(op, `GET Patient/${k.id}`, r, 'wrong content');
        } else if (x < 0.48) {
          op = 'search-identifier';
          const q = `identifier=${encodeURIComponent(`${UHID_SYSTEM}|${k.uhid}`)}`;
          const r = await search(q);
          if (r.status !== 200) fail(op, q, r);
          else if (JSON.stringify(matchIds(r.body)) !== JSON.stringify([k.id])) fail(op, q, r, `got ${JSON.stringify(matchIds(r.body))}`);
        } else if (x < 0.6) {
          op = 'search-name';
          const q = `family=${encodeURIComponent(k.family)}&given=${encodeURIComponent(k.given)}`;
          const r = await search(q);
          if (r.status !== 200) fail(op, q, r);
          else if (!matchIds(r.body).includes(k.id)) fail(op, q, r, `${k.id} missing`);
        } else if (x < 0.68) {
          op = 'search-phonetic';
          const q = `phonetic=${encodeURIComponent(k.family)}`;
          const r = await search(q);
          if (r.status !== 200) fail(op, q, r);
          else if (!matchIds(r.body).includes(k.id)) fail(op, q, r, `${k.id} missing`);
        } else if (x < 0.8 || mine.length === 0) {
          op = 'create';
          const mark = `c${c}-${n}`;
          const body = {
            resourceType: 'Patient',
            identifier: [{ system: MARK_SYSTEM, value: mark }],
            name: [{ family: `Rotationwala${c}`, given: [`Karan${n}`] }],
            telecom: [{ system: 'phone', value: `+91 9${c}${String(n).padStart(8, '0')}` }],
            birthDate: '1991-07-15',
          };
          const r = await server.fhir('POST', 'Patient', body);
          if (r.status !== 201) fail(op, 'POST Patient', r);
          else {
            mine.push(r.body.id);
            acks.set(r.body.id, { versions: new Map([['1', r.body]]), latest: '1', mark });
          }
        } else if (x < 0.9) {
          op = 'update';
          const id = mine[Math.floor(rand() * mine.length)] as string;
          const ack = acks.get(id) as Ack;
          const prev = ack.versions.get(ack.latest) as Json;
          const next = { ...prev, name: [{ family: prev.name[0].family, given: [`Karan${n}`, 'Updated'] }] };
          delete next.meta;
          const r = await server.fhir('PUT', `Patient/${id}`, next, { 'if-match': `W/"${ack.latest}"` });
          if (r.status !== 200) fail(op, `PUT Patient/${id}`, r);
          else {
            ack.versions.set(r.body.meta.versionId, r.body);
            ack.latest = r.body.meta.versionId;
          }
        } else {
          op = 'search-own';
          const id = mine[Math.floor(rand() * mine.length)] as string;
          const ack = acks.get(id) as Ack;
          const q = `identifier=${encodeURIComponent(`${MARK_SYSTEM}|${ack.mark}`)}`;
          const r = await search(q);
          if (r.status !== 200) fail(op, q, r);
          else if (JSON.stringify(matchIds(r.body)) !== JSON.stringify([id])) fail(op, q, r, `got ${JSON.stringify(matchIds(r.body))}`);
        }
        opsByKind[op] = (opsByKind[op] ?? 0) + 1;
        // An operation counts for a phase if it ran (started or ended) during it.
        opsIn[phase] += 1;
        if (startedIn !== phase) opsIn[startedIn] += 1;
      }
    };

    const running = Array.from({ length: CLIENTS }, (_, c) => client(c));
    const until = async (cond: () => boolean) => {
      while (!cond()) await new Promise((r) => setTimeout(r, 20));
    };
    try {
      await until(() => opsIn['warm-up'] >= 40);
      phase = 'data';
      const dataVersion = await keys().rotate('data');
      expect(dataVersion).toBe(2);
      const data = await keys().complete();
      phase = 'index';
      const indexVersion = await keys().rotate('index');
      expect(indexVersion).toBe(2);
      const index = await keys().complete();
      phase = 'after';
      const afterStart = opsIn.after;
      await until(() => opsIn.after >= afterStart + 40);
      stop = true;
      await Promise.all(running);
      console.log(
        `[${kind}] re-encrypted ${data.bodies} bodies, re-indexed ${index.resources} resources; ` +
          `operations by phase ${JSON.stringify(opsIn)}, by kind ${JSON.stringify(opsByKind)}; ${acks.size} patients created`,
      );
      expect(data.bodies).toBeGreaterThanOrEqual(2 * PATIENTS);
      expect(index.resources).toBeGreaterThanOrEqual(PATIENTS);
    } finally {
      stop = true;
      await Promise.allSettled(running);
    }
    expect(failures, 'failed or wrong reads, searches and writes').toEqual([]);
    expect(opsIn.data + opsIn.index, 'operations ran while keys were rotated').toBeGreaterThan(0);
    expect(acks.size).toBeGreaterThan(0);
    // Every acknowledged write reads back, at every acknowledged version, with identical content.
    const lost: string[] = [];
    for (const [id, ack] of acks) {
      const cur = await server.fhir('GET', `Patient/${id}`);
      const latest = ack.versions.get(ack.latest);
      if (
        cur.status !== 200 ||
        cur.body.meta.versionId !== ack.latest ||
        JSON.stringify(content(cur.body)) !== JSON.stringify(content(latest))
      )
        lost.push(`Patient/${id} current: ${cur.status} v${cur.body?.meta?.versionId} (acknowledged v${ack.latest})`);
      for (const [v, body] of ack.versions) {
        const r = await server.fhir('GET', `Patient/${id}/_history/${v}`);
        if (r.status !== 200 || JSON.stringify(content(r.body)) !== JSON.stringify(content(body)))
          lost.push(`Patient/${id}/_history/${v}: ${r.status}`);
      }
    }
    expect(lost).toEqual([]);
    // Nothing is left under the old keys, which are retired; everything verifies.
    expect(await bodiesBelow(server, 2)).toEqual({ resource: 0, history: 0 });
    expect(await indexRowsBelow(server, 2)).toBe(0);
    const status = await keys().status();
    expect(status.data.active).toBe(2);
    expect(status.index.active).toBe(2);
    expect(status.data.versions.map((v) => [v.version, v.state])).toEqual([
      [1, 'retired'],
      [2, 'active'],
    ]);
    expect(status.index.versions.map((v) => [v.version, v.state])).toEqual([
      [1, 'retired'],
      [2, 'active'],
    ]);
    expect(status.pending).toEqual({ bodies: 0, indexRows: 0 });
    expect(status.job).toEqual({ state: 'idle' });
    const verify = await keys().verify();
    expect(verify.problems).toEqual([]);
    expect(verify.bodies).toBeGreaterThanOrEqual(2 * (PATIENTS + acks.size));
    // Searches still find exactly the right patients (every seeded one by UHID; a sample by name).
    expect(await verifySearchesFindEveryone(known.filter((_, i) => i % 5 === 0))).toEqual([]);
    const wrongIds: string[] = [];
    for (const k of known) {
      const r = await search(`identifier=${encodeURIComponent(k.uhid)}`);
      if (JSON.stringify(matchIds(r.body)) !== JSON.stringify([k.id])) wrongIds.push(k.uhid);
    }
    expect(wrongIds).toEqual([]);
    for (const [id, ack] of acks) {
      const r = await search(`identifier=${encodeURIComponent(`${MARK_SYSTEM}|${ack.mark}`)}`);
      expect(matchIds(r.body), ack.mark).toEqual([id]);
    }
  });

  it('an interrupted re-encryption resumes where it stopped, in process and after a restart', { timeout: 10 * 60_000 }, async () => {
    // 1. Interrupted after the first batch, resumed by running complete() again.
    const v3 = await keys().rotate('data');
    expect(v3).toBe(3);
    const before = await bodiesBelow(server, v3);
    const total = before.resource + before.history;
    expect(total).toBeGreaterThan(400); // more than one batch (200)
    let calls = 0;
    const interrupted = await keys()
      .complete(() => {
        calls += 1;
        throw new Error('simulated crash after the first batch');
      })
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(interrupted?.message).toBe('simulated crash after the first batch');
    expect(calls).toBe(1);
    const mid = await bodiesBelow(server, v3);
    const left = mid.resource + mid.history;
    expect(left, 'some rows were re-encrypted before the interruption').toBeLessThan(total);
    expect(left, 'some rows are still under the old key').toBeGreaterThan(0);
    expect((await keys().status()).job.state).toBe('failed');
    expect((await keys().status()).data.versions.find((v) => v.version === 2)?.state).toBe('retiring');

    // Mixed key versions: every patient still reads, and searches still work.
    for (const k of known.filter((_, i) => i % 10 === 0)) {
      const r = await server.fhir('GET', `Patient/${k.id}`);
      expect(r.status).toBe(200);
      expect(r.body.name).toEqual(k.resource.name);
      const h = await server.fhir('GET', `Patient/${k.id}/_history/1`);
      expect(h.status).toBe(200);
    }

    const resumed = await keys().complete();
    expect(resumed.bodies, 'the second run did only the rows left').toBe(left);
    expect(await bodiesBelow(server, v3)).toEqual({ resource: 0, history: 0 });
    expect((await keys().status()).data.versions.map((v) => v.state)).toEqual(['retired', 'retired', 'active']);
    expect((await keys().verify()).problems).toEqual([]);

    // 2. Both keys rotated, re-encryption interrupted, the server stopped as after a crash: on
    // restart its background job finishes the data and the index work.
    const v4 = await keys().rotate('data');
    const i3 = await keys().rotate('index');
    const crashed = await keys()
      .complete(() => {
        throw new Error('crash');
      })
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(crashed?.message).toBe('crash');
    const leftAtCrash = await bodiesBelow(server, v4);
    expect(leftAtCrash.resource + leftAtCrash.history).toBeGreaterThan(0);
    expect(await indexRowsBelow(server, i3)).toBeGreaterThan(0);
    await server.stop();

    server = await startAtRest(storage, { backgroundJobs: true });
    await keys().idle();
    expect(server.backgroundErrors).toEqual([]);
    expect(await bodiesBelow(server, v4)).toEqual({ resource: 0, history: 0 });
    expect(await indexRowsBelow(server, i3)).toBe(0);
    const status = await keys().status();
    expect(status.data.versions.map((v) => v.state)).toEqual(['retired', 'retired', 'retired', 'active']);
    expect(status.index.versions.map((v) => v.state)).toEqual(['retired', 'retired', 'active']);
    expect((await keys().verify()).problems).toEqual([]);
    expect(await verifySearchesFindEveryone(known.filter((_, i) => i % 15 === 0))).toEqual([]);
    for (const [id, ack] of [...acks].slice(0, 20)) {
      const r = await server.fhir('GET', `Patient/${id}`);
      expect(JSON.stringify(content(r.body))).toBe(JSON.stringify(content(ack.versions.get(ack.latest))));
    }
  });
});
