/**
 * Property-based fuzzing (fast-check) of search parameters and request bodies: whatever
 * arrives, the answer is a Bundle or an OperationOutcome with a 2xx/4xx status — never a 500 —
 * and a refused write leaves nothing behind.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDbKinds } from '../support/db.js';
import { type TestServer, startTestServer } from '../support/server.js';

const PARAMS = [
  'name',
  'family',
  'given',
  'identifier',
  'birthdate',
  'gender',
  'telecom',
  'phone',
  'address-city',
  'general-practitioner',
  'organization',
  '_id',
  '_lastUpdated',
  '_count',
  '_sort',
  '_include',
  '_revinclude',
  '_summary',
  '_total',
  '_elements',
  '_has:Observation:patient:code',
  'link',
  'active',
  'deceased',
  'general-practitioner.name',
  'unknown-param',
  '_cursor',
];
const MODIFIERS = ['', ':exact', ':contains', ':missing', ':not', ':text', ':above', ':below', ':Patient', ':iterate', ':bogus'];
const VALUES = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom(
    'eq2024',
    'ge2024-02-30',
    'lt1990-01-01T10:00:00Z',
    'ap2020',
    'sa',
    'gt',
    'http://x|y',
    '|',
    'a|b|c',
    'true',
    'garbage',
    '-birthdate,name',
    'Patient:organization',
    '*',
    'count',
    'accurate',
    '9999999999',
    '-1',
    '0',
    'मोहन',
    'Zoë',
    '%',
    "'; DROP TABLE resource; --",
    '\\,',
    'x,y,,z',
    '2024-13-45',
    '100|http://unitsofmeasure.org|mg',
  ),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);

const query = fc
  .array(fc.tuple(fc.constantFrom(...PARAMS), fc.constantFrom(...MODIFIERS), VALUES), { maxLength: 5 })
  .map((parts) => parts.map(([p, m, v]) => `${encodeURIComponent(p + m)}=${encodeURIComponent(v)}`).join('&'));

/** A JSON value generator for replacing parts of a valid resource. */
const junk = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 12 }),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
);

const basePatient = {
  resourceType: 'Patient',
  name: [{ family: 'Fuzz', given: ['Base'] }],
  gender: 'female',
  birthDate: '1970-01-01',
  telecom: [{ system: 'phone', value: '+91 9810000000' }],
  identifier: [{ system: 'urn:fuzz', value: '1' }],
};
const KEYS = [
  'resourceType',
  'name',
  'gender',
  'birthDate',
  'telecom',
  'identifier',
  'active',
  'contact',
  'link',
  'extension',
  'meta',
  'id',
  'text',
];

const mutatedPatient = fc.array(fc.tuple(fc.constantFrom(...KEYS), junk), { minLength: 1, maxLength: 3 }).map((muts) => {
  const p: Record<string, unknown> = structuredClone(basePatient);
  for (const [k, v] of muts) p[k] = v;
  return p;
});

describe.each(testDbKinds())('fuzzing on $name', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
    await s.fhir('POST', 'Patient', basePatient);
  });
  afterAll(async () => {
    await s?.close();
  });

  const versionsWritten = async () => (await s.fhir('GET', 'Patient?_summary=count')).body.total as number;

  it('search parameters never yield a 500', async () => {
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('Patient', 'Observation', 'Encounter'), query, async (type, qs) => {
        const r = await s.app.inject({ method: 'GET', url: `/fhir/${type}?${qs}` });
        statuses.add(r.statusCode);
        expect(r.statusCode, `${type}?${qs} -> ${r.body.slice(0, 300)}`).toBeLessThan(500);
        const body = JSON.parse(r.body);
        expect(['Bundle', 'OperationOutcome']).toContain(body.resourceType);
      }),
      { numRuns: 250 },
    );
    // The generator must reach both sides: accepted searches and refused ones.
    expect([...statuses].sort()).toEqual(expect.arrayContaining([200, 400]));
  });

  it('bodies never yield a 500, and a refused write writes nothing', async () => {
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(mutatedPatient, async (body) => {
        const before = await versionsWritten();
        const r = await s.app.inject({
          method: 'POST',
          url: '/fhir/Patient',
          headers: { 'content-type': 'application/fhir+json' },
          payload: JSON.stringify(body),
        });
        statuses.add(r.statusCode);
        expect(r.statusCode, r.body.slice(0, 300)).toBeLessThan(500);
        const after = await versionsWritten();
        expect(after - before).toBe(r.statusCode === 201 ? 1 : 0);
      }),
      { numRuns: 120 },
    );
    expect([...statuses]).toEqual(expect.arrayContaining([201, 400]));
  });

  it('a transaction with any bad entry writes none of its entries', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(mutatedPatient, fc.constant(basePatient)), { minLength: 1, maxLength: 4 }), async (patients) => {
        const before = await versionsWritten();
        const r = await s.app.inject({
          method: 'POST',
          url: '/fhir',
          headers: { 'content-type': 'application/fhir+json' },
          payload: JSON.stringify({
            resourceType: 'Bundle',
            type: 'transaction',
            entry: patients.map((p) => ({ resource: p, request: { method: 'POST', url: 'Patient' } })),
          }),
        });
        expect(r.statusCode, r.body.slice(0, 300)).toBeLessThan(500);
        const after = await versionsWritten();
        expect(after - before).toBe(r.statusCode === 200 ? patients.length : 0);
      }),
      { numRuns: 60 },
    );
  });
});
