import type { Observation } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { FhirError } from '../../src/fhir/outcome.js';
import { testDbKinds } from '../support/db.js';
import { ids, openSearchDb, put, search, sorted, T2 } from './helpers.js';

const LOINC = 'http://loinc.org';
const UHID = 'urn:uhid:aiims';
const ABHA = 'https://healthid.ndhm.gov.in';
const V2 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

/** A blood pressure panel: the systolic and diastolic values live in separate components. */
function bp(id: string, systolic: number, diastolic: number): Observation & { id: string } {
  const comp = (code: string, value: number) => ({
    code: { coding: [{ system: LOINC, code }] },
    valueQuantity: { value, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
  });
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: LOINC, code: '85354-9' }] },
    component: [comp('8480-6', systolic), comp('8462-4', diastolic)],
  };
}

describe.each(testDbKinds())('search on $name', (kind) => {
  let db: Db;
  beforeAll(async () => {
    db = await openSearchDb(kind);
    await put(db, [
      { resourceType: 'Organization', id: 'org1', name: 'AIIMS New Delhi' },
      { resourceType: 'Practitioner', id: 'dr1', name: [{ family: 'Gupta', given: ['Anil'] }] },
      {
        resourceType: 'Patient',
        id: 'p1',
        identifier: [
          { system: UHID, value: 'U-1001' },
          { type: { coding: [{ system: V2, code: 'MR' }], text: 'ABHA number' }, system: ABHA, value: '91-1234-5678-9012' },
        ],
        name: [{ family: 'Sharma', given: ['Ram'] }],
        gender: 'male',
        birthDate: '1980-02-15',
        active: true,
        telecom: [
          { system: 'phone', value: '+91-98100-00001' },
          { system: 'email', value: 'Ram@Example.org' },
        ],
        address: [{ city: 'New Delhi', postalCode: '110029' }],
        managingOrganization: { reference: 'Organization/org1' },
        generalPractitioner: [{ reference: 'Practitioner/dr1' }],
      },
      {
        resourceType: 'Patient',
        id: 'p2',
        identifier: [{ system: UHID, value: 'U-1002' }],
        name: [{ family: 'श्रीनिवास', given: ['राम'] }],
        gender: 'female',
        birthDate: '1980-03',
        active: false,
      },
      { resourceType: 'Patient', id: 'p3', name: [{ family: 'García', given: ['José'] }], gender: 'male', birthDate: '1995' },
      { resourceType: 'Patient', id: 'p4', name: [{ family: 'Zoë', given: ['Anna'] }], deceasedBoolean: false },
      {
        resourceType: 'Observation',
        id: 'o1',
        status: 'final',
        code: { coding: [{ system: LOINC, code: '2345-7', display: 'Glucose' }] },
        subject: { reference: 'Patient/p1' },
        performer: [{ reference: 'Practitioner/dr1' }],
        effectiveDateTime: '2024-03-01T10:00:00Z',
        valueQuantity: { value: 5.4, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
      },
      {
        resourceType: 'Observation',
        id: 'o2',
        status: 'final',
        code: { coding: [{ system: LOINC, code: '718-7' }] },
        subject: { reference: 'Patient/p2' },
        effectivePeriod: { start: '2024-03-02', end: '2024-03-04' },
        valueQuantity: { value: 100, unit: 'g/L', system: 'http://unitsofmeasure.org', code: 'g/L' },
      },
      {
        resourceType: 'Observation',
        id: 'o3',
        status: 'preliminary',
        code: { coding: [{ system: LOINC, code: '2345-7' }] },
        subject: { reference: 'http://elsewhere.example/fhir/Patient/p3' },
        effectiveDateTime: '2023',
        valueQuantity: { value: 7.9, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
      },
      {
        resourceType: 'Encounter',
        id: 'e1',
        status: 'finished',
        class: { code: 'AMB' },
        subject: { identifier: { system: ABHA, value: '91-1234-5678-9012' } },
      },
      bp('bp1', 150, 95),
      bp('bp2', 110, 150),
      {
        resourceType: 'RiskAssessment',
        id: 'ra1',
        status: 'final',
        subject: { reference: 'Patient/p1' },
        prediction: [{ probabilityDecimal: 0.25 }],
      },
      { resourceType: 'ValueSet', id: 'vs1', status: 'active', url: 'http://acme.org/fhir/ValueSet/123' },
      { resourceType: 'ValueSet', id: 'vs2', status: 'active', url: 'http://acme.org/fhir/ValueSet/123/x' },
    ]);
    // Another hospital with look-alike data: must never leak into tenant t1's results.
    await put(
      db,
      [
        {
          resourceType: 'Patient',
          id: 'p1',
          name: [{ family: 'Sharma' }],
          gender: 'male',
          identifier: [{ system: UHID, value: 'U-1001' }],
        },
        { resourceType: 'Patient', id: 'x9', name: [{ family: 'Sharma' }], gender: 'male', birthDate: '1980-02-15' },
        {
          resourceType: 'Observation',
          id: 'ox',
          status: 'final',
          code: { coding: [{ system: LOINC, code: '2345-7' }] },
          subject: { reference: 'Patient/p1' },
        },
      ],
      T2,
    );
  });
  afterAll(async () => db?.close());

  describe('string', () => {
    it('starts-with, case and accent insensitive', async () => {
      expect(await ids(db, 'Patient', 'name=shar')).toEqual(['p1']);
      expect(await ids(db, 'Patient', 'family=garcia')).toEqual(['p3']);
      expect(await ids(db, 'Patient', 'given=jose')).toEqual(['p3']);
      expect(await ids(db, 'Patient', 'name=ZOE')).toEqual(['p4']);
      expect(await ids(db, 'Patient', 'name=ram sharma')).toEqual(['p1']);
      expect(await ids(db, 'Patient', 'name=harma')).toEqual([]);
    });
    it('matches Devanagari names, NFC or NFD, and not with stripped vowel signs', async () => {
      expect(await ids(db, 'Patient', `name=${encodeURIComponent('श्रीनि')}`)).toEqual(['p2']);
      expect(await ids(db, 'Patient', `family=${encodeURIComponent('श्रीनिवास'.normalize('NFD'))}`)).toEqual(['p2']);
      expect(await ids(db, 'Patient', `name=${encodeURIComponent('शरनवस')}`)).toEqual([]);
      expect(await ids(db, 'Patient', `given=${encodeURIComponent('राम')}`)).toEqual(['p2']);
    });
    it(':exact and :contains', async () => {
      expect(await ids(db, 'Patient', 'family:exact=García')).toEqual(['p3']);
      expect(await ids(db, 'Patient', 'family:exact=garcia')).toEqual([]);
      expect(await ids(db, 'Patient', 'family:contains=ARM')).toEqual(['p1']);
    });
    it('OR by comma, AND by repetition', async () => {
      expect(sorted(await ids(db, 'Patient', 'name=sharma,garcia'))).toEqual(['p1', 'p3']);
      expect(await ids(db, 'Patient', 'name=sharma&name=ram')).toEqual(['p1']);
      expect(await ids(db, 'Patient', 'name=sharma&name=jose')).toEqual([]);
    });
    it(':missing', async () => {
      expect(await ids(db, 'Patient', 'address-city:missing=false')).toEqual(['p1']);
      expect(sorted(await ids(db, 'Patient', 'address-city:missing=true'))).toEqual(['p2', 'p3', 'p4']);
    });
  });

  describe('token', () => {
    it('code, system|code, |code, system|', async () => {
      expect(await ids(db, 'Patient', 'gender=female')).toEqual(['p2']);
      expect(await ids(db, 'Patient', `identifier=${UHID}|U-1001`)).toEqual(['p1']);
      expect(await ids(db, 'Patient', 'identifier=U-1002')).toEqual(['p2']);
      expect(await ids(db, 'Patient', 'identifier=urn:other|U-1001')).toEqual([]);
      expect(sorted(await ids(db, 'Patient', `identifier=${UHID}|`))).toEqual(['p1', 'p2']);
      expect(await ids(db, 'Patient', 'gender=|male')).toEqual(['p1', 'p3']);
      expect(sorted(await ids(db, 'Observation', `code=${LOINC}|2345-7`))).toEqual(['o1', 'o3']);
    });
    it('booleans, ContactPoint and :not', async () => {
      expect(await ids(db, 'Patient', 'active=true')).toEqual(['p1']);
      expect(await ids(db, 'Patient', 'active=false')).toEqual(['p2']);
      expect(await ids(db, 'Patient', `phone=${encodeURIComponent('+91-98100-00001')}`)).toEqual(['p1']);
      expect(await ids(db, 'Patient', 'email=ram@example.org')).toEqual(['p1']);
      expect(await ids(db, 'Patient', 'email=RAM@EXAMPLE.ORG')).toEqual(['p1']);
      expect(sorted(await ids(db, 'Patient', 'gender:not=male'))).toEqual(['p2', 'p4']);
      // R4 defines deceased as `deceased.exists() and deceased != false`: absent counts as false.
      expect(await ids(db, 'Patient', 'deceased=false')).toEqual(['p1', 'p2', 'p3', 'p4']);
      expect(await ids(db, 'Patient', 'deceased=true')).toEqual([]);
    });
    it(':text, :of-type and reference :identifier', async () => {
      expect(await ids(db, 'Observation', 'code:text=gluc')).toEqual(['o1']);
      expect(await ids(db, 'Patient', 'identifier:text=abha')).toEqual(['p1']);
      expect(await ids(db, 'Patient', `identifier:of-type=${V2}|MR|91-1234-5678-9012`)).toEqual(['p1']);
      expect(await ids(db, 'Patient', `identifier:of-type=${V2}|MR|U-1001`)).toEqual([]);
      expect(await ids(db, 'Encounter', `subject:identifier=${ABHA}|91-1234-5678-9012`)).toEqual(['e1']);
      expect(await ids(db, 'Encounter', 'subject:identifier=91-1234-5678-9012')).toEqual(['e1']);
      expect(await ids(db, 'Encounter', 'subject:identifier=other')).toEqual([]);
    });
    it('_id', async () => {
      expect(sorted(await ids(db, 'Patient', '_id=p1,p3,nope'))).toEqual(['p1', 'p3']);
      expect(sorted(await ids(db, 'Patient', '_id:not=p1'))).toEqual(['p2', 'p3', 'p4']);
    });
  });

  describe('reference', () => {
    it('id, Type/id, :Type, absolute URL, :missing', async () => {
      expect(await ids(db, 'Observation', 'subject=Patient/p1')).toEqual(['o1']);
      expect(await ids(db, 'Observation', 'subject=p2')).toEqual(['o2']);
      expect(await ids(db, 'Observation', 'subject:Patient=p1')).toEqual(['o1']);
      expect(await ids(db, 'Observation', 'subject:Group=p1')).toEqual([]);
      expect(await ids(db, 'Observation', 'patient=Patient/p1')).toEqual(['o1']);
      expect(await ids(db, 'Observation', 'subject=http://elsewhere.example/fhir/Patient/p3')).toEqual(['o3']);
      expect(await ids(db, 'Observation', 'performer:missing=false')).toEqual(['o1']);
      expect(await ids(db, 'Patient', 'organization=Organization/org1')).toEqual(['p1']);
    });
  });

  describe('date', () => {
    const q = (v: string) => ids(db, 'Patient', `birthdate=${encodeURIComponent(v)}`).then(sorted);
    it('precision ranges with eq', async () => {
      expect(await q('1980')).toEqual(['p1', 'p2']);
      expect(await q('1980-02')).toEqual(['p1']);
      expect(await q('1980-02-15')).toEqual(['p1']);
      // A stored month does not lie within a searched day.
      expect(await q('1980-03-10')).toEqual([]);
      expect(await q('1995-06')).toEqual([]);
    });
    it('every prefix', async () => {
      expect(await q('ne1980')).toEqual(['p3']);
      expect(await q('gt1980-02-15')).toEqual(['p2', 'p3']);
      expect(await q('lt1980-03-01')).toEqual(['p1']);
      expect(await q('ge1980-03')).toEqual(['p2', 'p3']);
      expect(await q('le1980-03')).toEqual(['p1', 'p2']);
      expect(await q('sa1980-12-31')).toEqual(['p3']);
      expect(await q('eb1980-03-01')).toEqual(['p1']);
      // ap widens by 10% of the distance from now, so decades-old dates are fuzzy by years.
      expect(await q('ap1980-02-14')).toEqual(['p1', 'p2']);
      expect(await ids(db, 'Patient', 'birthdate=ge1980-02-15&birthdate=le1980-02-15')).toEqual(['p1']);
    });
    it('dateTime and Period values on Observation', async () => {
      const o = (v: string) => ids(db, 'Observation', `date=${encodeURIComponent(v)}`).then(sorted);
      expect(await o('2024-03-01')).toEqual(['o1']);
      expect(await o('2024-03')).toEqual(['o1', 'o2']);
      expect(await o('2024-03-03')).toEqual([]); // a 3-day period is not within one day
      expect(await o('ge2024-03-03')).toEqual(['o2']); // but it overlaps the range above
      expect(await o('2024-03-01T15:30:00+05:30')).toEqual(['o1']);
      expect(await o('lt2024')).toEqual(['o3']);
      expect(await o('sa2024-03-01')).toEqual(['o2']);
    });
    it('_lastUpdated uses the resource column', async () => {
      const all = await search(db, 'Patient', '_sort=_lastUpdated');
      const p1 = all.matches.find((m) => m.id === 'p1');
      expect(p1).toBeDefined();
      const at = (p1 as { lastUpdated: Date }).lastUpdated.toISOString();
      expect(await ids(db, 'Patient', `_lastUpdated=${encodeURIComponent(at)}`)).toEqual(['p1']);
      expect(await ids(db, 'Patient', `_lastUpdated=gt${encodeURIComponent(at)}&_sort=_lastUpdated`)).toEqual(['p2', 'p3', 'p4']);
    });
  });

  describe('number and quantity', () => {
    it('number with precision and prefixes', async () => {
      expect(await ids(db, 'RiskAssessment', 'probability=0.25')).toEqual(['ra1']);
      expect(await ids(db, 'RiskAssessment', 'probability=0.3')).toEqual(['ra1']); // 0.3 means [0.25, 0.35)
      expect(await ids(db, 'RiskAssessment', 'probability=0.30')).toEqual([]);
      expect(await ids(db, 'RiskAssessment', 'probability=gt0.2')).toEqual(['ra1']);
      expect(await ids(db, 'RiskAssessment', 'probability=lt0.2')).toEqual([]);
      expect(await ids(db, 'RiskAssessment', 'probability=ap0.24')).toEqual(['ra1']);
    });
    it('quantity value|system|code with prefixes', async () => {
      const o = (v: string) => ids(db, 'Observation', `value-quantity=${encodeURIComponent(v)}`).then(sorted);
      expect(await o('5.4|http://unitsofmeasure.org|mmol/L')).toEqual(['o1']);
      expect(await o('gt5|http://unitsofmeasure.org|mmol/L')).toEqual(['o1', 'o3']);
      expect(await o('lt6||mmol/L')).toEqual(['o1']);
      expect(await o('100')).toEqual(['o2']);
      expect(await o('ge7.9')).toEqual(['o2', 'o3']);
      expect(await o('5.4|http://unitsofmeasure.org|g/L')).toEqual([]);
      expect(await o('ne5.4')).toEqual(['o2', 'o3']);
    });
  });

  describe('composite', () => {
    it('matches components of the same element together', async () => {
      const o = (q: string) => ids(db, 'Observation', q).then(sorted);
      expect(await o(`code-value-quantity=${LOINC}|2345-7$gt5`)).toEqual(['o1', 'o3']);
      expect(await o(`code-value-quantity=2345-7$lt6`)).toEqual(['o1']);
      expect(await o(`code-value-quantity=2345-7$lt6,718-7$100`)).toEqual(['o1', 'o2']);
      // bp2 has a value above 140, but in its diastolic component: it must not match.
      expect(await o(`component-code-value-quantity=${LOINC}|8480-6$gt140`)).toEqual(['bp1']);
      expect(await o(`component-code-value-quantity=${LOINC}|8462-4$gt140`)).toEqual(['bp2']);
      expect(await o(`component-code-value-quantity=8480-6$gt100&component-code-value-quantity=8462-4$lt100`)).toEqual(['bp1']);
    });
  });

  describe('uri', () => {
    it('exact, :below, :above', async () => {
      expect(await ids(db, 'ValueSet', 'url=http://acme.org/fhir/ValueSet/123')).toEqual(['vs1']);
      expect(sorted(await ids(db, 'ValueSet', 'url:below=http://acme.org/fhir/'))).toEqual(['vs1', 'vs2']);
      expect(await ids(db, 'ValueSet', 'url:above=http://acme.org/fhir/ValueSet/123/_history/5')).toEqual(['vs1']);
    });
  });

  describe('chaining and _has', () => {
    it('chains one level', async () => {
      expect(await ids(db, 'Observation', 'subject:Patient.name=sharma')).toEqual(['o1']);
      expect(await ids(db, 'Observation', 'patient.name=sharma')).toEqual(['o1']);
      expect(await ids(db, 'Observation', `patient.identifier=${UHID}|U-1002`)).toEqual(['o2']);
      expect(await ids(db, 'Patient', 'organization.name=aiims')).toEqual(['p1']);
    });
    it('rejects an ambiguous chain', async () => {
      await expect(search(db, 'Observation', 'subject.name=sharma')).rejects.toMatchObject({ status: 400 });
    });
    it('reverse chains with _has', async () => {
      expect(await ids(db, 'Patient', `_has:Observation:patient:code=2345-7`)).toEqual(['p1']);
      expect(await ids(db, 'Patient', `_has:Observation:subject:status=final`)).toEqual(['p1', 'p2']);
      expect(await ids(db, 'Practitioner', `_has:Observation:performer:subject:Patient.name=sharma`)).toEqual(['dr1']);
    });
  });

  describe('tenant isolation', () => {
    it('never matches another tenant’s rows', async () => {
      expect(await ids(db, 'Patient', 'name=sharma')).toEqual(['p1']);
      expect(sorted(await ids(db, 'Patient', 'name=sharma', T2))).toEqual(['p1', 'x9']);
      expect(await ids(db, 'Patient', 'birthdate=1980-02-15', T2)).toEqual(['x9']);
      expect(await ids(db, 'Observation', 'code=2345-7', T2)).toEqual(['ox']);
      expect(await ids(db, 'Patient', '_has:Observation:patient:code=2345-7', T2)).toEqual(['p1']);
      const inc = await search(db, 'Observation', '_include=Observation:subject', T2);
      expect(inc.included.map((r) => r.resource)).toEqual([expect.objectContaining({ id: 'p1', name: [{ family: 'Sharma' }] })]);
      // The include is t2's Patient/p1, not t1's (which has a birth date).
      const included = inc.included[0]?.resource as { gender?: string; birthDate?: string } | undefined;
      expect(included?.gender).toBe('male');
      expect(included?.birthDate).toBeUndefined();
    });
  });

  describe('_include and _revinclude', () => {
    it('includes referenced resources', async () => {
      const page = await search(db, 'Observation', '_id=o1&_include=Observation:subject&_include=Observation:performer');
      expect(page.matches.map((m) => m.id)).toEqual(['o1']);
      expect(sorted(page.included.map((m) => `${m.resourceType}/${m.id}`))).toEqual(['Patient/p1', 'Practitioner/dr1']);
      const typed = await search(db, 'Observation', '_id=o1&_include=Observation:*:Practitioner');
      expect(typed.included.map((m) => `${m.resourceType}/${m.id}`)).toEqual(['Practitioner/dr1']);
    });
    it('revincludes and iterates one level', async () => {
      const page = await search(db, 'Patient', '_id=p1&_revinclude=Observation:subject');
      expect(page.included.map((m) => m.id)).toEqual(['o1']);
      const it2 = await search(db, 'Patient', '_id=p1&_revinclude=Observation:subject&_include:iterate=Observation:performer');
      expect(sorted(it2.included.map((m) => `${m.resourceType}/${m.id}`))).toEqual(['Observation/o1', 'Practitioner/dr1']);
    });
  });

  describe('sorting, counting, projection', () => {
    it('sorts by several keys, missing values last', async () => {
      expect(await ids(db, 'Patient', '_sort=birthdate')).toEqual(['p1', 'p2', 'p3', 'p4']);
      expect(await ids(db, 'Patient', '_sort=-birthdate')).toEqual(['p3', 'p2', 'p1', 'p4']);
      expect(await ids(db, 'Patient', '_sort=gender,-_id')).toEqual(['p2', 'p3', 'p1', 'p4']);
      expect(await ids(db, 'Patient', '_sort=family')).toEqual(['p3', 'p1', 'p4', 'p2']);
      expect(await ids(db, 'Patient', '_sort=-_id')).toEqual(['p4', 'p3', 'p2', 'p1']);
    });
    it('_summary=count and _total', async () => {
      const c = await search(db, 'Patient', 'gender=male&_summary=count');
      expect(c.matches).toEqual([]);
      expect(c.total).toBe(2);
      const t = await search(db, 'Patient', '_count=1&_total=accurate');
      expect(t.matches).toHaveLength(1);
      expect(t.total).toBe(4);
      const none = await search(db, 'Patient', '_count=1');
      expect(none.total).toBeUndefined();
      const zero = await search(db, 'Patient', '_count=0&_total=accurate');
      expect(zero.matches).toEqual([]);
      expect(zero.total).toBe(4);
    });
    it('lenient ignores unknown parameters with a warning; strict rejects them', async () => {
      const params: [string, string][] = [
        ['nonsense', 'x'],
        ['name', 'sharma'],
      ];
      const { parseSearch } = await import('../../src/fhir/search/index.js');
      const opts = { defaultCount: 10, maxCount: 100 };
      const { search: s, warnings } = parseSearch('Patient', params, { ...opts, lenient: true });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.expression).toEqual(['nonsense']);
      expect(s.clauses).toHaveLength(1);
      expect(() => parseSearch('Patient', params, { ...opts, lenient: false })).toThrow(FhirError);
    });
    it('indexes a resource with more values than one statement can carry', async () => {
      const many = Array.from({ length: 12_000 }, (_, i) => ({ system: 'urn:bulk', value: `B${i}` }));
      await put(db, [{ resourceType: 'Patient', id: 'bulk', identifier: many }]);
      expect(await ids(db, 'Patient', 'identifier=urn:bulk|B11999')).toEqual(['bulk']);
      expect(await ids(db, 'Patient', 'identifier=urn:bulk|B0')).toEqual(['bulk']);
      await put(db, [{ resourceType: 'Patient', id: 'bulk' }], undefined, true);
      expect(await ids(db, 'Patient', 'identifier=urn:bulk|B0')).toEqual([]);
    });
    it('excludes deleted resources', async () => {
      await put(db, [{ resourceType: 'Patient', id: 'gone', name: [{ family: 'Sharmaji' }] }]);
      expect(sorted(await ids(db, 'Patient', 'name=sharma'))).toEqual(['gone', 'p1']);
      await put(db, [{ resourceType: 'Patient', id: 'gone', name: [{ family: 'Sharmaji' }] }], undefined, true);
      expect(await ids(db, 'Patient', 'name=sharma')).toEqual(['p1']);
    });
  });
});
