/**
 * For each hospital resource type, a deliberately broken copy of a real official example must be
 * refused with an issue naming the exact FHIRPath of what was broken. The breakages cover the
 * kinds of mistakes clients make: wrong JSON type, unknown element, bad required code, missing
 * 1..1 element, malformed primitive, bad reference, bad id, wrong cardinality.
 */
import { describe, expect, it } from 'vitest';
import { validateResource } from '../../src/fhir/validation/index.js';
import { loadOfficialExamples, type OfficialExample } from '../support/examples.js';
import { expectRejectedAt, HOSPITAL_TYPES } from './helpers.js';

type Json = Record<string, unknown>;
type HospitalType = (typeof HOSPITAL_TYPES)[number];

/** The first element of a JSON array that the test knows is there. */
function first(v: unknown): Json {
  const item: unknown = Array.isArray(v) ? v[0] : undefined;
  if (typeof item !== 'object' || item === null) throw new Error('expected a non-empty array of objects');
  return item as Json;
}

/** Removes every `name[x]` variant (e.g. valueQuantity, valueString) so one can be set alone. */
function clearChoice(r: Json, base: string): void {
  for (const k of Object.keys(r)) if (k.startsWith(base) && /^[A-Z]/.test(k.slice(base.length))) delete r[k];
}

interface Breakage {
  readonly what: string;
  readonly expression: string;
  readonly diagnostic: RegExp;
  readonly breakIt: (r: Json) => void;
}

const BREAKAGES: Record<HospitalType, Breakage> = {
  Patient: {
    what: 'gender not in administrative-gender',
    expression: 'Patient.gender',
    diagnostic: /banana/,
    breakIt: (r) => {
      r.gender = 'banana';
    },
  },
  Practitioner: {
    what: 'boolean given as string',
    expression: 'Practitioner.active',
    diagnostic: /expected boolean/,
    breakIt: (r) => {
      r.active = 'yes';
    },
  },
  PractitionerRole: {
    what: 'unknown element',
    expression: 'PractitionerRole.specialtyFoo',
    diagnostic: /specialtyFoo/,
    breakIt: (r) => {
      r.specialtyFoo = [{ text: 'x' }];
    },
  },
  Organization: {
    what: 'array where a single value belongs',
    expression: 'Organization.name',
    diagnostic: /single value/,
    breakIt: (r) => {
      r.name = ['A', 'B'];
    },
  },
  Location: {
    what: 'status not in location-status',
    expression: 'Location.status',
    diagnostic: /open/,
    breakIt: (r) => {
      r.status = 'open';
    },
  },
  HealthcareService: {
    what: 'day of week not in days-of-week',
    expression: 'HealthcareService.availableTime[0].daysOfWeek[1]',
    diagnostic: /funday/,
    breakIt: (r) => {
      r.availableTime = [{ daysOfWeek: ['mon', 'funday'] }];
    },
  },
  Schedule: {
    what: 'required 1..* actor removed',
    expression: 'Schedule.actor',
    diagnostic: /Missing required/,
    breakIt: (r) => {
      delete r.actor;
    },
  },
  Slot: {
    what: 'required 1..1 schedule removed',
    expression: 'Slot.schedule',
    diagnostic: /Missing required/,
    breakIt: (r) => {
      delete r.schedule;
    },
  },
  Appointment: {
    what: 'participant status not in participationstatus',
    expression: 'Appointment.participant[0].status',
    diagnostic: /maybe/,
    breakIt: (r) => {
      first(r.participant).status = 'maybe';
    },
  },
  Encounter: {
    what: 'required 1..1 class removed',
    expression: 'Encounter.class',
    diagnostic: /Missing required/,
    breakIt: (r) => {
      delete r.class;
    },
  },
  EpisodeOfCare: {
    what: 'impossible dateTime',
    expression: 'EpisodeOfCare.period.start',
    diagnostic: /dateTime/,
    breakIt: (r) => {
      r.period = { start: '2024-13-01' };
    },
  },
  Condition: {
    what: 'reference to a type that does not exist',
    expression: 'Condition.subject.reference',
    diagnostic: /Banana/,
    breakIt: (r) => {
      r.subject = { reference: 'Banana/1' };
    },
  },
  AllergyIntolerance: {
    what: 'criticality not in allergy-intolerance-criticality',
    expression: 'AllergyIntolerance.criticality',
    diagnostic: /very-high/,
    breakIt: (r) => {
      r.criticality = 'very-high';
    },
  },
  Observation: {
    what: 'quantity value as a string inside a choice element',
    expression: 'Observation.valueQuantity.value',
    diagnostic: /expected number/,
    breakIt: (r) => {
      clearChoice(r, 'value');
      delete r.dataAbsentReason;
      r.valueQuantity = { value: '7.2', unit: 'mmol/L' };
    },
  },
  ServiceRequest: {
    what: 'required 1..1 intent removed',
    expression: 'ServiceRequest.intent',
    diagnostic: /Missing required/,
    breakIt: (r) => {
      delete r.intent;
    },
  },
  Specimen: {
    what: 'reference to a type the element does not allow',
    expression: 'Specimen.subject.reference',
    diagnostic: /Medication is not allowed/,
    breakIt: (r) => {
      r.subject = { reference: 'Medication/med0301' };
    },
  },
  DiagnosticReport: {
    what: 'status not in diagnostic-report-status',
    expression: 'DiagnosticReport.status',
    diagnostic: /done/,
    breakIt: (r) => {
      r.status = 'done';
    },
  },
  Medication: {
    what: 'id outside [A-Za-z0-9-.]{1,64}',
    expression: 'Medication.id',
    diagnostic: /id/,
    breakIt: (r) => {
      r.id = 'bad id!';
    },
  },
  MedicationRequest: {
    what: 'required 1..1 subject removed',
    expression: 'MedicationRequest.subject',
    diagnostic: /Missing required/,
    breakIt: (r) => {
      delete r.subject;
    },
  },
  MedicationDispense: {
    what: 'contained reference that resolves to nothing',
    expression: 'MedicationDispense.medicationReference.reference',
    diagnostic: /#no-such-med/,
    breakIt: (r) => {
      clearChoice(r, 'medication');
      r.medicationReference = { reference: '#no-such-med' };
    },
  },
  MedicationAdministration: {
    what: 'malformed dateTime inside a choice element',
    expression: 'MedicationAdministration.effectiveDateTime',
    diagnostic: /dateTime/,
    breakIt: (r) => {
      clearChoice(r, 'effective');
      r.effectiveDateTime = '15-01-2024';
    },
  },
  ChargeItem: {
    what: 'status not in chargeitem-status',
    expression: 'ChargeItem.status',
    diagnostic: /charged/,
    breakIt: (r) => {
      r.status = 'charged';
    },
  },
  Invoice: {
    what: 'currency not an ISO 4217 code',
    expression: 'Invoice.totalNet.currency',
    diagnostic: /ISO 4217/,
    breakIt: (r) => {
      r.totalNet = { value: 100, currency: 'rupees' };
    },
  },
  Account: {
    what: 'unknown element nested in a Reference',
    expression: 'Account.owner.foo',
    diagnostic: /foo/,
    breakIt: (r) => {
      r.owner = { reference: 'Organization/hl7', foo: 1 };
    },
  },
  Consent: {
    what: 'required 1..1 scope removed',
    expression: 'Consent.scope',
    diagnostic: /Missing required/,
    breakIt: (r) => {
      delete r.scope;
    },
  },
  Flag: {
    what: 'required 1..1 subject removed',
    expression: 'Flag.subject',
    diagnostic: /Missing required/,
    breakIt: (r) => {
      delete r.subject;
    },
  },
  DocumentReference: {
    what: 'attachment contentType not a MIME type',
    expression: 'DocumentReference.content[0].attachment.contentType',
    diagnostic: /MIME/,
    breakIt: (r) => {
      (first(r.content).attachment as Json).contentType = 'pdf';
    },
  },
  Composition: {
    what: 'confidentiality not in v3 ConfidentialityClassification',
    expression: 'Composition.confidentiality',
    diagnostic: /TOP-SECRET/,
    breakIt: (r) => {
      r.confidentiality = 'TOP-SECRET';
    },
  },
  Provenance: {
    what: 'instant without a time',
    expression: 'Provenance.recorded',
    diagnostic: /instant/,
    breakIt: (r) => {
      r.recorded = '2015-06-27';
    },
  },
  AuditEvent: {
    what: 'boolean given as string in a backbone element',
    expression: 'AuditEvent.agent[0].requestor',
    diagnostic: /expected boolean/,
    breakIt: (r) => {
      first(r.agent).requestor = 'true';
    },
  },
};

