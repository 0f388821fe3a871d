/**
 * The keyed blind-index transform end to end, on both databases, with a real key ring: what can be
 * searched, what is refused (and why), that no personal plaintext reaches any search_* table,
 * tenant isolation, and an index-key rotation with re-indexing.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirError } from '../../src/fhir/outcome.js';
import {
  countRowsUnderIndexKeyVersionsBelow,
  deleteRowsUnderIndexKeyVersionsBelow,
  executeSearch,
  finishPendingReindex,
  indexKeyVersionsInUse,
  parseSearch,
  reindexResource,
  resourcesUnderIndexKeyVersionsBelow,
  searchIndexMaintenance,
  searchMigrations,
  setIndexValueTransform,
} from '../../src/fhir/search/index.js';
import { identityTransform } from '../../src/fhir/search/normalise.js';
import { INDEX_TABLES } from '../../src/fhir/search/schema.js';
import type { AnyResource } from '../../src/fhir/types.js';
import { blindIndexTransform } from '../../src/security/crypto/blind-transform.js';
import { kekFromBytes } from '../../src/security/crypto/kek.js';
import { cryptoMigrations, KeyRing } from '../../src/security/crypto/keyring.js';
import { plainCodec } from '../../src/store/codec.js';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { ResourceStore } from '../../src/store/resources.js';
import { storeMigrations } from '../../src/store/schema.js';
import { testDbKinds } from '../support/db.js';
import { ids, put, sorted, T1, T2 } from './helpers.js';

const UHID = 'urn:sushruta:uhid';
const ABHA = 'https://healthid.abdm.gov.in';

type P = AnyResource & { id: string };
const patient = (id: string, given: string, family: string, extra: Record<string, unknown> = {}): P =>
  ({ resourceType: 'Patient', id, name: [{ given: [given], family }], ...extra }) as P;

const PATIENTS: P[] = [
  patient('p1', 'Ravi', 'Shankar', {
    telecom: [
      { system: 'phone', value: '+91 98100 00001' },
      { system: 'email', value: 'Ravi.Shankar@Example.in' },
    ],
    identifier: [
      { system: UHID, value: 'AIIMS-2024-000123' },
      { system: ABHA, value: '91-1234-5678-9012' },
    ],
    birthDate: '1984-11-02',
    address: [{ line: ['12 Anna Salai'], city: 'Chennai', postalCode: '600002' }],
  }),
  patient('p2', 'श्रीनिवास', 'अय्यर', { birthDate: '1984-03-15', telecom: [{ system: 'phone', value: '09810000002' }] }),
  patient('p3', 'Mohammad', 'Choudhary', { birthDate: '1990' }),
  patient('p4', 'Muhammad', 'Sharma', { birthDate: '1984-11-20', identifier: [{ system: ABHA, value: '91987654321098' }] }),
  patient('p5', 'Mohd', 'Chaudhari'),
  patient('p6', 'Lakshmi', 'Sarma'),
  patient('p7', 'Laxmi', 'Iyer'),
  patient('p8', 'राम', 'शर्मा'),
  patient('p9', 'Srinivas', 'Raghavan', { identifier: [{ system: UHID, value: 'AIIMS-2024-000999' }] }),
];

/** Plaintext that must appear nowhere in the index: compared whole against every column, and as a substring when long. */
const SECRETS = [
  'Ravi',
  'Shankar',
  'Ravi Shankar',
  'श्रीनिवास',
  'अय्यर',
  'Mohammad',
  'Choudhary',
  'Muhammad',
  'Sharma',
  'Mohd',
  'Chaudhari',
  'Lakshmi',
  'Sarma',
  'Laxmi',
  'Iyer',
  'राम',
  'शर्मा',
  'Srinivas',
  'Raghavan',
  '+91 98100 00001',
  '9810000001',
  '09810000002',
  '9810000002',
  'Ravi.Shankar@Example.in',
  'AIIMS-2024-000123',
  '91-1234-5678-9012',
  '91123456789012',
  '91987654321098',
  '1984-11-02',
  '1984-11',
  '1984',
  '1990',
  '12 Anna Salai',
  'Anna Salai',
  'Chennai',
  '600002',
  // normalised forms, prefixes and phonetic keys
  'ravi shankar',
  'shankar ravi',
  'shan',
  'mhmd',
  'lksm',
  'srnvs',
];

