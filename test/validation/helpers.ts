/** Shared assertions for the validation tests. */
import { expect } from 'vitest';
import { FhirError } from '../../src/fhir/outcome.js';

export const HOSPITAL_TYPES = [
  'Patient',
  'Practitioner',
  'PractitionerRole',
  'Organization',
  'Location',
  'HealthcareService',
  'Schedule',
  'Slot',
  'Appointment',
  'Encounter',
  'EpisodeOfCare',
  'Condition',
  'AllergyIntolerance',
  'Observation',
  'ServiceRequest',
  'Specimen',
  'DiagnosticReport',
  'Medication',
  'MedicationRequest',
  'MedicationDispense',
  'MedicationAdministration',
  'ChargeItem',
  'Invoice',
  'Account',
  'Consent',
  'Flag',
  'DocumentReference',
  'Composition',
  'Provenance',
  'AuditEvent',
] as const;

/** Runs `fn`, expects a FhirError 400 whose every issue is well formed; returns it. */
export function rejection(fn: () => void): FhirError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected the resource to be rejected').toBeInstanceOf(FhirError);
  const err = caught as FhirError;
  expect(err.status).toBe(400);
  expect(err.issues.length).toBeGreaterThan(0);
  for (const i of err.issues) {
    expect(i.severity).toBe('error');
    expect(i.code).toBeTruthy();
    expect(i.diagnostics).toBeTruthy();
    expect(i.expression?.length).toBe(1);
  }
  return err;
}

/** Expects rejection with an issue at exactly `expression`; returns that issue's diagnostics. */
export function expectRejectedAt(fn: () => void, expression: string): string {
  const err = rejection(fn);
  const found = err.issues.find((i) => i.expression?.[0] === expression);
  expect(
    found,
    `no issue at ${expression}; got ${JSON.stringify(err.issues.map((i) => [i.expression?.[0], i.diagnostics]))}`,
  ).toBeDefined();
  return found?.diagnostics ?? '';
}
