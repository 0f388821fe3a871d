/** FHIR REST semantics through HTTP, on PGlite and PostgreSQL alike. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDbKinds } from '../support/db.js';
import { type TestServer, startTestServer } from '../support/server.js';

const patient = (family: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  name: [{ family, given: ['Test'] }],
  gender: 'female',
  birthDate: '1990-04-12',
  ...extra,
});

describe.each(testDbKinds())('FHIR REST on $name', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind, { bundleEntries: 20, maxCount: 50, bodyBytes: 64 * 1024 });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('serves a CapabilityStatement that lists the interactions it implements', async () => {
    const r = await s.fhir('GET', 'metadata');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(r.body.fhirVersion).toBe('4.0.1');
    const pat = r.body.rest[0].resource.find((x: { type: string }) => x.type === 'Patient');
    expect(pat.interaction.map((i: { code: string }) => i.code)).toEqual(
      expect.arrayContaining(['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type']),
    );
    expect(pat.searchParam.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['name', 'identifier', 'birthdate']));
    expect(r.body.rest[0].interaction.map((i: { code: string }) => i.code)).toEqual(['transaction', 'batch', 'history-system']);
  });

  it('creates, reads, updates with If-Match, vreads and keeps every version', async () => {
    const c = await s.fhir('POST', 'Patient', patient('Iyer'));
    expect(c.status).toBe(201);
    const id = c.body.id as string;
    expect(c.headers.get('etag')).toBe('W/"1"');
    expect(c.headers.get('location')).toBe(`${s.base}/Patient/${id}/_history/1`);
    expect(c.body.meta.versionId).toBe('1');

    const r = await s.fhir('GET', `Patient/${id}`);
    expect(r.status).toBe(200);
    expect(r.body.name[0].family).toBe('Iyer');

    const u = await s.fhir('PUT', `Patient/${id}`, { ...r.body, gender: 'male' }, { 'if-match': 'W/"1"' });
    expect(u.status).toBe(200);
    expect(u.body.meta.versionId).toBe('2');

    const stale = await s.fhir('PUT', `Patient/${id}`, { ...r.body, gender: 'other' }, { 'if-match': 'W/"1"' });
    expect(stale.status).toBe(412);
    expect(stale.body.resourceType).toBe('OperationOutcome');
    expect(stale.body.issue[0].diagnostics).toContain('version 2');

    const v1 = await s.fhir('GET', `Patient/${id}/_history/1`);
    expect(v1.body.gender).toBe('female');
    const v2 = await s.fhir('GET', `Patient/${id}/_history/2`);
    expect(v2.body.gender).toBe('male');
    expect((await s.fhir('GET', `Patient/${id}/_history/3`)).status).toBe(404);
  });

  it('refuses an update whose body id differs from the URL', async () => {
    const c = await s.fhir('POST', 'Patient', patient('Das'));
    const r = await s.fhir('PUT', `Patient/${c.body.id}`, { ...c.body, id: 'someone-else' });
    expect(r.status).toBe(400);
    expect(r.body.issue[0].expression).toEqual(['Patient.id']);
  });

  it('update of an unknown id creates it (update-as-create)', async () => {
    const r = await s.fhir('PUT', 'Patient/uhid-created-by-put', { ...patient('Rao'), id: 'uhid-created-by-put' });
    expect(r.status).toBe(201);
    expect(r.body.meta.versionId).toBe('1');
  });

  it('applies a JSON Patch with If-Match, and refuses a patch that breaks the resource', async () => {
    const c = await s.fhir('POST', 'Patient', patient('Menon'));
    const id = c.body.id;
    const ok = await s.fhir('PATCH', `Patient/${id}`, [{ op: 'replace', path: '/gender', value: 'male' }], {
      'content-type': 'application/json-patch+json',
      'if-match': 'W/"1"',
    });
    expect(ok.status).toBe(200);
    expect(ok.body.gender).toBe('male');
    expect(ok.body.meta.versionId).toBe('2');
    const bad = await s.fhir('PATCH', `Patient/${id}`, [{ op: 'replace', path: '/gender', value: 'banana' }], {
      'content-type': 'application/json-patch+json',
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.issue)).toContain('Patient.gender');
    const failedTest = await s.fhir('PATCH', `Patient/${id}`, [{ op: 'test', path: '/gender', value: 'female' }], {
      'content-type': 'application/json-patch+json',
    });
    expect(failedTest.status).toBe(400);
    expect((await s.fhir('GET', `Patient/${id}`)).body.meta.versionId).toBe('2');
    const wrongType = await s.fhir('PATCH', `Patient/${id}`, [{ op: 'replace', path: '/gender', value: 'male' }]);
    expect(wrongType.status).toBe(415);
  });

  it('delete writes a new version, read answers 410, history keeps everything', async () => {
    const c = await s.fhir('POST', 'Patient', patient('Bose'));
    const id = c.body.id;
    const d = await s.fhir('DELETE', `Patient/${id}`);
    expect(d.status).toBe(200);
    expect(d.headers.get('etag')).toBe('W/"2"');
    const gone = await s.fhir('GET', `Patient/${id}`);
    expect(gone.status).toBe(410);
    expect(gone.body.issue[0].code).toBe('deleted');
    const h = await s.fhir('GET', `Patient/${id}/_history`);
    expect(h.body.type).toBe('history');
    expect(h.body.entry.map((e: { request: { method: string } }) => e.request.method)).toEqual(['DELETE', 'POST']);
    expect((await s.fhir('GET', `Patient/${id}/_history/1`)).body.name[0].family).toBe('Bose');
    const search = await s.fhir('GET', `Patient?_id=${id}`);
    expect(search.body.entry ?? []).toHaveLength(0);
    const revived = await s.fhir('PUT', `Patient/${id}`, { ...c.body });
    expect(revived.status).toBe(201);
    expect(revived.body.meta.versionId).toBe('3');
  });

  it('conditional create returns the existing match instead of a duplicate', async () => {
    const body = patient('Kulkarni', { identifier: [{ system: 'https://sushruta.example.in/fhir/sid/uhid', value: 'COND-1' }] });
    const h = { 'if-none-exist': 'identifier=https://sushruta.example.in/fhir/sid/uhid|COND-1' };
    const a = await s.fhir('POST', 'Patient', body, h);
    const b = await s.fhir('POST', 'Patient', body, h);
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    expect(b.body.id).toBe(a.body.id);
  });

  it('type and system history page newest first with next links', async () => {
    for (let i = 0; i < 3; i++) await s.fhir('POST', 'Practitioner', { resourceType: 'Practitioner', name: [{ family: `Hist${i}` }] });
    const p1 = await s.fhir('GET', 'Practitioner/_history?_count=2');
    expect(p1.body.entry).toHaveLength(2);
    expect(p1.body.entry[0].resource.name[0].family).toBe('Hist2');
    const next = p1.body.link.find((l: { relation: string }) => l.relation === 'next').url as string;
    const p2 = await s.fhir('GET', next.slice(s.base.length));
    expect(p2.body.entry[0].resource.name[0].family).toBe('Hist0');
    const sys = await s.fhir('GET', '_history?_count=1');
    expect(sys.body.entry).toHaveLength(1);
    expect((await s.fhir('GET', '_history?_cursor=garbage')).status).toBe(400);
  });

  it('a transaction resolves urn:uuid references and is all-or-nothing', async () => {
    const tx = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:2b7e0c1a-1111-4a4a-9999-000000000001',
          resource: patient('Transaction'),
          request: { method: 'POST', url: 'Patient' },
        },
        {
          fullUrl: 'urn:uuid:2b7e0c1a-1111-4a4a-9999-000000000002',
          resource: {
            resourceType: 'Encounter',
            status: 'arrived',
            class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
            subject: { reference: 'urn:uuid:2b7e0c1a-1111-4a4a-9999-000000000001' },
          },
          request: { method: 'POST', url: 'Encounter' },
        },
      ],
    };
    const r = await s.fhir('POST', '', tx);
    expect(r.status).toBe(200);
    expect(r.body.type).toBe('transaction-response');
    const patLoc = r.body.entry[0].response.location as string;
    expect(r.body.entry[0].response.status).toBe('201');
    const enc = await s.fhir('GET', r.body.entry[1].response.location.replace(/\/_history\/\d+$/, ''));
    expect(enc.body.subject.reference).toBe(patLoc.replace(/\/_history\/\d+$/, ''));

    const before = (await s.fhir('GET', 'Patient?family=Atomic&_summary=count')).body.total;
    const broken = {
      ...tx,
      entry: [
        { ...tx.entry[0], resource: patient('Atomic') },
        { ...tx.entry[1], resource: { ...tx.entry[1]?.resource, status: 'not-a-status' } },
      ],
    };
    const f = await s.fhir('POST', '', broken);
    expect(f.status).toBe(400);
    expect(JSON.stringify(f.body.issue)).toContain('Bundle.entry[1]');
    expect((await s.fhir('GET', 'Patient?family=Atomic&_summary=count')).body.total).toBe(before);
  });

  it('a batch runs entries independently and reports each outcome', async () => {
    const r = await s.fhir('POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: patient('BatchOk'), request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Patient', gender: 'nope' }, request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient/does-not-exist' } },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual(['201', '400', '404']);
    expect(r.body.entry[1].response.outcome.resourceType).toBe('OperationOutcome');
  });

  it('answers bad input with an OperationOutcome, never a 500', async () => {
    const notJson = await s.fhir('POST', 'Patient', '{"resourceType": "Patient",', {});
    expect(notJson.status).toBe(400);
    expect(notJson.body.resourceType).toBe('OperationOutcome');
    const wrongType = await s.fhir('POST', 'Patient', { resourceType: 'Observation', status: 'final', code: { text: 'x' } });
    expect(wrongType.status).toBe(400);
    const unknownType = await s.fhir('GET', 'Spaceship/1');
    expect(unknownType.status).toBe(404);
    expect(unknownType.body.resourceType).toBe('OperationOutcome');
    const badId = await s.fhir('GET', 'Patient/has$dollar');
    expect(badId.status).toBe(400);
    const proto = await s.fhir('POST', 'Patient', '{"resourceType":"Patient","__proto__":{"x":1}}');
    expect(proto.status).toBe(400);
    const media = await s.fhir('POST', 'Patient', '<Patient/>', { 'content-type': 'application/xml' });
    expect(media.status).toBe(415);
    expect(media.body.resourceType).toBe('OperationOutcome');
  });

  it('enforces the body, Bundle and _count limits with clear outcomes', async () => {
    const big = patient('Big', {
      text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(70 * 1024)}</div>` },
    });
    const tooBig = await s.fhir('POST', 'Patient', big);
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.issue[0].diagnostics).toContain('65536');
    const entries = Array.from({ length: 21 }, () => ({ resource: patient('Many'), request: { method: 'POST', url: 'Patient' } }));
    const tooMany = await s.fhir('POST', '', { resourceType: 'Bundle', type: 'batch', entry: entries });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.issue[0].diagnostics).toContain('at most 20');
    const count = await s.fhir('GET', 'Patient?_count=51');
    expect(count.status).toBe(400);
    expect(count.body.issue[0].diagnostics).toMatch(/_count/);
  });

  it('refuses an unknown search parameter unless Prefer: handling=lenient', async () => {
    const strict = await s.fhir('GET', 'Patient?colour=blue');
    expect(strict.status).toBe(400);
    expect(JSON.stringify(strict.body)).toContain('colour');
    const lenient = await s.fhir('GET', 'Patient?colour=blue&_count=1', undefined, { prefer: 'handling=lenient' });
    expect(lenient.status).toBe(200);
    expect(lenient.body.type).toBe('searchset');
  });

  it('passes every interaction through the audit stage before answering', async () => {
    const before = s.audit.entries.length;
    const c = await s.fhir('POST', 'Patient', patient('Audited'));
    await s.fhir('GET', `Patient/${c.body.id}`);
    await s.fhir('GET', 'Patient/missing-one');
    const mine = s.audit.entries.slice(before);
    expect(mine.map((e) => [e.interaction, e.outcome.status])).toEqual([
      ['create', 201],
      ['read', 200],
      ['read', 404],
    ]);
    expect(mine[1]?.resources).toEqual([`Patient/${c.body.id}`]);
    expect(mine[0]?.ctx.provenance.peerAddress).toMatch(/127\.0\.0\.1/);
    // A create names the id it assigned; a failed read, the patient it was aimed at.
    expect(mine[0]?.id).toBe(c.body.id);
    expect(mine[2]?.patients).toEqual(['missing-one']);
  });

  it('says clearly that AuditEvent needs the audit log when the server runs on an in-memory sink', async () => {
    const r = await s.fhir('GET', 'AuditEvent');
    expect(r.status).toBe(501);
    expect(r.body.issue[0]).toMatchObject({ code: 'not-supported', diagnostics: expect.stringMatching(/without a readable audit log/) });
  });

  it('fails closed when the audit stage cannot record', async () => {
    const c = await s.fhir('POST', 'Patient', patient('FailClosed'));
    const original = s.audit.append.bind(s.audit);
    s.audit.append = async () => {
      throw new Error('disk full');
    };
    try {
      const r = await s.fhir('GET', `Patient/${c.body.id}`);
      expect(r.status).toBe(503);
      expect(JSON.stringify(r.body)).not.toContain('FailClosed');
    } finally {
      s.audit.append = original;
    }
  });
});
