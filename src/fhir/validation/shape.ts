/**
 * Cheap structural checks that run before the schema validator: is this a JSON object that
 * claims to be an R4 resource? @medplum/core's validator throws a bare "Unknown data type"
 * (no path) for unknown types anywhere in the tree, and medplum also knows its own non-FHIR
 * types (Project, User...), so every `resourceType` — the root and any nested resource
 * (contained, Bundle.entry.resource, Parameters.parameter.resource) — is checked here first.
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { FhirError, issue } from '../outcome.js';
import type { AnyResource } from '../types.js';
import { isResourceType } from './resource-types.js';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** Problems with the resourceType of the object at `path`, or none. */
function resourceTypeProblem(v: unknown, path: string): OperationOutcomeIssue | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    return issue('invalid', `Expected a FHIR resource (a JSON object) at ${path}, got ${describe(v)}`, path);
  }
  const rt = (v as { resourceType?: unknown }).resourceType;
  if (rt === undefined) return issue('invalid', `Missing resourceType at ${path}`, `${path}.resourceType`);
  if (typeof rt !== 'string')
    return issue('invalid', `resourceType at ${path} must be a string, got ${describe(rt)}`, `${path}.resourceType`);
  if (!isResourceType(rt))
    return issue('invalid', `Unknown resource type '${rt}' at ${path}: not an R4 (4.0.1) resource type`, `${path}.resourceType`);
  return undefined;
}

export function assertResourceShape(body: unknown): asserts body is AnyResource {
  // The root has no FHIRPath of its own until we know its type; 'resourceType' is the best name.
  const problem = resourceTypeProblem(body, 'resource');
  if (problem) {
    problem.expression = ['resourceType'];
    throw new FhirError(400, [problem]);
  }
}

/**
 * Checks every nested object that carries a `resourceType` key (only resources do in FHIR JSON)
 * and the places that must hold a resource. Paths are JSON paths, which for these positions are
 * also the FHIRPath (no choice types are involved).
 */
/** Parents whose `resource` element has type Resource. */
const RESOURCE_SLOT_PARENT = /(^|\.)(Bundle\.entry|Parameters\.parameter(\[\d+\]\.part)*)\[\d+\]$/;

export function nestedResourceIssues(root: AnyResource): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const walk = (v: unknown, path: string, mustBeResource: boolean): void => {
    if (mustBeResource) {
      const p = resourceTypeProblem(v, path);
      if (p) {
        issues.push(p);
        return;
      }
    }
    if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) walk(item, `${path}[${i}]`, mustBeResource);
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    for (const [key, child] of Object.entries(v)) {
      if (key === 'resourceType') continue;
      // contained[] and Bundle.entry.resource / Parameters.parameter.resource must be resources;
      // anything else carrying a resourceType key claims to be one, so check it too. (Not every
      // element named 'resource' is one: CapabilityStatement.rest.resource is a backbone.)
      const isResourceSlot = key === 'contained' || (key === 'resource' && RESOURCE_SLOT_PARENT.test(path));
      const claims = typeof child === 'object' && child !== null && !Array.isArray(child) && 'resourceType' in child;
      if (Array.isArray(child)) {
        for (const [i, item] of child.entries()) {
          const itemClaims = typeof item === 'object' && item !== null && 'resourceType' in item;
          walk(item, `${path}.${key}[${i}]`, isResourceSlot || itemClaims);
        }
      } else {
        walk(child, `${path}.${key}`, isResourceSlot || claims);
      }
    }
  };
  walk(root, root.resourceType, false);
  return issues;
}
