/**
 * Invariant 5 for search: whatever the query string, the answer is a result or a FhirError (400),
 * never a SQL error or crash that would surface as a 500.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirError } from '../../src/fhir/outcome.js';
import { executeSearch, parseSearch } from '../../src/fhir/search/index.js';
import { plainCodec } from '../../src/store/codec.js';
import type { Db } from '../../src/store/db.js';
import { ResourceStore } from '../../src/store/resources.js';
import { testDbKinds } from '../support/db.js';
import { openSearchDb, put, T1 } from './helpers.js';

const NAMES = [
  'name',
  'family',
  'birthdate',
  'gender',
  'identifier',
  'organization',
  'general-practitioner',
  'phone',
  'address-city',
  '_id',
  '_lastUpdated',
  '_count',
  '_sort',
  '_include',
  '_revinclude',
  '_summary',
  '_total',
  '_elements',
  '_cursor',
  'death-date',
  'active',
  'link',
  'general-practitioner:Practitioner.name',
  'organization.name',
  '_has:Observation:patient:code',
  '_has:Observation:subject:value-quantity',
  '_has:Observation:patient:code-value-quantity',
  'nonsense',
];
const MODIFIERS = [
  '',
  ':missing',
  ':exact',
  ':contains',
  ':not',
  ':text',
  ':of-type',
  ':identifier',
  ':below',
  ':Practitioner',
  ':iterate',
  ':bogus',
];
const VALUE_PIECES = [
  '',
  'x',
  'true',
  'false',
  '1980',
  '1980-02-15',
  '2024-03-01T10:00:00Z',
  'ge1980',
  'ap2024',
  'sa',
  'eq',
  'Patient/p1',
  'http://a/Patient/p1',
  '|',
  'urn:x|',
  '|U-1',
  '\\,',
  ',',
  '5.4',
  'gt-1e3',
  'Patient:organization',
  'Observation:subject',
  '*',
  'count',
  'accurate',
  '-birthdate',
  'name,_id',
  "'; DROP TABLE resource; --",
  '%_\\',
  'श्री',
  'José',
  'eyJ4Ijox',
  'p1',
  '2345-7$gt5',
  'x$y$z',
];

describe.each(testDbKinds())('search robustness on $name', (kind) => {
  let db: Db;
  beforeAll(async () => {
    db = await openSearchDb(kind);
    await put(db, [
      { resourceType: 'Organization', id: 'org1', name: 'AIIMS' },
      {
        resourceType: 'Patient',
        id: 'p1',
        name: [{ family: 'Sharma' }],
        birthDate: '1980-02-15',
        managingOrganization: { reference: 'Organization/org1' },
      },
      {
        resourceType: 'Observation',
        id: 'o1',
        status: 'final',
        code: { text: 'x' },
        subject: { reference: 'Patient/p1' },
        valueQuantity: { value: 5.4 },
      },
    ]);
  });
  afterAll(async () => db?.close());

  it('answers every query with results or a FhirError', async () => {
    const store = new ResourceStore(T1, plainCodec);
    const param = fc.tuple(
      fc.constantFrom(...NAMES),
      fc.constantFrom(...MODIFIERS),
      fc.array(fc.oneof(fc.constantFrom(...VALUE_PIECES), fc.string({ maxLength: 6 })), { maxLength: 3 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(param, { maxLength: 4 }), fc.boolean(), async (list, lenient) => {
        const params = list.map(([n, m, v]) => [`${n}${m}`, v.join('')] as const);
        let parsed: ReturnType<typeof parseSearch> | undefined;
        try {
          parsed = parseSearch('Patient', params, { lenient, defaultCount: 5, maxCount: 50 });
        } catch (err) {
          expect(err).toBeInstanceOf(FhirError);
          expect((err as FhirError).status).toBe(400);
          return;
        }
        const page = await executeSearch(db, store, parsed.search);
        expect(Array.isArray(page.matches)).toBe(true);
      }),
      { numRuns: Number(process.env.SEARCH_FUZZ_RUNS ?? 300) },
    );
    // The table the injection attempt named is still there.
    const n = await db.query('SELECT count(*) AS n FROM resource');
    expect(Number(n.rows[0]?.n)).toBe(3);
  });
});
