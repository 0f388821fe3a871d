import { describe, expect, it } from 'vitest';
import { FhirError } from '../../src/fhir/outcome.js';
import { applyProjection, parseSearch } from '../../src/fhir/search/index.js';
import type { AnyResource } from '../../src/fhir/types.js';

const strict = { lenient: false, defaultCount: 20, maxCount: 100 };
const lenient = { ...strict, lenient: true };
const parse = (type: string, q: string, opts = strict) => parseSearch(type, [...new URLSearchParams(q).entries()], opts);

function rejects(type: string, q: string, expression: string, code?: string): void {
  try {
    parse(type, q);
  } catch (err) {
    expect(err).toBeInstanceOf(FhirError);
    const e = err as FhirError;
    expect(e.status).toBe(400);
    expect(e.issues[0]?.expression).toEqual([expression]);
    if (code) expect(e.issues[0]?.code).toBe(code);
    return;
  }
  throw new Error(`expected ${q} to be rejected`);
}

describe('parseSearch', () => {
  it('resolves parameters from the R4 definitions for every required type', () => {
    const types = [
      ['Patient', 'identifier=x'],
      ['Practitioner', 'name=x'],
      ['PractitionerRole', 'practitioner=Practitioner/1'],
      ['Organization', 'name=x'],
      ['Location', 'name=x'],
      ['HealthcareService', 'organization=Organization/1'],
      ['Schedule', 'actor=Practitioner/1'],
      ['Slot', 'start=ge2024-01-01'],
      ['Appointment', 'date=2024-01-01'],
      ['Encounter', 'class=AMB'],
      ['EpisodeOfCare', 'patient=Patient/1'],
      ['Condition', 'code=I10'],
      ['AllergyIntolerance', 'clinical-status=active'],
      ['Observation', 'value-quantity=gt5'],
      ['ServiceRequest', 'status=active'],
      ['Specimen', 'collected=2024'],
      ['DiagnosticReport', 'result=Observation/1'],
      ['Medication', 'code=123'],
      ['MedicationRequest', 'intent=order'],
      ['MedicationDispense', 'whenhandedover=2024'],
      ['MedicationAdministration', 'effective-time=2024'],
      ['ChargeItem', 'quantity=1'],
      ['Invoice', 'totalnet=gt100'],
      ['Account', 'name=x'],
      ['Consent', 'status=active'],
      ['Flag', 'patient=Patient/1'],
      ['DocumentReference', 'date=2024'],
      ['Composition', 'type=x'],
      ['Provenance', 'target=Patient/1'],
      ['AuditEvent', 'date=ge2024'],
    ];
    for (const [type, q] of types) expect(parse(type as string, q as string).search.clauses).toHaveLength(1);
  });

  it('rejects unknown parameters and unsupported modifiers, naming them', () => {
    rejects('Patient', 'nonsense=1', 'nonsense', 'invalid');
    rejects('Patient', 'name:text=x', 'name:text', 'not-supported');
    rejects('Patient', 'gender:in=http://vs', 'gender:in', 'not-supported');
    rejects('Patient', '_text=x', '_text', 'not-supported');
    rejects('Observation', 'code-value-quantity:missing=true', 'code-value-quantity:missing', 'not-supported');
    rejects('Observation', 'code-value-quantity=2345-7', 'code-value-quantity', 'invalid');
    rejects('Observation', 'code-value-quantity=2345-7$abc', 'code-value-quantity', 'invalid');
    rejects('Patient', 'birthdate=1980-13', 'birthdate');
    rejects('Patient', 'birthdate=xx1980', 'birthdate');
    rejects('Observation', 'value-quantity=abc', 'value-quantity');
    rejects('Patient', '_count=-1', '_count');
    rejects('Patient', '_count=101', '_count');
    rejects('Patient', '_sort=nonsense', '_sort');
    rejects('Patient', '_include=Observation:subject', '_include');
    rejects('Patient', '_revinclude=Observation:nonsense', '_revinclude');
    rejects('Patient', '_summary=maybe', '_summary');
    rejects('Patient', '_elements=nonsense', '_elements');
    rejects('Observation', 'subject.name=x', 'subject.name');
    rejects('Observation', 'subject:Patient.organization.name=x', 'subject:Patient.organization.name');
    rejects('Patient', '_has:Observation:nonsense:code=1', '_has:Observation:nonsense:code');
    rejects('Patient', 'gender:missing=maybe', 'gender:missing');
    rejects('Patient', '_cursor=abc', '_cursor');
  });

  it('in lenient mode ignores what it cannot use and says so', () => {
    const { search, warnings } = parse('Patient', 'nonsense=1&name:text=x&family=sharma&_count=500', lenient);
    expect(search.clauses).toHaveLength(1);
    expect(search.count).toBe(100);
    expect(warnings.map((w) => w.expression?.[0])).toEqual(['nonsense', 'name:text']);
    expect(warnings.every((w) => w.severity === 'warning')).toBe(true);
  });

  it('still rejects a garbage cursor in lenient mode', () => {
    expect(() => parse('Patient', '_cursor=zzz', lenient)).toThrow(FhirError);
  });

  it('parses result parameters', () => {
    const { search } = parse('Patient', '_count=0&_total=accurate&_summary=true&_elements=name,birthDate&_sort=-birthdate,_id');
    expect(search.count).toBe(0);
    expect(search.total).toBe('accurate');
    expect(search.summary).toBe('true');
    expect(search.elements).toEqual(['name', 'birthDate']);
    expect(search.sort.map((s) => s.desc)).toEqual([true, false]);
    const c = parse('Patient', '_summary=count').search;
    expect(c.summaryCount).toBe(true);
    expect(c.count).toBe(0);
    expect(parse('Patient', '_format=json&_pretty=true&name=').search.clauses).toEqual([]);
    expect(parse('Patient', '').search.count).toBe(20);
  });

  it('splits OR values on unescaped commas and tokens on unescaped bars', () => {
    const { search } = parse('Patient', 'family=a\\,b,c&identifier=http://x|a\\|b');
    const [fam, ident] = search.clauses;
    expect(fam).toMatchObject({ kind: 'match', tests: [{ value: 'a,b' }, { value: 'c' }] });
    expect(ident).toMatchObject({ kind: 'match', tests: [{ t: 'token', system: 'http://x', code: 'a|b' }] });
  });

  it('resolves an unambiguous chain and _has', () => {
    const chain = parse('Observation', 'patient.name=x').search.clauses[0];
    expect(chain).toMatchObject({ kind: 'chain', code: 'patient', targetTypes: ['Patient'] });
    const has = parse('Patient', '_has:Observation:patient:code=1234-5').search.clauses[0];
    expect(has).toMatchObject({ kind: 'has', sourceType: 'Observation', code: 'patient' });
  });
});

