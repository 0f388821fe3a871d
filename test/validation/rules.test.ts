/** The cheap pre-checks and Sushruta's own rules, one by one. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ID_PATTERN } from '../../src/fhir/types.js';
import { assertResourceShape, isResourceType, R4_RESOURCE_TYPES, validateResource } from '../../src/fhir/validation/index.js';
import { expectRejectedAt, rejection } from './helpers.js';

const obs = (extra: Record<string, unknown> = {}) => ({ resourceType: 'Observation', status: 'final', code: { text: 'Hb' }, ...extra });

describe('R4 resource types', () => {
  it('come from the definitions: R4 types in, medplum and R4B types and abstract bases out', () => {
    for (const t of ['Patient', 'Bundle', 'Observation', 'AuditEvent', 'MedicinalProduct']) expect(isResourceType(t), t).toBe(true);
    for (const t of [
      'Project',
      'User',
      'Bot',
      'ClientApplication',
      'SubscriptionStatus',
      'Resource',
      'DomainResource',
      'HumanName',
      'patient',
      '',
    ]) {
      expect(isResourceType(t), t).toBe(false);
    }
    expect(R4_RESOURCE_TYPES.size).toBe(146);
    expect([...R4_RESOURCE_TYPES]).toContain('Patient');
  });
});

describe('assertResourceShape', () => {
  it.each([
    ['null', null],
    ['a string', 'Patient'],
    ['an array', [{ resourceType: 'Patient' }]],
    ['no resourceType', { id: 'x' }],
    ['a numeric resourceType', { resourceType: 1 }],
    ['an unknown type', { resourceType: 'Banana' }],
    ["medplum's Project", { resourceType: 'Project', name: 'x' }],
  ])('refuses %s with a 400 invalid', (_what, body) => {
    const err = rejection(() => assertResourceShape(body));
    expect(err.issues[0]?.code).toBe('invalid');
  });
  it('accepts an object with a known type, without validating the rest', () => {
    expect(() => assertResourceShape({ resourceType: 'Patient', gender: 'banana' })).not.toThrow();
  });
});

describe('validateResource', () => {
  it('refuses a resource of another type than expected', () => {
    expectRejectedAt(() => validateResource({ resourceType: 'Patient' }, 'Observation'), 'Patient.resourceType');
  });

  it('reports several problems at once, each with its path', () => {
    const err = rejection(() => validateResource({ resourceType: 'Patient', gender: 'banana', name: [{ given: ['Asha', 5] }], foo: 1 }));
    expect(err.issues.map((i) => i.expression?.[0]).sort()).toEqual(['Patient.foo', 'Patient.gender', 'Patient.name[0].given[1]']);
  });

  it('refuses nested resources of unknown or non-FHIR types at their position', () => {
    expectRejectedAt(
      () =>
        validateResource({
          resourceType: 'Bundle',
          type: 'collection',
          entry: [{ resource: { resourceType: 'Patient' } }, { resource: { resourceType: 'Project' } }],
        }),
      'Bundle.entry[1].resource.resourceType',
    );
    expectRejectedAt(
      () => validateResource({ resourceType: 'Patient', contained: [{ id: 'o', name: 'no type' }] }),
      'Patient.contained[0].resourceType',
    );
  });

  it('checks contained resources like top-level ones', () => {
    const body = (active: unknown) => ({
      resourceType: 'Patient',
      contained: [{ resourceType: 'Organization', id: 'o', active }],
      managingOrganization: { reference: '#o' },
    });
    expectRejectedAt(() => validateResource(body('yes')), 'Patient.contained[0].active');
    expect(() => validateResource(body(true))).not.toThrow();
  });

  it('applies required bindings inside choice and nested elements', () => {
    expectRejectedAt(
      () => validateResource(obs({ component: [{ code: { text: 'x' }, valueQuantity: { value: 1, comparator: '~' } }] })),
      'Observation.component[0].valueQuantity.comparator',
    );
  });

  it('accepts base64 with line breaks, as R4 does, but not garbage', () => {
    const doc = (data: string) => ({
      resourceType: 'DocumentReference',
      status: 'current',
      content: [{ attachment: { contentType: 'text/plain', data } }],
    });
    expect(() => validateResource(doc('SGVs\nbG8='))).not.toThrow();
    expectRejectedAt(() => validateResource(doc('not base64!')), 'DocumentReference.content[0].attachment.data');
  });
});

describe('references', () => {
  const withSubject = (reference: string) => obs({ subject: { reference } });
  it.each([
    'Patient/123',
    'Patient/a.b-C',
    'Patient/123/_history/2',
    'http://example.org/fhir/Patient/123',
    'https://example.org/some/logical/url',
    'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0',
    'urn:oid:1.2.3.4',
    'Patient?identifier=http://abdm.gov.in/abha|91-1234-5678-9012',
  ])('accepts %s', (ref) => {
    expect(() => validateResource(withSubject(ref))).not.toThrow();
  });

  it.each([
    ['Banana/1', /unknown resource type/],
    ['Patient/', /not of the form/],
    ['Patient/has space', /whitespace/],
    [`Patient/${'x'.repeat(65)}`, /invalid id/],
    ['Patient/1/_history/', /not of the form/],
    ['patient/1', /unknown resource type/],
    ['Project/1', /unknown resource type/],
    ['urn:uuid:not-a-uuid', /urn:uuid/],
    ['ftp://example.org/Patient/1', /not of the form/],
    ['Medication/1', /not allowed/],
    ['#missing', /contained/],
    ['Banana?x=1', /unknown resource type/],
  ])('refuses %s at Observation.subject.reference', (ref, why) => {
    expect(expectRejectedAt(() => validateResource(withSubject(ref)), 'Observation.subject.reference')).toMatch(why);
  });

  it('refuses urn: and conditional references when allowUrnReferences is false', () => {
    for (const ref of ['urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0', 'urn:oid:1.2.3', 'Patient?identifier=x']) {
      expect(() => validateResource(withSubject(ref))).not.toThrow();
      expectRejectedAt(() => validateResource(withSubject(ref), undefined, { allowUrnReferences: false }), 'Observation.subject.reference');
    }
  });
});

describe('resource ids', () => {
  it('accepts exactly the ids matching [A-Za-z0-9-.]{1,64} (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^[A-Za-z0-9\-.]{1,64}$/)), (id) => {
        let ok = true;
        try {
          validateResource({ resourceType: 'Patient', id });
        } catch {
          ok = false;
        }
        return ok === ID_PATTERN.test(id);
      }),
      { numRuns: 200 },
    );
  });
});
