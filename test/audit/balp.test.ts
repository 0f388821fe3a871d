/**
 * The record -> AuditEvent mapping and the AuditEvent search grammar, without a database: fields
 * the server does not fill yet (role, session, client, purpose, break-glass; issue 5) map to valid
 * R4, outcome codes follow the HTTP status, profiles are claimed only when they hold, and every
 * malformed parameter is a 400 naming it.
 */
import { describe, expect, it } from 'vitest';
import type { AuditRecordView } from '../../src/fhir/audit-reader.js';
import { toAuditEvent } from '../../src/fhir/auditevent/balp.js';
import { actionsWithBalpAction, actionsWithCoding, meaningOf, outcomeCode, statusesOf } from '../../src/fhir/auditevent/codes.js';
import { parseAuditSearch } from '../../src/fhir/auditevent/params.js';
import { FhirError } from '../../src/fhir/outcome.js';
import { validateResource } from '../../src/fhir/validation/index.js';

const BALP = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.';
const mapping = { baseUrl: 'https://his.example.in/fhir', site: 'aiims-delhi' };

function view(over: Partial<AuditRecordView> = {}): AuditRecordView {
  return {
    seq: 42,
    time: '2026-11-24T09:30:00.123Z',
    request: 'req-0000000042',
    who: { kind: 'staff', id: 'dr.sharma', role: 'doctor', session: 'sess-9f2c', client: 'ward-app' },
    action: 'read',
    type: 'Observation',
    id: 'obs-1',
    version: '3',
    query: null,
    resources: ['Observation/obs-1'],
    resourceCount: 1,
    patients: ['p-1'],
    where: { peer: '10.0.0.5', forwarded: ['203.0.113.7', '10.0.0.5'], client: '203.0.113.7', agent: 'Mozilla/5.0 <ward app>' },
    why: { purpose: 'ETREAT', breakGlass: { shown: 'patient unconscious in casualty' } },
    outcome: { status: 200, rule: 'care-team', reason: null },
    ...over,
  };
}

