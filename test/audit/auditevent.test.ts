/**
 * The audit log read through the FHIR API (issue 4, item 5), on both databases, behind the real
 * server with the real chained log and encryption:
 *   - every record is an R4-valid AuditEvent (the project's validator), following IHE BALP;
 *   - each search parameter returns exactly the records whose AuditEvent has the searched value
 *     (checked against a snapshot of the whole log, so a filter that drops or adds a record fails);
 *   - paging, sorting, totals, _include=AuditEvent:patient;
 *   - only the caller's hospital; writes refused with 405; the log's sealed fields shown only to
 *     callers the policy allows, and never in the database in plaintext;
 *   - Patient/{id}/$access-report lists a read, a search that returned the patient through
 *     _include, and a refused access; reading the log is itself on the log.
 */
import { LOCAL_OPERATOR as OPERATOR } from '../../src/http/authenticate.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestContext } from '../../src/fhir/context.js';
import type { AccessPolicy } from '../../src/fhir/guard.js';
import { validateResource } from '../../src/fhir/validation/index.js';
import type { UnplacedRecord } from '../../src/security/audit/record.js';
import { type AtRestServer, atRestKinds, type Json, makeStorage, type Storage, startAtRest } from '../at-rest/harness.js';

const AGENT_SYSTEM = 'https://sushruta.example.in/fhir/sid/audit-agent';
const LOCAL_OPERATOR = `local-operator:${(OPERATOR as { description: string }).description}`;
const BALP = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.';

/** Refuses Patient interactions to a user agent saying `refuse-me`; hides sealed fields from `no-reveal`. */
const testPolicy: AccessPolicy = {
  decide(ctx, req) {
    const ua = ctx.provenance.userAgent ?? '';
    if (req.aspect === 'audit-sealed-fields') {
      return ua.includes('no-reveal')
        ? { allowed: false, rule: 'test-no-reveal', reason: 'sealed fields are not for this caller' }
        : { allowed: true, rule: 'test-reveal' };
    }
    if (ua.includes('refuse-me') && req.resourceType === 'Patient') {
      return { allowed: false, rule: 'test-deny', reason: 'refused for the test' };
    }
    return { allowed: true, rule: 'test-allow' };
  },
};

const bySeq = (a: number, b: number) => a - b;
const matchIds = (bundle: Json): number[] =>
  ((bundle.entry ?? []) as Json[]).filter((e) => e.search?.mode === 'match').map((e) => Number(e.resource.id));
const refs = (ae: Json): string[] => ((ae.entity ?? []) as Json[]).map((e) => e.what?.reference).filter(Boolean);
const patientRefs = (ae: Json): string[] =>
  ((ae.entity ?? []) as Json[]).filter((e) => e.role?.code === '1').map((e) => e.what.reference as string);
const addressed = (ae: Json): string | undefined =>
  ((ae.entity ?? []) as Json[]).find((e) => e.type?.code === '2' && e.role?.code === '4')?.what?.reference;
const queryOf = (ae: Json): string | undefined => {
  const q = ((ae.entity ?? []) as Json[]).find((e) => e.role?.code === '24')?.query;
  return q === undefined ? undefined : Buffer.from(q, 'base64').toString('utf8');
};

