/**
 * The audit log behind the real server, on both databases: what a record holds for a search with
 * `_include` (every patient whose data left the server), that personal data in it is sealed, and
 * that the server fails closed (no answer, no data) when the audit log cannot be written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifierFromVkey } from '../../src/security/audit/checkpoint.js';
import { checkProof, type InclusionProof } from '../../src/security/audit/prove.js';
import { decodeRecord } from '../../src/security/audit/record.js';
import { codecSealer } from '../../src/security/audit/sink.js';
import { type AtRestServer, atRestKinds, type Json, makeStorage, request, type Storage, startAtRest } from '../at-rest/harness.js';

describe.each(atRestKinds())('audit log through the server on $name', ({ name }) => {
  let storage: Storage;
  let server: AtRestServer;
  let patientId: string;
  let otherId: string;

  beforeAll(async () => {
    storage = await makeStorage(name);
    server = await startAtRest(storage);
    const p = await server.fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Chaudhary', given: ['Sunita'] }] });
    expect(p.status, p.text).toBe(201);
    patientId = p.body.id;
    const q = await server.fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Menon', given: ['Arjun'] }] });
    otherId = q.body.id;
    const e = await server.fhir('POST', 'Encounter', {
      resourceType: 'Encounter',
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject: { reference: `Patient/${patientId}` },
    });
    expect(e.status, e.text).toBe(201);
  });

  afterAll(async () => {
    await server?.stop();
    storage?.remove();
  });

  async function lastRecord() {
    const res = await server.sushruta.db.query<{ entry: string; patients: string[]; action: string }>(
      'SELECT entry, patients, action FROM audit_log ORDER BY seq DESC LIMIT 1',
    );
    const row = res.rows[0] as { entry: string; patients: string[]; action: string };
    return { row, rec: decodeRecord(row.entry) };
  }

  it('records every patient whose data a search returned, _include included, with the query sealed', async () => {
    const r = await server.fhir('GET', `Encounter?status=finished&_include=Encounter:subject`);
    expect(r.status, r.text).toBe(200);
    expect((r.body.entry as Json[]).map((x) => x.resource.resourceType).sort()).toEqual(['Encounter', 'Patient']);
    const { row, rec } = await lastRecord();
    expect(row.action).toBe('search-type');
    expect(row.patients).toEqual([patientId]);
    expect(rec.patients).toEqual([patientId]);
    expect(rec.what.resourceCount).toBe(2);
    expect(rec.what.resources).toContain(`Patient/${patientId}`);
    expect(rec.outcome).toMatchObject({ status: 200, rule: 'local-operator', reason: null });
    // The query is sealed with the hospital's data key: not in the entry, but readable with the key.
    expect(row.entry).not.toContain('finished');
    expect(rec.what.query).toHaveProperty('sealed');
    const crypto = server.sushruta.crypto;
    expect(crypto).toBeDefined();
    const sealer = codecSealer(crypto?.codec as NonNullable<typeof crypto>['codec']);
    expect(sealer.open(rec.tenant, rec.request, 'query', rec.what.query as never)).toBe('status=finished&_include=Encounter:subject');
  });

  it('records a name search without the name, and a read with its patient', async () => {
    const s = await server.fhir('GET', 'Patient?family=chaudhary');
    expect(s.status).toBe(200);
    let { row } = await lastRecord();
    expect(row.entry.toLowerCase()).not.toContain('chaudhary');
    expect(row.patients).toEqual([patientId]);
    const read = await server.fhir('GET', `Patient/${otherId}`);
    expect(read.status).toBe(200);
    ({ row } = await lastRecord());
    expect(row.action).toBe('read');
    expect(row.patients).toEqual([otherId]);
  });

  it('records every entry of a transaction Bundle with the Bundle, in its transaction', async () => {
    const count = async () =>
      Number((await server.sushruta.db.query<{ n: string | number }>('SELECT count(*) AS n FROM audit_log')).rows[0]?.n);
    const before = await count();
    const r = await server.fhir('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:8f1c6a52-0b7e-4f43-9a3e-2d9d6f1f0a01',
          request: { method: 'POST', url: 'Patient' },
          resource: { resourceType: 'Patient', name: [{ family: 'Bundled' }] },
        },
        {
          request: { method: 'POST', url: 'Encounter' },
          resource: {
            resourceType: 'Encounter',
            status: 'planned',
            class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
            subject: { reference: 'urn:uuid:8f1c6a52-0b7e-4f43-9a3e-2d9d6f1f0a01' },
          },
        },
      ],
    });
    expect(r.status, r.text).toBe(200);
    const newId = (r.body.entry[0].response.location as string).split('/')[1];
    expect(await count()).toBe(before + 3);
    const rows = await server.sushruta.db.query<{ action: string; resource_type: string | null; patients: string[] }>(
      'SELECT action, resource_type, patients FROM audit_log ORDER BY seq DESC LIMIT 3',
    );
    expect(rows.rows.map((x) => [x.action, x.resource_type, x.patients])).toEqual([
      ['transaction', null, [newId]],
      ['create', 'Encounter', [newId]],
      ['create', 'Patient', [newId]],
    ]);
  });

  it('proves through /admin/audit/prove, records each request, and names what it refuses', async () => {
    const admin = server.sushruta.auditAdmin;
    expect(admin).toBeDefined();
    const post = (body: unknown) => request(server.base.replace(/\/fhir$/, ''), 'POST', '/admin/audit/prove', body);
    const ok = await post({ seq: 1 });
    expect(ok.status, ok.text).toBe(200);
    const proof = ok.body as InclusionProof;
    expect(proof).toMatchObject({ type: 'inclusion', seq: 1, leafIndex: 0 });
    expect(checkProof(proof, verifierFromVkey(admin?.vkey as string))).toEqual({ ok: true });
    // The proof request is itself on the record, with what was asked for (sealed, like every query).
    let { row, rec } = await lastRecord();
    expect(row.action).toBe('admin-audit');
    const crypto = server.sushruta.crypto as NonNullable<typeof server.sushruta.crypto>;
    const sealer = codecSealer(crypto.codec);
    expect(sealer.open(rec.tenant, rec.request, 'query', rec.what.query as never)).toBe('prove seq=1');
    expect(rec.outcome.status).toBe(200);
    const consistency = await post({ from: proof.treeSize, to: proof.treeSize });
    expect(consistency.status, consistency.text).toBe(200);
    expect(consistency.body).toMatchObject({ type: 'consistency', size1: proof.treeSize, size2: proof.treeSize, proof: [] });

    for (const [body, status, message] of [
      [{}, 400, /needs 'seq' \(and optionally 'size'\), or 'from' and 'to'/],
      [{ seq: 1, from: 1, to: 2 }, 400, /needs 'seq'/],
      [{ seq: '1' }, 400, /'seq' must be a whole number from 1/],
      [{ seq: 1_000_000 }, 400, /record 1000000 does not exist/],
      [{ seq: 1, size: proof.treeSize + 1_000_000 }, 404, /there is no signed checkpoint at size/],
    ] as [unknown, number, RegExp][]) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.body.resourceType).toBe('OperationOutcome');
      expect(r.text).toMatch(message);
      ({ row, rec } = await lastRecord());
      expect(row.action).toBe('admin-audit');
      expect(rec.outcome.status).toBe(status);
    }

    // A record changed behind the triggers: 409, and no proof.
    const db = server.sushruta.db;
    const original = (await db.query<{ entry: string }>('SELECT entry FROM audit_log WHERE seq = 1')).rows[0]?.entry as string;
    await db.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
    try {
      await db.query('UPDATE audit_log SET entry = $1 WHERE seq = 1', [original.replace('"status":201', '"status":200')]);
      const tampered = await post({ seq: 1 });
      expect(tampered.status).toBe(409);
      expect(tampered.text).toMatch(/record 1: its entry was changed after it was written/);
    } finally {
      await db.query('UPDATE audit_log SET entry = $1 WHERE seq = 1', [original]);
      await db.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
    }
  });

  it('fails closed: when the audit log cannot be written, the request fails and no data leaves', async () => {
    const db = server.sushruta.db;
    await db.query(`CREATE FUNCTION audit_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'disk full (test)';
END
$$`);
    await db.query('CREATE TRIGGER audit_test_refuse BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_test_refuse()');
    try {
      const read = await server.fhir('GET', `Patient/${patientId}`);
      expect(read.status).toBe(503);
      expect(read.body.resourceType).toBe('OperationOutcome');
      expect(read.text).toMatch(/the audit log could not record this request/);
      expect(read.text).not.toMatch(/Chaudhary|Sunita/);
      const search = await server.fhir('GET', 'Patient?family=chaudhary');
      expect(search.status).toBe(503);
      expect(search.text).not.toMatch(/Chaudhary|Sunita/);
      const write = await server.fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Unaudited' }] });
      expect(write.status).toBe(503);
    } finally {
      await db.query('DROP TRIGGER audit_test_refuse ON audit_log');
      await db.query('DROP FUNCTION audit_test_refuse()');
    }
    const again = await server.fhir('GET', `Patient/${patientId}`);
    expect(again.status).toBe(200);
    // The refused write left nothing behind: a write and its audit record commit together or not at all.
    const unaudited = await server.fhir('GET', 'Patient?family=unaudited&_summary=count');
    expect(unaudited.body.total).toBe(0);
    const report = await server.sushruta.auditAdmin?.verify();
    expect(report).toMatchObject({ ok: true });
    expect(report?.records).toBeGreaterThan(5);
  });
});