describe('record -> AuditEvent (BALP)', () => {
  it('maps a break-glass read by a staff member through a proxy to a valid BALP PatientRead', () => {
    const ae = toAuditEvent(view(), mapping);
    expect(() => validateResource(ae, 'AuditEvent')).not.toThrow();
    expect(ae.meta?.profile).toEqual([`${BALP}PatientRead`]);
    const user = ae.agent.find((a) => a.requestor);
    expect(user).toMatchObject({
      who: { identifier: { value: 'staff:dr.sharma' }, display: 'dr.sharma' },
      role: [{ text: 'doctor' }],
      policy: ['urn:sushruta:session:sess-9f2c'],
      purposeOfUse: [{ coding: [{ code: 'ETREAT' }], text: 'break-glass: patient unconscious in casualty' }],
    });
    const client = ae.agent.find((a) => a.network?.address === '203.0.113.7');
    expect(client?.who).toEqual({ identifier: { value: 'ward-app' }, display: 'Mozilla/5.0 <ward app>' });
    expect(ae.agent.find((a) => a.network?.address === '10.0.0.5')?.who?.display).toBe('forwarded for: 203.0.113.7, 10.0.0.5');
    expect(ae.entity?.find((e) => e.role?.code === '4')?.what?.reference).toBe('Observation/obs-1/_history/3');
    expect(ae.text?.div).toContain('Mozilla/5.0 &lt;ward app&gt;');
    expect(ae.text?.div).toContain('break-glass: patient unconscious in casualty');
  });

  it('keeps sealed fields out when they are hidden, and says so', () => {
    const ae = toAuditEvent(
      view({
        action: 'search-type',
        id: null,
        version: null,
        query: { hidden: 'not for this caller' },
        why: { purpose: 'ETREAT', breakGlass: { hidden: 'not for this caller' } },
      }),
      mapping,
    );
    expect(() => validateResource(ae, 'AuditEvent')).not.toThrow();
    expect(ae.meta?.profile).toBeUndefined();
    expect(ae.meta?.security?.map((c) => c.code)).toEqual(['R', 'REDACTED']);
    expect(JSON.stringify(ae)).not.toContain('casualty');
    expect(ae.entity?.find((e) => e.role?.code === '24')).toMatchObject({ description: expect.stringMatching(/sealed/) });
  });

  it('claims a profile only for successes with what the profile requires', () => {
    const failed = toAuditEvent(
      view({ outcome: { status: 404, rule: 'care-team', reason: { shown: 'Observation/obs-1 does not exist' } } }),
      mapping,
    );
    expect(failed.meta?.profile).toBeUndefined();
    expect(failed.outcome).toBe('4');
    expect(failed.outcomeDesc).toBe("HTTP 404; allowed by rule 'care-team'; Observation/obs-1 does not exist");
    const twoPatients = toAuditEvent(
      view({ action: 'search-type', id: null, query: { shown: 'code=1234-5' }, patients: ['p-1', 'p-2'] }),
      mapping,
    );
    expect(twoPatients.meta?.profile).toEqual([`${BALP}Query`]);
    const noPatient = toAuditEvent(view({ action: 'delete', type: 'Location', id: 'ward-3', patients: [] }), mapping);
    expect(noPatient.meta?.profile).toEqual([`${BALP}Delete`]);
    expect(noPatient.meta?.security).toBeUndefined();
    for (const ae of [failed, twoPatients, noPatient]) expect(() => validateResource(ae, 'AuditEvent')).not.toThrow();
  });

  it('shows only the focus patient in a report', () => {
    const ae = toAuditEvent(
      view({
        action: 'search-type',
        id: null,
        query: { shown: 'name=x' },
        patients: ['p-1', 'p-2'],
        resources: ['Patient/p-1', 'Patient/p-2'],
      }),
      { ...mapping, focusPatient: 'p-2' },
    );
    expect(JSON.stringify(ae)).not.toContain('p-1');
    expect(ae.meta?.profile).toEqual([`${BALP}PatientQuery`]);
  });

  it('turns control characters into U+FFFD in the narrative', () => {
    const ae = toAuditEvent(view({ where: { peer: '::1', forwarded: [], client: '::1', agent: 'bad\u0000agent\u0007' } }), mapping);
    expect(ae.text?.div).toContain('bad\ufffdagent\ufffd');
    expect(() => validateResource(ae, 'AuditEvent')).not.toThrow();
  });

  it('maps outcomes and actions in both directions', () => {
    expect([200, 304, 400, 403, 404, 409, 500, 503].map(outcomeCode)).toEqual(['0', '0', '4', '4', '4', '4', '8', '12']);
    for (const code of ['0', '4', '8', '12'])
      for (const r of statusesOf(code) ?? []) expect([outcomeCode(r.from), outcomeCode(r.to)]).toEqual([code, code]);
    expect(actionsWithBalpAction('U').sort()).toEqual(['patch', 'update']);
    expect(actionsWithBalpAction('R').sort()).toEqual(['capabilities', 'history-instance', 'read', 'vread']);
    expect(actionsWithCoding('subtype', undefined, 'operation')).toEqual(['$access-report']);
    expect(actionsWithCoding('type', 'http://dicom.nema.org/resources/ontology/DCM', '110100').sort()).toEqual([
      'admin-audit',
      'admin-keys',
    ]);
    expect(meaningOf('login')).toMatchObject({ action: 'E', subtype: [{ code: 'login' }] }); // a later version's action still maps
  });
});