describe.each(atRestKinds())('AuditEvent and the access report on $name', ({ name }) => {
  let storage: Storage;
  let server: AtRestServer;
  let a: string; // Sunita Chaudhary, with an encounter
  let b: string; // Arjun Menon
  let enc: string;
  /** Every record up to the end of the set-up, as AuditEvents, oldest first. */
  let snapshot: Json[];
  let last: number;
  let otherTenantSeq: number;

  const get = (path: string, headers: Record<string, string> = {}) =>
    server.fhir('GET', path, undefined, { 'user-agent': 'vitest', ...headers });

  async function lastRow() {
    const r = await server.sushruta.db.query<{
      seq: string;
      action: string;
      resource_type: string | null;
      resource_id: string | null;
      patients: string[];
    }>('SELECT seq, action, resource_type, resource_id, patients FROM audit_log ORDER BY seq DESC LIMIT 1');
    return r.rows[0] as { seq: string; action: string; resource_type: string | null; resource_id: string | null; patients: string[] };
  }

  beforeAll(async () => {
    storage = await makeStorage(name);
    server = await startAtRest(storage, { policy: testPolicy });
    const p = await server.fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Chaudhary', given: ['Sunita'] }] });
    expect(p.status, p.text).toBe(201);
    a = p.body.id;
    b = (await server.fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Menon', given: ['Arjun'] }] })).body.id;
    const e = await server.fhir('POST', 'Encounter', {
      resourceType: 'Encounter',
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject: { reference: `Patient/${a}` },
    });
    expect(e.status, e.text).toBe(201);
    enc = e.body.id;
    // The accesses the report must show: a read, a search that returns A only through _include,
    // a refused read, a search naming A, a failure, an update, and a system job.
    expect((await get(`Patient/${a}`)).status).toBe(200);
    const inc = await get('Encounter?status=finished&_include=Encounter:subject');
    expect(inc.body.entry.map((x: Json) => x.resource.resourceType).sort()).toEqual(['Encounter', 'Patient']);
    expect((await get(`Patient/${a}`, { 'user-agent': 'refuse-me' })).status).toBe(403);
    expect((await get('Patient?family=chaudhary')).status).toBe(200);
    expect((await get('Patient/no-such-patient')).status).toBe(404);
    const put = await server.fhir('PUT', `Encounter/${enc}`, { ...e.body, status: 'cancelled' });
    expect(put.status, put.text).toBe(200);
    const ctx: RequestContext = {
      requestId: 'job-nightly-0001',
      tenantId: server.sushruta.tenantId,
      actor: { kind: 'system', job: 'nightly-report' },
      provenance: { peerAddress: 'internal', forwardedChain: [], clientAddress: 'internal' },
      baseUrl: 'urn:sushruta:job/fhir',
      lenient: false,
    };
    expect((await server.sushruta.service.handle(ctx, { method: 'GET', path: `Patient/${b}`, query: [], rawQuery: '' })).status).toBe(200);
    // A search that came through a proxy. Over HTTP the local operator is only a loopback request
    // without proxy headers (a proxied one must sign in), so the context is made here.
    const proxied: RequestContext = {
      ...ctx,
      requestId: 'proxied-search-1',
      actor: OPERATOR,
      provenance: { peerAddress: '127.0.0.1', forwardedChain: ['203.0.113.7'], clientAddress: '203.0.113.7' },
    };
    const search = { method: 'GET', path: 'Patient', query: [['_count', '100']] as [string, string][], rawQuery: '_count=100' } as const;
    expect((await server.sushruta.service.handle(proxied, search)).status).toBe(200);
    const admin = await fetch(`${server.base.replace(/\/fhir$/, '')}/admin/keys`);
    expect(admin.status).toBe(200);
    // Another hospital's record about a patient with the same id, in the same chain.
    const log = server.sushruta.auditLog;
    if (!log) throw new Error('the server has no chained audit log');
    const foreign: UnplacedRecord = {
      v: 1,
      time: new Date().toISOString(),
      tenant: 'other-hospital',
      request: 'other-hospital-request-1',
      who: { kind: 'local-operator', id: 'elsewhere', role: null, session: null, client: null },
      what: { action: 'read', type: 'Patient', id: a, version: '1', query: null, resources: [`Patient/${a}`], resourceCount: 1 },
      patients: [a],
      where: { peer: '198.51.100.9', forwarded: [], client: '198.51.100.9', agent: null },
      why: { purpose: null, breakGlass: null },
      outcome: { status: 200, rule: 'local-operator', reason: null },
    };
    otherTenantSeq = await log.append(foreign);

    const all = await get('AuditEvent?_sort=date&_count=1000');
    expect(all.status, all.text).toBe(200);
    snapshot = (all.body.entry as Json[]).filter((x) => x.search.mode === 'match').map((x) => x.resource);
    last = Math.max(...snapshot.map((ae) => Number(ae.id)));
    expect(snapshot.length).toBe(12);
  });

  afterAll(async () => {
    await server?.stop();
    storage?.remove();
  });

  /** Searches and compares with the snapshot: exactly the records `want` holds for, and at least one. */
  async function expectFilter(query: string, want: (ae: Json) => boolean, opts: { empty?: boolean } = {}) {
    const r = await get(`AuditEvent?${query}&_count=1000`);
    expect(r.status, `${query}: ${r.text}`).toBe(200);
    const got = matchIds(r.body)
      .filter((id) => id <= last)
      .sort(bySeq);
    const expected = snapshot
      .filter(want)
      .map((ae) => Number(ae.id))
      .sort(bySeq);
    expect(got, query).toEqual(expected);
    if (!opts.empty) expect(expected.length, `${query} should match something`).toBeGreaterThan(0);
    return r.body;
  }

  it('serves every record as a valid R4 AuditEvent following BALP', () => {
    for (const ae of snapshot) expect(() => validateResource(ae, 'AuditEvent'), JSON.stringify(ae)).not.toThrow();
    const read = snapshot.find((ae) => ae.subtype[0].code === 'read' && ae.outcome === '0' && addressed(ae) === `Patient/${a}/_history/1`);
    expect(read).toMatchObject({
      meta: { versionId: '1', profile: [`${BALP}PatientRead`] },
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
      subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' }],
      action: 'R',
      outcome: '0',
      source: { site: 'at-rest-hospital', type: [{ code: '4' }] },
    });
    expect(patientRefs(read)).toEqual([`Patient/${a}`]);
    const user = read.agent.find((x: Json) => x.requestor);
    expect(user.who.identifier).toEqual({ system: AGENT_SYSTEM, value: LOCAL_OPERATOR });
    expect(user.type.coding[0].code).toBe('IRCP');
    // A read: data flows to the client, so the client is the destination and the server the source.
    const client = read.agent.find((x: Json) => x.network && x.network.type === '2');
    expect(client).toMatchObject({ type: { coding: [{ code: '110152' }] }, network: { address: '127.0.0.1' }, who: { display: 'vitest' } });
    expect(read.agent.some((x: Json) => x.type.coding?.[0]?.code === '110153' && x.network?.type === '5')).toBe(true);
    expect(read.entity.find((x: Json) => x.type.code === 'XrequestId').what.identifier.value).toMatch(/.{8,}/);
    expect(read.text.div).toMatch(/<b>Who<\/b>: loopback client/);

    const create = snapshot.find((ae) => ae.subtype[0].code === 'create' && addressed(ae)?.startsWith(`Encounter/${enc}`));
    expect(create).toMatchObject({ action: 'C', meta: { profile: [`${BALP}PatientCreate`] } });
    expect(create.agent.find((x: Json) => x.requestor).type.coding[0].code).toBe('AUT');
    const update = snapshot.find((ae) => ae.subtype[0].code === 'update');
    expect(update).toMatchObject({ action: 'U', meta: { profile: [`${BALP}PatientUpdate`] } });
    expect(addressed(update)).toBe(`Encounter/${enc}/_history/2`);

    const proxied = snapshot.find((ae) => queryOf(ae) === '_count=100');
    expect(proxied).toMatchObject({ action: 'E', meta: { profile: [`${BALP}Query`] } }); // two patients: not PatientQuery
    expect(proxied.agent.some((x: Json) => x.who?.display === 'forwarded for: 203.0.113.7')).toBe(true);
    expect(patientRefs(proxied).sort()).toEqual([`Patient/${a}`, `Patient/${b}`].sort());

    const refused = snapshot.find((ae) => ae.outcome === '4' && ae.outcomeDesc.includes('test-deny'));
    expect(refused).toBeDefined();
    expect(refused.meta.profile).toBeUndefined(); // BALP profiles describe successes
    expect(refused.outcomeDesc).toMatch(/^HTTP 403; refused by rule 'test-deny'; access denied by rule 'test-deny': refused for the test$/);

    const admin = snapshot.find((ae) => ae.subtype[0].code === 'admin-keys');
    expect(admin).toMatchObject({ type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110100' }, action: 'E' });
  });

  it('filters by patient, including searches that returned the patient through _include and refused attempts', async () => {
    await expectFilter(`patient=${a}`, (ae) => patientRefs(ae).includes(`Patient/${a}`));
    await expectFilter(`patient=Patient/${b}`, (ae) => patientRefs(ae).includes(`Patient/${b}`));
    await expectFilter(`patient=${a},${b}`, (ae) => patientRefs(ae).some((r) => r === `Patient/${a}` || r === `Patient/${b}`));
    await expectFilter(
      `patient=${a}&patient=${b}`,
      (ae) => patientRefs(ae).includes(`Patient/${a}`) && patientRefs(ae).includes(`Patient/${b}`),
    );
    const body = await expectFilter(
      `patient=${a}&subtype=search-type`,
      (ae) => patientRefs(ae).includes(`Patient/${a}`) && ae.subtype[0].code === 'search-type',
    );
    const queries = (body.entry as Json[]).map((x) => queryOf(x.resource));
    expect(queries).toContain('status=finished&_include=Encounter:subject');
  });

  it('filters by agent in the documented forms, and refuses what does not name an agent', async () => {
    const job = (ae: Json) => ae.agent.some((x: Json) => x.requestor && x.who.identifier.value === 'system:nightly-report');
    await expectFilter('agent=system:nightly-report', job);
    await expectFilter(`agent:identifier=${encodeURIComponent(`${AGENT_SYSTEM}|system:nightly-report`)}`, job);
    await expectFilter(`agent=${encodeURIComponent(LOCAL_OPERATOR)}`, (ae) => !job(ae));
    const bad = await get('AuditEvent?agent=Practitioner/123');
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0].expression).toEqual(['agent']);
    expect(bad.body.issue[0].diagnostics).toMatch(/kind:id/);
  });

  it('filters by date with every prefix', async () => {
    const pivot = snapshot[Math.floor(snapshot.length / 2)].recorded as string;
    const t = Date.parse(pivot);
    const at = (ae: Json) => Date.parse(ae.recorded);
    await expectFilter(`date=gt${pivot}`, (ae) => at(ae) > t);
    await expectFilter(`date=ge${pivot}`, (ae) => at(ae) >= t);
    await expectFilter(`date=lt${pivot}`, (ae) => at(ae) < t);
    await expectFilter(`date=le${pivot}`, (ae) => at(ae) <= t);
    await expectFilter(`date=${pivot}`, (ae) => at(ae) === t);
    await expectFilter(`date=ne${pivot}`, (ae) => at(ae) !== t);
    await expectFilter(`date=sa${pivot}`, (ae) => at(ae) > t);
    await expectFilter(`date=${pivot.slice(0, 4)}`, () => true);
    await expectFilter(`date=ge${pivot}&date=le${pivot}`, (ae) => at(ae) === t);
    await expectFilter('date=lt2000', () => false, { empty: true });
    const bad = await get('AuditEvent?date=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0].expression).toEqual(['date']);
  });

  it('filters by action, outcome, subtype, type, entity and _id', async () => {
    for (const code of ['C', 'R', 'U', 'E']) await expectFilter(`action=${code}`, (ae) => ae.action === code);
    await expectFilter('action=D', (ae) => ae.action === 'D', { empty: true });
    await expectFilter('action=C,U', (ae) => ae.action === 'C' || ae.action === 'U');
    await expectFilter('outcome=0', (ae) => ae.outcome === '0');
    await expectFilter('outcome=4', (ae) => ae.outcome === '4');
    await expectFilter('outcome=http://hl7.org/fhir/audit-event-outcome|8', (ae) => ae.outcome === '8', { empty: true });
    await expectFilter('subtype=read', (ae) => ae.subtype.some((c: Json) => c.code === 'read'));
    await expectFilter('subtype=http://hl7.org/fhir/restful-interaction|create', (ae) => ae.subtype.some((c: Json) => c.code === 'create'));
    await expectFilter('type=rest', (ae) => ae.type.code === 'rest');
    await expectFilter('type=http://dicom.nema.org/resources/ontology/DCM|110100', (ae) => ae.type.code === '110100');
    await expectFilter(`entity=Encounter/${enc}`, (ae) => addressed(ae)?.replace(/\/_history\/.*$/, '') === `Encounter/${enc}`);
    await expectFilter(
      `entity=Patient/${a}`,
      (ae) => patientRefs(ae).includes(`Patient/${a}`) || addressed(ae)?.replace(/\/_history\/.*$/, '') === `Patient/${a}`,
    );
    const some = snapshot.slice(2, 4).map((ae) => ae.id as string);
    await expectFilter(`_id=${some.join(',')}`, (ae) => some.includes(ae.id));
    const bad = await get('AuditEvent?action=X');
    expect(bad.status).toBe(400);
  });

  it('pages in time order in both directions, sorts by date, counts, and includes patients', async () => {
    const seen: number[] = [];
    let url: string | undefined = 'AuditEvent?_sort=date&_count=4';
    let pages = 0;
    let second: Json | undefined;
    while (url && pages < 50) {
      const r = await get(url);
      expect(r.status, r.text).toBe(200);
      seen.push(...matchIds(r.body));
      pages++;
      if (pages === 2) second = r.body;
      const next = (r.body.link as Json[]).find((l) => l.relation === 'next')?.url as string | undefined;
      url = next?.slice(server.base.length + 1);
    }
    const snapshotIds = snapshot.map((ae) => Number(ae.id));
    expect(seen.filter((id) => id <= last)).toEqual(snapshotIds);
    // Back from the second page is the first.
    const prev = ((second?.link ?? []) as Json[]).find((l) => l.relation === 'previous')?.url as string;
    const back = await get(prev.slice(server.base.length + 1));
    expect(matchIds(back.body)).toEqual(snapshotIds.slice(0, 4));
    // Newest first by default.
    const newest = await get('AuditEvent?_count=3');
    const times = (newest.body.entry as Json[]).map((x) => Date.parse(x.resource.recorded));
    expect(times).toEqual([...times].sort((x, y) => y - x));
    expect(matchIds(newest.body)[0]).toBeGreaterThan(last);
    const listed = matchIds((await get(`AuditEvent?patient=${b}&_count=1000`)).body).length;
    const count = await get(`AuditEvent?patient=${b}&_summary=count`);
    // ...plus the record of that search, which returned records naming the patient.
    expect(count.body.total).toBe(listed + 1);
    expect(count.body.entry).toEqual([]);
    const total = await get(`AuditEvent?patient=${b}&_total=accurate&_count=1`);
    expect(total.body.total).toBe(listed + 1);
    expect(matchIds(total.body)).toHaveLength(1);
    const inc = await get(`AuditEvent?patient=${b}&_include=AuditEvent:patient&_count=1000`);
    const included = (inc.body.entry as Json[])
      .filter((x) => x.search.mode === 'include')
      .map((x) => `${x.resource.resourceType}/${x.resource.id}`);
    expect(included.sort()).toEqual([`Patient/${a}`, `Patient/${b}`].sort()); // the _count=100 search named both
    const viaPost = await server.fhir('POST', 'AuditEvent/_search', `patient=${b}&_count=1000`, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(viaPost.status).toBe(200);
    expect(
      matchIds(viaPost.body)
        .filter((id) => id <= last)
        .sort(bySeq),
    ).toEqual(snapshot.filter((ae) => patientRefs(ae).includes(`Patient/${b}`)).map((ae) => Number(ae.id)));
  });

  it('names unknown and unsupported parameters, or ignores them with a warning when lenient', async () => {
    const unknown = await get('AuditEvent?nonsense=1');
    expect(unknown.status).toBe(400);
    expect(unknown.body.issue[0]).toMatchObject({ code: 'invalid', expression: ['nonsense'] });
    const unsupported = await get('AuditEvent?address=127.0.0.1');
    expect(unsupported.status).toBe(400);
    expect(unsupported.body.issue[0]).toMatchObject({ code: 'not-supported', expression: ['address'] });
    const lenient = await get('AuditEvent?nonsense=1&_count=1', { prefer: 'handling=lenient' });
    expect(lenient.status).toBe(200);
    const outcome = (lenient.body.entry as Json[]).find((x) => x.search.mode === 'outcome');
    expect(outcome.resource.issue[0]).toMatchObject({ severity: 'warning', expression: ['nonsense'] });
    const sort = await get('AuditEvent?_sort=agent');
    expect(sort.status).toBe(400);
    const revinclude = await get(`Patient?_id=${a}&_revinclude=AuditEvent:patient`);
    expect(revinclude.status).toBe(400);
    expect(revinclude.body.issue[0].diagnostics).toMatch(/access-report/);
  });

  it("shows only the caller's hospital", async () => {
    expect(otherTenantSeq).toBeGreaterThan(0);
    expect(snapshot.map((ae) => Number(ae.id))).not.toContain(otherTenantSeq);
    const read = await get(`AuditEvent/${otherTenantSeq}`);
    expect(read.status).toBe(404);
    const byPatient = await get(`AuditEvent?patient=${a}&_count=1000`);
    expect(matchIds(byPatient.body)).not.toContain(otherTenantSeq);
    const report = await get(`Patient/${a}/$access-report?_count=1000`);
    expect(matchIds(report.body)).not.toContain(otherTenantSeq);
    expect(JSON.stringify(report.body)).not.toContain('198.51.100.9');
  });

  it('refuses to write the log with 405 and a clear outcome', async () => {
    const event = snapshot[0];
    const attempts = [
      await server.fhir('POST', 'AuditEvent', { ...event, id: undefined }),
      await server.fhir('PUT', `AuditEvent/${event.id}`, event),
      await server.fhir('DELETE', `AuditEvent/${event.id}`),
      await server.fhir('PATCH', `AuditEvent/${event.id}`, '[]', { 'content-type': 'application/json-patch+json' }),
      await get(`AuditEvent/${event.id}/_history`),
      await get(`AuditEvent/${event.id}/_history/1`),
      await get('AuditEvent/_history'),
    ];
    for (const r of attempts) {
      expect(r.status, r.text).toBe(405);
      expect(r.body.resourceType).toBe('OperationOutcome');
      expect(r.body.issue[0].diagnostics).toMatch(/append-only audit log/);
    }
    expect(attempts[0]?.headers.get('allow')).toBe('GET, POST');
    const tx = await server.fhir('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient', name: [{ family: 'Smuggled' }] } },
        { request: { method: 'POST', url: 'AuditEvent' }, resource: { ...event, id: undefined } },
      ],
    });
    expect(tx.status).toBe(405);
    expect((await get('Patient?family=smuggled&_summary=count')).body.total).toBe(0);
    // The stored event is unchanged.
    const again = await get(`AuditEvent/${event.id}`);
    expect(again.body).toEqual(event);
  });

  it('shows sealed queries decrypted to callers the policy allows, never to others, and never in the database', async () => {
    const body = await expectFilter(
      `patient=${a}&subtype=search-type`,
      (ae) => patientRefs(ae).includes(`Patient/${a}`) && ae.subtype[0].code === 'search-type',
    );
    const named = (body.entry as Json[]).map((x) => x.resource).find((ae) => queryOf(ae) === 'family=chaudhary');
    expect(named).toMatchObject({ meta: { profile: [`${BALP}PatientQuery`] } });
    const raw = await server.sushruta.db.query<{ n: string | number }>(
      "SELECT count(*) AS n FROM audit_log WHERE entry ILIKE '%chaudhary%'",
    );
    expect(Number(raw.rows[0]?.n)).toBe(0);
    const failed = snapshot.find((ae) => ae.outcome === '4' && ae.outcomeDesc.includes('no-such-patient'));
    expect(failed.outcomeDesc).toMatch(/Patient\/no-such-patient does not exist/);

    const hidden = await get(`AuditEvent/${named.id}`, { 'user-agent': 'vitest no-reveal' });
    expect(hidden.status).toBe(200);
    expect(queryOf(hidden.body)).toBeUndefined();
    expect(hidden.text).not.toMatch(/chaudhary/i);
    expect(hidden.body.entity.find((x: Json) => x.role?.code === '24').description).toMatch(/sealed/);
    expect(hidden.body.meta.security).toContainEqual(expect.objectContaining({ code: 'REDACTED' }));
    expect(hidden.body.meta.profile).toBeUndefined(); // without its query it is not a BALP Query
    expect(() => validateResource(hidden.body, 'AuditEvent')).not.toThrow();
  });

  it('records reading the log as an access in its own right', async () => {
    const search = await get(`AuditEvent?patient=${a}&_count=2`);
    expect(search.status).toBe(200);
    let row = await lastRow();
    expect(row).toMatchObject({ action: 'search-type', resource_type: 'AuditEvent' });
    expect(row.patients).toContain(a);
    const readOfA = snapshot.find((ae) => ae.subtype[0].code === 'read' && addressed(ae) === `Patient/${a}/_history/1`);
    expect((await get(`AuditEvent/${readOfA.id}`)).status).toBe(200);
    row = await lastRow();
    expect(row).toMatchObject({ action: 'read', resource_type: 'AuditEvent', resource_id: String(readOfA.id), patients: [a] });
    const refused = await get('AuditEvent?nonsense=1');
    expect(refused.status).toBe(400);
    row = await lastRow();
    expect(row).toMatchObject({ action: 'search-type', resource_type: 'AuditEvent' });
  });

  it('answers Patient/{id}/$access-report: who opened the record, when, from where, why and with what outcome', async () => {
    const r = await get(`Patient/${a}/$access-report?_count=1000`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    const events = (r.body.entry as Json[]).map((x) => x.resource);
    const times = events.map((ae) => Date.parse(ae.recorded));
    expect(times).toEqual([...times].sort((x, y) => y - x)); // newest first
    for (const ae of events) {
      expect(() => validateResource(ae, 'AuditEvent'), JSON.stringify(ae)).not.toThrow();
      // Only this patient: not the others a search returned with them.
      expect(patientRefs(ae)).toEqual([`Patient/${a}`]);
      expect(refs(ae).join(' ')).not.toContain(`Patient/${b}`);
      expect(ae.text.div).toMatch(/<b>When<\/b>.*<b>Who<\/b>.*<b>What<\/b>.*<b>From<\/b>.*<b>Outcome<\/b>/);
    }
    // A read, a search that returned the patient only through _include, and a refused access.
    expect(events.some((ae) => ae.subtype[0].code === 'read' && ae.outcome === '0' && addressed(ae) === `Patient/${a}/_history/1`)).toBe(
      true,
    );
    expect(events.some((ae) => queryOf(ae) === 'status=finished&_include=Encounter:subject')).toBe(true);
    const denied = events.find((ae) => ae.outcome === '4' && /test-deny/.test(ae.outcomeDesc));
    expect(denied.text.div).toMatch(/access denied/);
    expect(events.some((ae) => queryOf(ae) === '_count=100')).toBe(true);
    expect(
      events
        .map((ae) => Number(ae.id))
        .sort(bySeq)
        .filter((id) => id <= last),
    ).toEqual(snapshot.filter((ae) => patientRefs(ae).includes(`Patient/${a}`)).map((ae) => Number(ae.id)));

    // Reading the report is on the record, and shows in the next report.
    const row = await lastRow();
    expect(row).toMatchObject({ action: '$access-report', resource_type: 'Patient', resource_id: a, patients: [a] });
    const next = await get(`Patient/${a}/$access-report?_count=1`);
    expect(next.body.entry[0].resource.id).toBe(row.seq);
    expect(next.body.entry[0].resource.subtype.map((c: Json) => c.code)).toEqual([
      'operation',
      'https://sushruta.example.in/fhir/OperationDefinition/Patient-access-report',
    ]);
  });

  it('pages the report and filters it by date; POST with Parameters works; unknown parameters are named', async () => {
    const whole = matchIds((await get(`Patient/${a}/$access-report?_count=1000`)).body);
    const seen: number[] = [];
    let url: string | undefined = `Patient/${a}/$access-report?_count=3`;
    for (let i = 0; url && i < 100; i++) {
      const r = await get(url);
      expect(r.status, r.text).toBe(200);
      seen.push(...matchIds(r.body));
      url = ((r.body.link as Json[]).find((l) => l.relation === 'next')?.url as string | undefined)?.slice(server.base.length + 1);
    }
    // Reading pages adds records after the first page was read; the pages hold the whole report as it was.
    expect(seen.filter((id) => id <= (whole[0] ?? 0))).toEqual(whole);
    expect(matchIds((await get(`Patient/${a}/$access-report?date=lt2000`)).body)).toEqual([]);
    const pivot = snapshot[Math.floor(snapshot.length / 2)].recorded as string;
    const since = matchIds((await get(`Patient/${a}/$access-report?_since=${pivot}&_count=1000`)).body);
    expect(since.length).toBeGreaterThan(0);
    for (const id of since.filter((x) => x <= last))
      expect(Date.parse(snapshot.find((ae) => Number(ae.id) === id).recorded)).toBeGreaterThanOrEqual(Date.parse(pivot));
    const post = await server.fhir('POST', `Patient/${a}/$access-report`, {
      resourceType: 'Parameters',
      parameter: [{ name: '_count', valueInteger: 2 }],
    });
    expect(post.status, post.text).toBe(200);
    expect(matchIds(post.body)).toHaveLength(2);
    const bad = await get(`Patient/${a}/$access-report?agent=system:x`);
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0].expression).toEqual(['agent']);
    const unknownOp = await get(`Patient/${a}/$everything`);
    expect(unknownOp.status).toBe(404);
    expect(unknownOp.body.issue[0].diagnostics).toMatch(/\$access-report/);
  });

  it('declares AuditEvent (read and search only) and $access-report in the CapabilityStatement', async () => {
    const cs = (await get('metadata')).body;
    const resources = cs.rest[0].resource as Json[];
    const ae = resources.find((x) => x.type === 'AuditEvent');
    expect(ae.interaction.map((i: Json) => i.code)).toEqual(['read', 'search-type']);
    expect(ae.searchParam.map((p: Json) => p.name).sort()).toEqual([
      '_id',
      'action',
      'agent',
      'date',
      'entity',
      'outcome',
      'patient',
      'subtype',
      'type',
    ]);
    const patient = resources.find((x) => x.type === 'Patient');
    expect(patient.operation).toEqual([expect.objectContaining({ name: 'access-report' })]);
    expect(patient.searchRevInclude.some((x: string) => x.startsWith('AuditEvent:'))).toBe(false);
    expect(() => validateResource(cs, 'CapabilityStatement')).not.toThrow();
  });
});