function expectRefused(type: string, query: string, pattern: RegExp): void {
  let err: unknown;
  try {
    parseSearch(type, [...new URLSearchParams(query).entries()], { lenient: false, defaultCount: 50, maxCount: 100 });
  } catch (e) {
    err = e;
  }
  expect(err, query).toBeInstanceOf(FhirError);
  const f = err as FhirError;
  expect(f.status).toBe(400);
  expect(f.issues[0]?.code).toBe('not-supported');
  expect(f.issues[0]?.diagnostics).toMatch(pattern);
}

describe.each(testDbKinds())('blind indexes on $name', (kind) => {
  let db: Db;
  let ring: KeyRing;

  beforeAll(async () => {
    db = await kind.open();
    await migrate(db, [storeMigrations, searchMigrations, cryptoMigrations]);
    ring = await KeyRing.open(db, kekFromBytes(randomBytes(32)));
    await ring.preload(T1);
    await ring.preload(T2);
    setIndexValueTransform(blindIndexTransform(ring));
    await put(db, [
      ...PATIENTS,
      { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p1' } },
      {
        resourceType: 'Encounter',
        id: 'e2',
        status: 'finished',
        class: { code: 'AMB' },
        subject: { identifier: { system: ABHA, value: '91-9876-5432-1098' } },
      },
    ]);
    // The same person in another hospital.
    await put(db, [patient('q1', 'Ravi', 'Shankar', { birthDate: '1984-11-02', telecom: [{ system: 'phone', value: '9810000001' }] })], T2);
  });
  afterAll(async () => {
    setIndexValueTransform(identityTransform);
    await db?.close();
  });

  const find = async (query: string, type = 'Patient', tenant = T1) => sorted(await ids(db, type, query, tenant));

  it('finds by exact name', async () => {
    expect(await find('name:exact=Ravi Shankar')).toEqual(['p1']);
    expect(await find('family:exact=Shankar')).toEqual(['p1']);
    expect(await find('name:exact=ravi shankar')).toEqual([]); // :exact is case-sensitive
    expect(await find('given:exact=श्रीनिवास')).toEqual(['p2']);
  });

  it('finds by prefix of the name and of each word, Latin and Devanagari', async () => {
    expect(await find('name=shan')).toEqual(['p1']);
    expect(await find('name=Ravi Sh')).toEqual(['p1']);
    expect(await find('name=shankar ravi')).toEqual(['p1']); // family-first form
    expect(await find('family=SHAR')).toEqual(['p4']);
    expect(await find('name=sr')).toEqual(['p9']);
    expect(await find('name=श्री')).toEqual(['p2']);
    expect(await find('given=श्रीनि')).toEqual(['p2']);
    expect(await find('name=शर्')).toEqual(['p8']);
    expect(await find('address-city=chen')).toEqual(['p1']);
    expect(await find('address=12 anna sal')).toEqual(['p1']);
    expect(await find('address=sala')).toEqual(['p1']);
    // As with plain starts-with, several words match from the start of a stored value only.
    expect(await find('address=anna sal')).toEqual([]);
    expect(await find('address-postalcode=600')).toEqual(['p1']);
    expect(await find('name=shankarx')).toEqual([]);
    // Short prefixes (search_blind_short) and longer ones (search_blind) in one OR.
    expect(await find('family=sh,sarm')).toEqual(['p1', 'p4', 'p6']);
    expect(await find('given=mo')).toEqual(['p3', 'p5']);
    expect(await find('name:missing=false')).toHaveLength(PATIENTS.length);
  });

  it('finds spelling variants through the phonetic parameter', async () => {
    for (const q of ['Mohammad', 'Muhammad', 'Mohd']) expect([q, await find(`phonetic=${q}`)]).toEqual([q, ['p3', 'p4', 'p5']]);
    for (const q of ['Lakshmi', 'Laxmi']) expect([q, await find(`phonetic=${q}`)]).toEqual([q, ['p6', 'p7']]);
    for (const q of ['Sharma', 'Sarma', 'शर्मा']) expect([q, await find(`phonetic=${q}`)]).toEqual([q, ['p4', 'p6', 'p8']]);
    for (const q of ['Choudhary', 'Chaudhari']) expect([q, await find(`phonetic=${q}`)]).toEqual([q, ['p3', 'p5']]);
    // A Devanagari name finds its Latin spelling and the other way round.
    expect(await find('phonetic=श्रीनिवास')).toEqual(['p2', 'p9']);
    expect(await find('phonetic=Shrinivas')).toEqual(['p2', 'p9']);
    // Several words match the whole name.
    expect(await find('phonetic=Muhammad Chaudhary')).toEqual(['p3', 'p5']);
    expect(await find('phonetic=Mohd Sarma')).toEqual(['p4']);
  });

  it('finds phone numbers written in any format, and e-mail case-insensitively', async () => {
    for (const q of ['+91 98100 00001', '091-9810000001', '09810000001', '9810000001']) {
      expect([q, await find(`phone=${encodeURIComponent(q)}`)]).toEqual([q, ['p1']]);
      expect([q, await find(`telecom=${encodeURIComponent(q)}`)]).toEqual([q, ['p1']]);
    }
    expect(await find('telecom=phone|9810000002')).toEqual(['p2']);
    expect(await find('email=RAVI.SHANKAR@EXAMPLE.IN')).toEqual(['p1']);
    expect(await find('telecom=email|ravi.shankar@example.in')).toEqual(['p1']);
  });

  it('finds UHID and ABHA numbers (hyphenated and plain) with every token form', async () => {
    expect(await find(`identifier=${UHID}|AIIMS-2024-000123`)).toEqual(['p1']);
    expect(await find('identifier=AIIMS-2024-000123')).toEqual(['p1']);
    expect(await find('identifier=|AIIMS-2024-000123')).toEqual([]); // it has a system
    expect(await find(`identifier=${ABHA}|91123456789012`)).toEqual(['p1']);
    expect(await find(`identifier=${ABHA}|91-1234-5678-9012`)).toEqual(['p1']);
    expect(await find('identifier=9198-7654-3210-98')).toEqual(['p4']);
    expect(await find(`identifier=${ABHA}|`)).toEqual(['p1', 'p4']);
    expect(await find('identifier:not=AIIMS-2024-000123')).toEqual(['p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9']);
    expect(await find('identifier=AIIMS-2024-000123,AIIMS-2024-000999')).toEqual(['p1', 'p9']);
    // Logical references by identifier on other resources.
    expect(await find('subject:identifier=91987654321098', 'Encounter')).toEqual(['e2']);
  });

  it('finds by year, month or day of birth', async () => {
    expect(await find('birthdate=1984')).toEqual(['p1', 'p2', 'p4']);
    expect(await find('birthdate=1984-11')).toEqual(['p1', 'p4']);
    expect(await find('birthdate=1984-11-02')).toEqual(['p1']);
    expect(await find('birthdate=eq1984-11-02')).toEqual(['p1']);
    expect(await find('birthdate=1990')).toEqual(['p3']);
    expect(await find('birthdate=1990-01')).toEqual([]); // more precise than the stored value
    expect(await find('birthdate:missing=true')).toEqual(['p5', 'p6', 'p7', 'p8', 'p9']);
    expect(await find('subject:Patient.birthdate=1984-11-02', 'Encounter')).toEqual(['e1']);
    expect(await find('birthdate=1984&name=shan')).toEqual(['p1']);
  });

  it('refuses what a blind index cannot answer, saying why', async () => {
    expectRefused('Patient', 'name:contains=av', /name:contains.*keyed blind indexes.*prefix.*phonetic/);
    expectRefused('Patient', 'address:contains=salai', /keyed blind indexes/);
    expectRefused('Patient', '_sort=family', /cannot sort on 'family'.*keyed blind indexes/);
    expectRefused('Patient', '_sort=-birthdate', /cannot sort on 'birthdate'/);
    expectRefused('Patient', 'birthdate=gt1980', /year of birth, month or exact date/);
    expectRefused('Patient', 'birthdate=le1984-11-02', /year of birth, month or exact date/);
    expectRefused('Patient', 'phonetic=محمد', /Urdu/);
    expectRefused('Patient', 'phonetic:exact=Ravi', /phonetic/);
    expectRefused('Encounter', 'subject:Patient.name:contains=av', /keyed blind indexes/);
    // Plain parameters keep sorting and ranges.
    expect(await find('_sort=-_lastUpdated&_count=1')).toHaveLength(1);
  });

  it('stores no personal plaintext in any search_* table', async () => {
    const needles = SECRETS.flatMap((s) => [s, s.toLowerCase(), s.normalize('NFC').toLowerCase()]);
    const cells: string[] = [];
    for (const t of INDEX_TABLES) {
      const res = await db.query<Record<string, unknown>>(`SELECT * FROM ${t}`);
      for (const row of res.rows)
        for (const v of Object.values(row)) {
          if (Array.isArray(v)) for (const e of v) cells.push(String(e));
          else if (v !== null && v !== undefined) cells.push(String(v));
        }
    }
    expect(cells.length).toBeGreaterThan(200);
    const lowered = cells.map((c) => c.toLowerCase());
    for (const n of needles) {
      const ln = n.toLowerCase();
      // Whole-cell equality for every needle; substring for needles too long to occur by chance in
      // an 11-character base64url digest. A 64-bit term printed as ~19 decimal digits holds any
      // 6-digit number (a PIN code) with a chance of ~1 in 70,000 per row: a digit-only needle in a
      // number cell counts only as the whole cell.
      const digits = /^\d+$/.test(ln);
      const hit = lowered.find((c) => c === ln || (ln.length >= 6 && !(digits && /^-?\d+$/.test(c)) && c.includes(ln)));
      expect([n, hit]).toEqual([n, undefined]);
    }
    // The birth date has no date row; every string is a blind term (no search_string row at all).
    const dates = await db.query(`SELECT 1 FROM search_date WHERE code = 'birthdate'`);
    expect(dates.rows).toHaveLength(0);
    const plain = await db.query(`SELECT 1 FROM search_string WHERE key_version IS NULL`);
    expect(plain.rows).toHaveLength(0);
  });

  it('stores prefixes of up to 3 code points as rows of their own, longer ones and the exact form in the array', async () => {
    // family "Sharma": sh, sha are short; shar, sharm, sharma and the exact term share one array.
    const short = await db.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM search_blind_short WHERE tenant_id = $1 AND resource_id = 'p4' AND code = 'family'`,
      [T1],
    );
    expect(Number(short.rows[0]?.n)).toBe(2);
    const long = await db.query<{ n: string | number }>(
      `SELECT sum(cardinality(terms)) AS n FROM search_blind WHERE tenant_id = $1 AND resource_id = 'p4' AND code = 'family'`,
      [T1],
    );
    expect(Number(long.rows[0]?.n)).toBe(4);
    // The single short prefix is one B-tree equality, so the first page comes in id order from the index.
    const { search } = parseSearch('Patient', [['family', 'sh']], { lenient: false, defaultCount: 20, maxCount: 100 });
    const rec: string[] = [];
    await executeSearch(
      {
        query: async (text: string) => {
          rec.push(text);
          return { rows: [], rowCount: 0 };
        },
      },
      new ResourceStore(T1, plainCodec),
      search,
    );
    expect(rec[0]).toMatch(/FROM search_blind_short s\d+ WHERE .* AND \(s\d+\.term = \$\d+::bigint\)/);
    expect(rec[0]).not.toMatch(/search_blind s\d/);
  });

  it('keeps B-tree rows for the short prefixes of person names only; an address prefix of 2-3 letters is found in the array', async () => {
    const codes = await db.query<{ code: string }>('SELECT DISTINCT code FROM search_blind_short WHERE tenant_id = $1 ORDER BY code', [T1]);
    expect(codes.rows.map((r) => r.code).every((c) => ['family', 'given', 'name'].includes(c))).toBe(true);
    expect(codes.rows.length).toBeGreaterThan(0);
    expect(await find('address-city=ch')).toEqual(['p1']);
    expect(await find('address-city=che')).toEqual(['p1']);
    expect(await find('address=sa')).toEqual(['p1']);
  });

  it('keeps tenants apart: same name, different hashes, no cross-tenant match', async () => {
    expect(await find('name=shankar', 'Patient', T2)).toEqual(['q1']);
    expect(await find('phone=+919810000001', 'Patient', T2)).toEqual(['q1']);
    expect(await find('birthdate=1984-11-02', 'Patient', T2)).toEqual(['q1']);
    expect(await find('name=shankar')).toEqual(['p1']);
    const hashes = async (tenant: string, id: string) =>
      new Set(
        (
          await db.query<{ v: string }>(
            `SELECT unnest(terms)::text AS v FROM search_blind WHERE tenant_id = $1 AND resource_id = $2
             UNION SELECT term::text FROM search_blind_short WHERE tenant_id = $1 AND resource_id = $2
             UNION SELECT value FROM search_token WHERE tenant_id = $1 AND resource_id = $2 AND key_version IS NOT NULL`,
            [tenant, id],
          )
        ).rows.map((r) => r.v),
      );
    const a = await hashes(T1, 'p1');
    const b = await hashes(T2, 'q1');
    expect(b.size).toBeGreaterThan(20);
    expect([...b].filter((h) => a.has(h))).toEqual([]);
  });

  it('keeps searching through an index-key rotation and a re-index, then drops the old version', async () => {
    const store = new ResourceStore(T1, plainCodec);
    const before = await countRowsUnderIndexKeyVersionsBelow(db, T1, 2);
    expect(before).toBeGreaterThan(30); // one search_blind row per protected parameter, plus blind token rows
    const v2 = await ring.rotate(T1, 'index');
    expect(v2).toBe(2);
    await ring.preload(T1);
    // Old rows (v1) are still found; a new write goes under v2 and is found too.
    await put(db, [patient('p10', 'Ravindra', 'Nath', { birthDate: '1984-11-02' })]);
    const v2rows = await db.query<{ v: number }>(
      `SELECT DISTINCT key_version AS v FROM search_blind WHERE tenant_id = $1 AND resource_id = 'p10'
       UNION SELECT DISTINCT key_version FROM search_token WHERE tenant_id = $1 AND resource_id = 'p10' AND key_version IS NOT NULL`,
      [T1],
    );
    expect(v2rows.rows.map((r) => Number(r.v))).toEqual([2]);
    expect(await find('name=ravi')).toEqual(['p1', 'p10']);
    expect(await find('birthdate=1984-11-02')).toEqual(['p1', 'p10']);
    expect(await find('identifier=91-1234-5678-9012')).toEqual(['p1']);
    expect(await find('phonetic=Laxmi')).toEqual(['p6', 'p7']);
    expect(await countRowsUnderIndexKeyVersionsBelow(db, T1, 2)).toBe(before);
    // The other tenant is untouched.
    expect(await countRowsUnderIndexKeyVersionsBelow(db, T2, 2)).toBeGreaterThan(0);

    // Re-index every resource through the maintenance API (batches of 3), as the rebuild job does.
    const maint = searchIndexMaintenance(store);
    let after: string | undefined;
    let total = 0;
    for (;;) {
      const r = await maint.reindexBatch(db, after, 3);
      total += r.count;
      if (r.last === undefined) break;
      after = r.last;
    }
    expect(total).toBe(PATIENTS.length + 3); // 10 patients, 2 encounters
    expect(await maint.countResources(db)).toBe(total);
    expect(await maint.countBelow(db, 2)).toBe(0);
    expect(await resourcesUnderIndexKeyVersionsBelow(db, T1, 2)).toEqual([]);
    expect(await indexKeyVersionsInUse(db, T1)).toEqual([{ version: 2, rows: expect.any(Number) }]);
    expect(await deleteRowsUnderIndexKeyVersionsBelow(db, T1, 2)).toBe(0);
    const old = await db.query(
      `SELECT 1 FROM search_string WHERE tenant_id = $1 AND key_version < 2
      UNION ALL SELECT 1 FROM search_token WHERE tenant_id = $1 AND key_version < 2
      UNION ALL SELECT 1 FROM search_blind WHERE tenant_id = $1 AND key_version < 2
      UNION ALL SELECT 1 FROM search_blind_short WHERE tenant_id = $1 AND key_version < 2`,
      [T1],
    );
    expect(old.rows).toHaveLength(0);

    // Searches still work after the old rows are gone.
    expect(await find('name=ravi')).toEqual(['p1', 'p10']);
    expect(await find('name:exact=Ravi Shankar')).toEqual(['p1']);
    expect(await find('phonetic=Mohd')).toEqual(['p3', 'p4', 'p5']);
    expect(await find('phone=09810000001')).toEqual(['p1']);
    expect(await find('identifier=91123456789012')).toEqual(['p1']);
    expect(await find('birthdate=1984')).toEqual(['p1', 'p10', 'p2', 'p4']);
    expect(await find('name=shankar', 'Patient', T2)).toEqual(['q1']);
  });

  it('lists, deletes and repairs rows left under an old version', async () => {
    // Tenant 2 still has only version-1 rows.
    const left = await resourcesUnderIndexKeyVersionsBelow(db, T2, 2);
    expect(left).toEqual([{ resourceType: 'Patient', id: 'q1' }]);
    const n = await countRowsUnderIndexKeyVersionsBelow(db, T2, 2);
    expect(await deleteRowsUnderIndexKeyVersionsBelow(db, T2, 2)).toBe(n);
    expect(await find('name=shankar', 'Patient', T2)).toEqual([]); // not re-indexed: not found
    const store = new ResourceStore(T2, plainCodec);
    await db.transaction(async (tx) => {
      const q1 = await store.current(tx, 'Patient', 'q1');
      await reindexResource(tx, T2, { ...(q1?.resource as P), id: 'q1' });
    });
    expect(await find('name=shankar', 'Patient', T2)).toEqual(['q1']);
    expect(await find('name=shankar')).toEqual(['p1']);
  });

  it('re-indexes a tenant that migration search/005 recorded, resumably, before it serves', async () => {
    // As an older version left it: the short prefixes are not rows of search_blind_short.
    await db.query('DELETE FROM search_blind_short WHERE tenant_id = $1', [T2]);
    await db.query(`INSERT INTO search_reindex_pending (tenant_id, reason) VALUES ($1, 'search/005-blind-short-prefixes')`, [T2]);
    expect(await find('name=ra', 'Patient', T2)).toEqual([]);
    const seen: number[] = [];
    const n = await finishPendingReindex(db, new ResourceStore(T2, plainCodec), (p) => seen.push(p.done));
    expect(n).toBe(1);
    expect(seen).toEqual([0, 1]);
    expect(await find('name=ra', 'Patient', T2)).toEqual(['q1']);
    expect((await db.query('SELECT 1 FROM search_reindex_pending WHERE tenant_id = $1', [T2])).rows).toHaveLength(0);
    // Nothing left to do: a second start re-indexes nothing, and tenant 1 was never pending.
    expect(await finishPendingReindex(db, new ResourceStore(T2, plainCodec))).toBe(0);
    expect(await finishPendingReindex(db, new ResourceStore(T1, plainCodec))).toBe(0);
  });
});