describe('AuditEvent search parameters', () => {
  const parse = (q: string, lenient = false) =>
    parseAuditSearch([...new URLSearchParams(q).entries()], { lenient, defaultCount: 20, maxCount: 100, scope: 'AuditEvent' });
  const rejects = (q: string, expression: string, code = 'invalid') => {
    let err: unknown;
    try {
      parse(q);
    } catch (e) {
      err = e;
    }
    expect(err, q).toBeInstanceOf(FhirError);
    expect((err as FhirError).status).toBe(400);
    expect((err as FhirError).issues[0]).toMatchObject({ code, expression: [expression] });
  };

  it('parses each parameter into conditions', () => {
    const { search } = parse(
      'patient=Patient/p1,p2&agent=system:job&date=ge2026-01&date=lt2026-02&action=R&outcome=4&subtype=read&entity=Encounter/e1&_id=7&_sort=date&_count=5&_include=AuditEvent:patient',
    );
    expect(search.where).toEqual([
      { on: 'patient', any: ['p1', 'p2'] },
      { on: 'agent', any: ['system:job'] },
      { on: 'recorded', any: [{ from: new Date('2026-01-01T00:00:00.000Z') }] },
      { on: 'recorded', any: [{ to: new Date('2026-01-31T23:59:59.999Z') }] },
      { on: 'action', any: ['read', 'vread', 'history-instance', 'capabilities'] },
      { on: 'status', any: [{ from: 400, to: 499 }] },
      { on: 'action', any: ['read'] },
      { on: 'entity', any: [{ type: 'Encounter', id: 'e1' }] },
      { on: 'seq', any: [7] },
    ]);
    expect(search).toMatchObject({ order: 'asc', count: 5, includePatients: true, signature: 'AuditEvent|date' });
    expect(parse('date=ne2026').search.where[0]).toEqual({
      on: 'recorded',
      any: [{ to: new Date('2025-12-31T23:59:59.999Z') }, { from: new Date('2027-01-01T00:00:00.000Z') }],
    });
    // An unknown code matches nothing rather than everything.
    expect(parse('subtype=no-such-interaction').search.where[0]).toEqual({ on: 'action', any: [] });
    expect(parse('action=http://example.org|C').search.where[0]).toEqual({ on: 'action', any: [] });
  });

  it('names what it refuses', () => {
    rejects('nonsense=1', 'nonsense');
    rejects('agent-name=x', 'agent-name', 'not-supported');
    rejects('patient=Encounter/1', 'patient');
    rejects('patient:missing=true', 'patient:missing', 'not-supported');
    rejects('entity=123', 'entity');
    rejects('agent=dr.sharma', 'agent');
    rejects('agent:identifier=http://other|staff:x', 'agent:identifier');
    rejects('date=2026-13', 'date');
    rejects('date=ap2026', 'date', 'not-supported');
    rejects('action=Z', 'action');
    rejects('outcome=5', 'outcome');
    rejects('_sort=agent', '_sort', 'not-supported');
    rejects('_include=AuditEvent:agent', '_include', 'not-supported');
    rejects('_count=1000', '_count');
    rejects('_elements=id', '_elements', 'not-supported');
    rejects('_cursor=abc', '_cursor');
  });

  it('is lenient when asked, and binds cursors to the search order', () => {
    const { search, warnings } = parse('nonsense=1&_count=1000&patient=p1', true);
    expect(warnings.map((w) => w.expression?.[0])).toEqual(['nonsense']);
    expect(search.count).toBe(100);
    expect(search.where).toEqual([{ on: 'patient', any: ['p1'] }]);
    const report = (q: string) =>
      parseAuditSearch([...new URLSearchParams(q).entries()], {
        lenient: false,
        defaultCount: 20,
        maxCount: 100,
        scope: 'Patient/p1/$access-report',
        only: new Set(['date', '_since', '_count']),
      });
    expect(() => report('agent=system:x')).toThrow(/not a parameter of this operation/);
    expect(report('_since=2026-11-24T09:00:00Z').search.where).toEqual([
      { on: 'recorded', any: [{ from: new Date('2026-11-24T09:00:00Z') }] },
    ]);
    expect(() => report('_since=2026-11-24')).toThrow(/_since must be an instant/);
  });
});
