/**
 * R4 validation of every incoming resource (invariant 5: bad input gets an OperationOutcome that
 * names the problem and the FHIRPath of the offending element, never a 500).
 *
 * Order: cheap shape checks (is it an object with a known R4 resourceType, also for nested
 * resources), then @medplum/core's schema validator (cardinality, JSON types, primitive formats,
 * unknown properties, most invariants), then Sushruta's own checks (ids, references, required
 * bindings). All problems found are reported together.
 */
import { OperationOutcomeError, validateResource as medplumValidate } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { FhirError, issue } from '../outcome.js';
import { ensureDefinitionsLoaded } from '../search/definitions.js';
import type { AnyResource } from '../types.js';
import { sushrutaIssues } from './checks.js';
import { resolveChoicePath, valueAtPath } from './paths.js';
import { assertResourceShape, nestedResourceIssues } from './shape.js';

export { assertResourceShape } from './shape.js';
export { isResourceType, R4_RESOURCE_TYPES } from './resource-types.js';

export interface ValidateOptions {
  /** Allow `urn:uuid:`/`urn:oid:` and conditional references, which a transaction resolves. Default true. */
  readonly allowUrnReferences?: boolean;
}

/** Library issue -> ours: errors only, the message in `diagnostics`, a JSON-shaped FHIRPath. */
function normalise(resource: AnyResource, i: OperationOutcomeIssue): OperationOutcomeIssue {
  const raw = i.expression?.[0] ?? i.location?.[0] ?? resource.resourceType;
  const expression = resolveChoicePath(resource, raw);
  const text = i.details?.text ?? i.diagnostics ?? 'Invalid value';
  return issue(i.code, `${text} (at ${expression})`, expression);
}

/**
 * R4 allows whitespace inside base64Binary (its regex is `(\s*([0-9a-zA-Z\+/=]){4}\s*)+`, and
 * official examples such as DiagnosticReport-gingival-mass wrap their PDFs); @medplum/core's
 * regex does not. Such an issue is a false positive when the value minus whitespace is valid.
 * (Stripping first keeps the test linear; the spec's regex backtracks badly on hostile input.)
 */
const BASE64 = /^([A-Za-z\d+/]{4})*([A-Za-z\d+/]{2}==|[A-Za-z\d+/]{3}=)?$/;
function isLibraryFalsePositive(resource: AnyResource, i: OperationOutcomeIssue): boolean {
  if (i.details?.text !== 'Invalid base64Binary format' || !i.expression?.[0]) return false;
  const value = valueAtPath(resource, i.expression[0]);
  return typeof value === 'string' && /\S/.test(value) && BASE64.test(value.replace(/\s+/g, ''));
}

function libraryIssues(resource: AnyResource): OperationOutcomeIssue[] {
  try {
    // Warnings (e.g. its reference-target check) are not returned as errors; ours cover them.
    medplumValidate(resource as Resource);
    return [];
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return (err.outcome.issue ?? [])
        .filter((i) => (i.severity === 'error' || i.severity === 'fatal') && !isLibraryFalsePositive(resource, i))
        .map((i) => normalise(resource, i));
    }
    // The library threw something unexpected on this input (it does for some malformed trees);
    // still a client error, never a 500.
    const msg = err instanceof Error ? err.message : String(err);
    return [issue('processing', `Resource could not be validated: ${msg}`, resource.resourceType)];
  }
}

function ownIssues(resource: AnyResource, allowUrnReferences: boolean, libraryFoundErrors: boolean): OperationOutcomeIssue[] {
  try {
    return sushrutaIssues(resource, { allowUrnReferences }).map((i) => {
      const expression = resolveChoicePath(resource, i.expression?.[0] ?? resource.resourceType);
      return { ...i, expression: [expression] };
    });
  } catch (err) {
    // Our crawler can trip over a tree the library has already rejected; its issues suffice then.
    if (libraryFoundErrors) return [];
    const msg = err instanceof Error ? err.message : String(err);
    return [issue('processing', `Resource could not be validated: ${msg}`, resource.resourceType)];
  }
}

function dedupe(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.code}|${i.expression?.[0]}|${i.diagnostics}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Throws FhirError(400) listing every problem when `resource` is not a valid R4 resource (of
 * `expectedType`, when given). Bundles are validated with each entry.resource.
 */
export function validateResource(resource: unknown, expectedType?: string, options: ValidateOptions = {}): void {
  assertResourceShape(resource);
  if (expectedType !== undefined && resource.resourceType !== expectedType) {
    throw new FhirError(400, [
      issue('invalid', `Expected a ${expectedType} resource but got ${resource.resourceType}`, `${resource.resourceType}.resourceType`),
    ]);
  }
  const nested = nestedResourceIssues(resource);
  // The library cannot validate a tree holding unknown types; report those first and alone.
  if (nested.length > 0) throw new FhirError(400, nested);

  ensureDefinitionsLoaded();
  const lib = libraryIssues(resource);
  const own = ownIssues(resource, options.allowUrnReferences ?? true, lib.length > 0);
  const all = dedupe([...lib, ...own]);
  if (all.length > 0) throw new FhirError(400, all);
}