/** The type's canonical `<Type>-example.json` when there is one, else its first example. */
function baseExample(type: string, all: OfficialExample[]): OfficialExample {
  const ofType = all.filter((e) => e.resourceType === type);
  const chosen = ofType.find((e) => e.file === `${type}-example.json`) ?? ofType[0];
  if (!chosen) throw new Error(`no official example of ${type}`);
  return chosen;
}

describe('broken copies of official examples are refused at the exact path', () => {
  const all = loadOfficialExamples(HOSPITAL_TYPES);
  for (const type of HOSPITAL_TYPES) {
    const b = BREAKAGES[type];
    it(`${type}: ${b.what} -> ${b.expression}`, () => {
      const example = baseExample(type, all);
      // The intact example passes, so the refusal below is caused by the breakage alone.
      expect(() => validateResource(example.resource, type)).not.toThrow();
      const broken = structuredClone(example.resource) as Json;
      b.breakIt(broken);
      const diagnostics = expectRejectedAt(() => validateResource(broken, type), b.expression);
      expect(diagnostics).toMatch(b.diagnostic);
    });
  }
});

describe('Bundle entries are validated with their position in the path', () => {
  it('names Bundle.entry[2].resource.status', () => {
    const [p, o1, o2] = loadOfficialExamples(['Patient', 'Observation']).filter((e) =>
      ['Patient-example.json', 'Observation-example.json', 'Observation-glasgow.json'].includes(e.file),
    );
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [p, o1, o2].map((e) => ({
        fullUrl: `http://example.org/fhir/${e?.resourceType}/${e?.resource.id}`,
        resource: structuredClone(e?.resource),
      })),
    };
    expect(() => validateResource(bundle, 'Bundle')).not.toThrow();
    (first(bundle.entry.slice(2)).resource as Json).status = 'foo';
    expectRejectedAt(() => validateResource(bundle), 'Bundle.entry[2].resource.status');
  });
});
