/**
 * `_elements` and `_summary`: what part of each resource goes back to the client. Which elements
 * are "summary" or mandatory comes from the R4 StructureDefinitions (isSummary, min > 0), not a
 * hand-written list. Subsetted resources carry the SUBSETTED tag, as the spec requires, so
 * nobody mistakes them for the full record (and writes them back).
 */
import type { Coding, Meta } from '@medplum/fhirtypes';
import type { AnyResource } from '../types.js';
import type { ParsedSearch } from './parse.js';
import { typeSchema } from './definitions.js';

export const SUBSETTED: Readonly<Coding> = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

/** Top-level JSON key `key` belongs to element `name` (choice types: `valueQuantity` ↔ `value`). */
function keyElement(key: string, choiceBases: ReadonlySet<string>): string {
  const k = key.startsWith('_') ? key.slice(1) : key; // primitive extensions travel with their value
  for (const base of choiceBases) if (k.startsWith(base) && /^[A-Z]/.test(k.slice(base.length))) return base;
  return k;
}

export function applyProjection(resource: AnyResource, search: Pick<ParsedSearch, 'elements' | 'summary'>): AnyResource {
  const summary = search.summary;
  const elements = search.elements;
  if ((!elements || elements.length === 0) && (!summary || summary === 'false' || summary === 'count')) return resource;
  const schema = typeSchema(resource.resourceType);
  const choiceBases = new Set(
    Object.keys(schema.elements)
      .filter((k) => k.endsWith('[x]'))
      .map((k) => k.slice(0, -3)),
  );
  const mandatory = schema.mandatoryProperties ?? new Set<string>();
  let keep: (element: string) => boolean;
  if (elements && elements.length > 0) {
    const wanted = new Set(elements);
    keep = (e) => wanted.has(e) || mandatory.has(e);
  } else if (summary === 'true') {
    const summaryProps = schema.summaryProperties ?? new Set<string>();
    keep = (e) => summaryProps.has(e) || mandatory.has(e);
  } else if (summary === 'text') {
    keep = (e) => e === 'text' || mandatory.has(e);
  } else {
    keep = (e) => e !== 'text'; // _summary=data
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    const e = keyElement(key, choiceBases);
    if (key === 'resourceType' || e === 'id' || e === 'meta' || keep(e)) out[key] = value;
  }
  const meta: Meta = { ...(resource.meta ?? {}) };
  const tags = meta.tag ?? [];
  if (!tags.some((t) => t.system === SUBSETTED.system && t.code === SUBSETTED.code)) meta.tag = [...tags, { ...SUBSETTED }];
  out.meta = meta;
  return out as unknown as AnyResource;
}