describe('applyProjection', () => {
  const obs = {
    resourceType: 'Observation',
    id: 'o1',
    meta: { versionId: '2' },
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
    status: 'final',
    code: { text: 'Glucose' },
    subject: { reference: 'Patient/p1' },
    valueQuantity: { value: 5 },
    note: [{ text: 'fasting' }],
  } as unknown as AnyResource;
  const tagged = (r: AnyResource) => r.meta?.tag?.some((t) => t.code === 'SUBSETTED');

  it('_elements keeps the listed elements, id, meta and mandatory ones, and tags SUBSETTED', () => {
    const out = applyProjection(obs, { elements: ['value'] }) as unknown as Record<string, unknown>;
    expect(Object.keys(out).sort()).toEqual(['code', 'id', 'meta', 'resourceType', 'status', 'valueQuantity']);
    expect(tagged(out as unknown as AnyResource)).toBe(true);
    expect(obs.meta?.tag).toBeUndefined(); // input untouched
  });

  it('_summary=true keeps summary elements only; text and data as specified', () => {
    const sum = applyProjection(obs, { summary: 'true' }) as unknown as Record<string, unknown>;
    expect(sum.note).toBeUndefined();
    expect(sum.text).toBeUndefined();
    expect(sum.valueQuantity).toEqual({ value: 5 });
    expect(sum.subject).toEqual({ reference: 'Patient/p1' });
    const text = applyProjection(obs, { summary: 'text' }) as unknown as Record<string, unknown>;
    expect(Object.keys(text).sort()).toEqual(['code', 'id', 'meta', 'resourceType', 'status', 'text']);
    const data = applyProjection(obs, { summary: 'data' }) as unknown as Record<string, unknown>;
    expect(data.text).toBeUndefined();
    expect(data.note).toBeDefined();
    expect(applyProjection(obs, { summary: 'false' })).toBe(obs);
    expect(applyProjection(obs, {})).toBe(obs);
  });
});
