/**
 * Every official R4 example of the resource types a hospital uses must be accepted: a validator
 * that rejects the spec's own examples would reject real hospital traffic.
 */
import { describe, expect, it } from 'vitest';
import { validateResource } from '../../src/fhir/validation/index.js';
import { loadOfficialExamples } from '../support/examples.js';
import { expectRejectedAt, HOSPITAL_TYPES } from './helpers.js';

/**
 * Official examples that are genuinely invalid R4 (not validator false positives): they point a
 * Reference at a type the element does not allow. We keep rejecting them, and assert exactly why,
 * so a change that silently stopped checking target types would fail here.
 */
const KNOWN_INVALID_OFFICIAL_EXAMPLES: Record<string, { readonly expression: string; readonly reason: string }> = {
  'MedicationRequest-medrx0301.json': {
    expression: 'MedicationRequest.dispenseRequest.performer.reference',
    reason: 'dispenseRequest.performer is Reference(Organization) in R4; the example uses Practitioner/f001',
  },
  'Observation-clinical-gender.json': {
    expression: 'Observation.performer[0].reference',
    reason: 'Observation.performer does not allow Encounter; the example uses Encounter/example',
  },
};

describe('official R4 examples', () => {
  const all = loadOfficialExamples(HOSPITAL_TYPES);

  it('finds examples for every hospital type', () => {
    for (const t of HOSPITAL_TYPES) expect(all.filter((e) => e.resourceType === t).length, t).toBeGreaterThan(0);
  });

  for (const type of HOSPITAL_TYPES) {
    const examples = all.filter((e) => e.resourceType === type && !(e.file in KNOWN_INVALID_OFFICIAL_EXAMPLES));
    it(`accepts all ${examples.length} official ${type} examples`, () => {
      const rejected: string[] = [];
      for (const e of examples) {
        try {
          validateResource(e.resource, type);
        } catch (err) {
          rejected.push(`${e.file}: ${(err as Error).message}`);
        }
      }
      expect(rejected).toEqual([]);
    });
  }

  for (const [file, { expression, reason }] of Object.entries(KNOWN_INVALID_OFFICIAL_EXAMPLES)) {
    it(`rejects the genuinely invalid ${file} (${reason})`, () => {
      const example = all.find((e) => e.file === file);
      expect(example).toBeDefined();
      expectRejectedAt(() => validateResource(example?.resource), expression);
    });
  }

  it('counts: all but the known-invalid examples pass', () => {
    const known = all.filter((e) => e.file in KNOWN_INVALID_OFFICIAL_EXAMPLES).length;
    expect(known).toBe(Object.keys(KNOWN_INVALID_OFFICIAL_EXAMPLES).length);
    expect(all.length - known).toBeGreaterThanOrEqual(330);
  });
});
