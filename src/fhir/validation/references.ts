/**
 * Reference.reference format. @medplum/core checks neither the syntax nor whether the type
 * exists (a wrong target type is only a warning there), and the store and search index rely on
 * `Type/id` being exactly that, so Sushruta checks it before anything is written.
 */
import { ID_PATTERN } from '../types.js';
import { isResourceType } from './resource-types.js';

export interface ReferenceRules {
  /** `urn:uuid:` / `urn:oid:` placeholders and conditional references (`Patient?identifier=...`),
   * which only a transaction/batch Bundle can resolve. */
  readonly allowUrnReferences: boolean;
}

export type ParsedReference =
  | { readonly kind: 'relative' | 'absolute'; readonly type: string; readonly id: string }
  | { readonly kind: 'contained'; readonly id: string }
  | { readonly kind: 'placeholder' | 'conditional' | 'other-absolute'; readonly type?: string };

const UUID = /^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const OID = /^urn:oid:[0-2](\.(0|[1-9]\d*))+$/;
const RELATIVE = /^([A-Za-z]+)\/([^/?#]+)(\/_history\/([^/?#]+))?$/;
/** An absolute RESTful URL: [base]/Type/id[/_history/vid]. */
const ABSOLUTE_REST = /^https?:\/\/\S+\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const VERSION_ID = ID_PATTERN;

/** Parses `ref`, or returns a sentence naming what is wrong with it. */
export function parseReference(ref: string, rules: ReferenceRules): ParsedReference | string {
  if (ref.length === 0) return 'Reference.reference is empty';
  if (/\s/.test(ref)) return `Reference '${ref}' contains whitespace`;
  if (ref.startsWith('#')) {
    const id = ref.slice(1);
    // '#' alone points at the containing resource (allowed in contained resources).
    if (id !== '' && !ID_PATTERN.test(id)) return `Contained reference '${ref}' is not '#' followed by a valid id`;
    return { kind: 'contained', id };
  }
  if (ref.startsWith('urn:')) {
    if (!UUID.test(ref) && !OID.test(ref)) return `Reference '${ref}' is not a valid urn:uuid: or urn:oid:`;
    if (!rules.allowUrnReferences) return `Reference '${ref}' is a placeholder that only a transaction Bundle can resolve`;
    return { kind: 'placeholder' };
  }
  if (/^https?:\/\//.test(ref)) {
    try {
      new URL(ref);
    } catch {
      return `Reference '${ref}' is not a valid absolute URL`;
    }
    const m = ABSOLUTE_REST.exec(ref);
    // Only a URL that looks like [base]/Type/id with a known type is type-checked; other
    // URLs (e.g. a logical identifier URL) are allowed as FHIR allows them.
    if (m && isResourceType(m[1] ?? '')) return { kind: 'absolute', type: m[1] ?? '', id: m[2] ?? '' };
    return { kind: 'other-absolute' };
  }
  const q = ref.indexOf('?');
  if (q > 0) {
    const type = ref.slice(0, q);
    if (!isResourceType(type)) return `Conditional reference '${ref}' names an unknown resource type '${type}'`;
    if (!rules.allowUrnReferences) return `Conditional reference '${ref}' is only allowed in a transaction Bundle`;
    return { kind: 'conditional', type };
  }
  const m = RELATIVE.exec(ref);
  if (!m) return `Reference '${ref}' is not of the form Type/id, #id, urn:uuid:, urn:oid: or an absolute http(s) URL`;
  const [, type = '', id = '', , vid] = m;
  if (!isResourceType(type)) return `Reference '${ref}' names an unknown resource type '${type}'`;
  if (!ID_PATTERN.test(id)) return `Reference '${ref}' has an invalid id '${id}' (expected [A-Za-z0-9-.]{1,64})`;
  if (vid !== undefined && !VERSION_ID.test(vid)) return `Reference '${ref}' has an invalid version id '${vid}'`;
  return { kind: 'relative', type, id };
}

const HL7_SD = 'http://hl7.org/fhir/StructureDefinition/';

/**
 * Is `type` an allowed target? Only decided when every target profile is a base R4 type (an
 * unknown profile URL could allow anything), as @medplum/core does before it merely warns.
 */
export function targetTypeProblem(type: string, targetProfiles: readonly string[] | undefined): string | undefined {
  if (!targetProfiles?.length) return undefined;
  const allowed: string[] = [];
  for (const p of targetProfiles) {
    if (!p.startsWith(HL7_SD)) return undefined;
    const t = p.slice(HL7_SD.length);
    if (t === 'Resource' || t === type) return undefined;
    allowed.push(t);
  }
  return `Reference to ${type} is not allowed here; expected ${allowed.join(', ')}`;
}
