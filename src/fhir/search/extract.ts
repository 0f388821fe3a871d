/**
 * Resource → index rows. Evaluates every R4 search parameter of the resource's type with the
 * official FHIRPath expression and turns the typed results into the row shapes of schema.ts.
 * Composite and special parameters are not indexed (not supported by this server yet); `_id` and
 * `_lastUpdated` come from the resource table itself.
 */
import { evalFhirPathTyped, type TypedValue, toTypedValue } from '@medplum/core';
import type {
  Address,
  CodeableConcept,
  Coding,
  ContactPoint,
  HumanName,
  Identifier,
  Period,
  Quantity,
  Range,
  Reference,
  Timing,
} from '@medplum/fhirtypes';
import type { AnyResource, TenantId } from '../types.js';
import { compositeComponents, type ParamDef, searchParamsFor } from './definitions.js';
import { type IndexValueContext, indexValueTransform } from './normalise.js';
import { dateRange, parseReference, sqlInstant } from './values.js';

/** `grp` is set only on composite component rows: the index of the element they came from. */
interface Grouped {
  grp?: number;
}

/** `keyVersion` is set on rows a keyed transform derived (blind indexes): the index-key version used. */
interface Keyed {
  keyVersion?: number;
}

export interface IndexRows {
  strings: (Grouped & Keyed & { code: string; norm: string; exact: string; sort: boolean })[];
  tokens: (Grouped & Keyed & { code: string; system: string | null; value: string | null })[];
  refs: (Grouped & { code: string; targetType: string | null; targetId: string | null; url: string | null })[];
  dates: (Grouped & { code: string; low: string; high: string })[];
  numbers: (Grouped & { code: string; low: string | null; high: string | null })[];
  quantities: (Grouped & {
    code: string;
    system: string | null;
    unitCode: string | null;
    unit: string | null;
    low: string | null;
    high: string | null;
  })[];
  uris: (Grouped & { code: string; value: string })[];
  /** Keyed terms of strings stored in search_blind (one row per code, group and key version). */
  terms: (Grouped & { code: string; term: string; keyVersion: number })[];
  /** Keyed terms many resources share, one search_blind_short row each (`StoredString.short`). */
  shortTerms: (Grouped & { code: string; term: string; keyVersion: number })[];
}

/** Parameters served from `resource` columns rather than the index tables. */
const FROM_RESOURCE_COLUMNS = new Set(['_id', '_lastUpdated']);

export function extractIndexRows(tenantId: TenantId, resource: AnyResource): IndexRows {
  const rows: IndexRows = {
    strings: [],
    tokens: [],
    refs: [],
    dates: [],
    numbers: [],
    quantities: [],
    uris: [],
    terms: [],
    shortTerms: [],
  };
  const input = [toTypedValue(resource)];
  for (const p of searchParamsFor(resource.resourceType).values()) {
    if (FROM_RESOURCE_COLUMNS.has(p.code) || p.type === 'special') continue;
    let values: TypedValue[];
    try {
      values = evalFhirPathTyped(p.details.parsedExpression, input);
    } catch {
      // A definition whose expression this FHIRPath engine cannot evaluate indexes nothing,
      // rather than making the resource unwritable.
      continue;
    }
    if (values.length === 0) continue;
    const ctx = { tenantId, resourceType: resource.resourceType, param: p.code };
    if (p.type === 'composite') addComposite(rows, p, ctx, values);
    else addValues(rows, p, ctx, values);
  }
  return dedupe(rows);
}

type Ctx = IndexValueContext;

/**
 * Each element the composite expression selects (the Observation, or each Observation.component)
 * is one group; its components are indexed as `<code>:<i>` rows carrying the group number.
 */
function addComposite(rows: IndexRows, p: ParamDef, ctx: Ctx, bases: TypedValue[]): void {
  const components = compositeComponents(p);
  if (!components) return;
  bases.forEach((base, grp) => {
    const group: IndexRows = {
      strings: [],
      tokens: [],
      refs: [],
      dates: [],
      numbers: [],
      quantities: [],
      uris: [],
      terms: [],
      shortTerms: [],
    };
    components.forEach((c, i) => {
      let values: TypedValue[];
      try {
        values = evalFhirPathTyped(c.expression, [base]);
      } catch {
        return;
      }
      const code = `${p.code}:${i}`;
      addValues(group, { code, type: c.type }, { ...ctx, param: code }, values);
    });
    for (const key of Object.keys(group) as (keyof IndexRows)[]) {
      for (const r of group[key]) (rows[key] as Grouped[]).push({ ...r, grp });
    }
  });
}

/** The rows of one stored string value; rows derived with a key never carry the sort flag (they do not sort). */
function pushStrings(rows: IndexRows, code: string, ctx: Ctx, raw: string, sort: boolean): void {
  const transform = indexValueTransform();
  if (transform.handling({ resourceType: ctx.resourceType, param: code, type: 'string' }).storedAs === 'terms') {
    for (const r of transform.strings(ctx, raw)) {
      const keyVersion = r.keyVersion ?? 0;
      if (r.norm !== '') (r.short ? rows.shortTerms : rows.terms).push({ code, term: r.norm, keyVersion });
      if (r.exact !== '') rows.terms.push({ code, term: r.exact, keyVersion });
    }
    return;
  }
  for (const r of transform.strings(ctx, raw)) {
    if (r.keyVersion === undefined) rows.strings.push({ code, norm: r.norm, exact: r.exact, sort });
    else rows.strings.push({ code, norm: r.norm, exact: r.exact, sort: false, keyVersion: r.keyVersion });
  }
}

/** The rows of one stored token (system as given, value through the transform). */
function pushTokens(rows: IndexRows, code: string, ctx: Ctx, system: string | null, value: string | null): void {
  if (value === null) {
    rows.tokens.push({ code, system, value: null });
    return;
  }
  for (const r of indexValueTransform().tokens(ctx, value)) {
    if (r.keyVersion === undefined) rows.tokens.push({ code, system, value: r.value });
    else rows.tokens.push({ code, system, value: r.value, keyVersion: r.keyVersion });
  }
}

function addValues(rows: IndexRows, p: Pick<ParamDef, 'code' | 'type'>, ctx: Ctx, values: TypedValue[]): void {
  const code = p.code;
  // A date parameter the transform stores as tokens (a blind birth date) is asked once per parameter.
  const datesAsTokens =
    p.type === 'date' && indexValueTransform().handling({ resourceType: ctx.resourceType, param: code, type: 'date' }).storedAs === 'token';
  for (const tv of values) {
    const v: unknown = tv.value;
    if (v === undefined || v === null) continue;
    switch (p.type) {
      case 'string':
        for (const [s, sort] of stringsOf(tv)) pushStrings(rows, code, ctx, s, sort);
        break;
      case 'token': {
        for (const t of tokensOf(tv)) pushTokens(rows, code, ctx, t.system, t.value);
        // `:text` searches the human text of a code or identifier type, with string semantics.
        const textCode = `${code}:text`;
        for (const text of tokenTextsOf(tv)) pushStrings(rows, textCode, { ...ctx, param: textCode }, text, false);
        // `:of-type` matches Identifier.type (as `system|code`) together with the identifier value.
        if (tv.type === 'Identifier') {
          const i = v as Identifier;
          const typeCode = `${code}:of-type`;
          for (const c of i.type?.coding ?? []) {
            if (c.system && c.code && i.value) pushTokens(rows, typeCode, { ...ctx, param: typeCode }, `${c.system}|${c.code}`, i.value);
          }
        }
        break;
      }
      case 'reference': {
        for (const r of referencesOf(tv)) rows.refs.push({ code, ...r });
        // Logical references (`Reference.identifier`) are searchable with `:identifier`.
        const ident = tv.type === 'Reference' ? (v as Reference).identifier : undefined;
        if (ident && (ident.system || ident.value)) {
          const idCode = `${code}:identifier`;
          pushTokens(rows, idCode, { ...ctx, param: idCode }, ident.system ?? null, ident.value ? ident.value : null);
        }
        break;
      }
      case 'date':
        if (datesAsTokens) {
          // Stored as tokens (system NULL) instead of a range; only the date text itself is indexed.
          if (typeof v === 'string') pushDateTokens(rows, code, ctx, v);
          break;
        }
        for (const r of datesOf(tv)) rows.dates.push({ code, low: sqlInstant(r.low), high: sqlInstant(r.high) });
        break;
      case 'number':
        if (typeof v === 'number') rows.numbers.push({ code, low: String(v), high: String(v) });
        else if (tv.type === 'Range') {
          const r = v as Range;
          rows.numbers.push({ code, low: numOrNull(r.low?.value), high: numOrNull(r.high?.value) });
        }
        break;
      case 'quantity':
        quantitiesOf(rows, code, tv);
        break;
      case 'uri':
        if (typeof v === 'string') rows.uris.push({ code, value: v });
        break;
      default:
        break;
    }
  }
}

function pushDateTokens(rows: IndexRows, code: string, ctx: Ctx, raw: string): void {
  for (const r of indexValueTransform().dates(ctx, raw)) {
    if (r.keyVersion === undefined) rows.tokens.push({ code, system: null, value: r.value });
    else rows.tokens.push({ code, system: null, value: r.value, keyVersion: r.keyVersion });
  }
}

const numOrNull = (n: number | undefined): string | null => (typeof n === 'number' ? String(n) : null);

/** The strings a string parameter matches on, each flagged whether it is the sort form. */
function stringsOf(tv: TypedValue): [string, boolean][] {
  const v: unknown = tv.value;
  if (typeof v === 'string') return [[v, true]];
  if (tv.type === 'HumanName') {
    const n = v as HumanName;
    const parts = [...(n.prefix ?? []), ...(n.given ?? []), ...(n.family ? [n.family] : []), ...(n.suffix ?? [])];
    const out: [string, boolean][] = parts.map((s) => [s, false]);
    if (n.text) out.push([n.text, false]);
    // Matching a whole name ("Ram Sharma") and sorting family-first both need a joined form.
    const full = [...(n.given ?? []), ...(n.family ? [n.family] : [])].join(' ');
    if (full) out.push([full, false]);
    const sortForm = [n.family ?? '', ...(n.given ?? [])].join(' ').trim() || n.text;
    if (sortForm) out.push([sortForm, true]);
    return out;
  }
  if (tv.type === 'Address') {
    const a = v as Address;
    const parts = [...(a.line ?? []), a.city, a.district, a.state, a.postalCode, a.country].filter((s): s is string => !!s);
    const out: [string, boolean][] = parts.map((s) => [s, false]);
    if (a.text) out.push([a.text, false]);
    const full = parts.join(' ');
    if (full) out.push([full, true]);
    return out;
  }
  if (tv.type === 'CodeableConcept') {
    const c = v as CodeableConcept;
    const texts = [c.text, ...(c.coding ?? []).map((x) => x.display)].filter((s): s is string => !!s);
    return texts.map((s, i) => [s, i === 0]);
  }
  if (tv.type === 'Coding') return (v as Coding).display ? [[(v as Coding).display as string, true]] : [];
  return [];
}

type Tok = { system: string | null; value: string | null };

function tokensOf(tv: TypedValue): Tok[] {
  const v: unknown = tv.value;
  switch (tv.type) {
    case 'Identifier': {
      const i = v as Identifier;
      return i.system || i.value ? [{ system: i.system ?? null, value: i.value ?? null }] : [];
    }
    case 'CodeableConcept':
      return ((v as CodeableConcept).coding ?? []).flatMap(codingToken);
    case 'Coding':
      return codingToken(v as Coding);
    case 'ContactPoint': {
      const c = v as ContactPoint;
      // Phone numbers and e-mail addresses compare case-insensitively in practice.
      return c.value ? [{ system: c.system ?? null, value: c.value.toLowerCase() }] : [];
    }
    case 'Reference':
      return [];
    default:
      if (typeof v === 'boolean' || typeof v === 'number') return [{ system: null, value: String(v) }];
      if (typeof v === 'string') return [{ system: null, value: v }];
      return [];
  }
}

function tokenTextsOf(tv: TypedValue): string[] {
  const v: unknown = tv.value;
  switch (tv.type) {
    case 'CodeableConcept': {
      const c = v as CodeableConcept;
      return [c.text, ...(c.coding ?? []).map((x) => x.display)].filter((s): s is string => !!s);
    }
    case 'Coding':
      return (v as Coding).display ? [(v as Coding).display as string] : [];
    case 'Identifier': {
      const t = (v as Identifier).type;
      return [t?.text, ...(t?.coding ?? []).map((x) => x.display)].filter((s): s is string => !!s);
    }
    default:
      return [];
  }
}

function codingToken(c: Coding): Tok[] {
  return c.system || c.code ? [{ system: c.system ?? null, value: c.code ?? null }] : [];
}

function referencesOf(tv: TypedValue): Omit<IndexRows['refs'][number], 'code'>[] {
  const v: unknown = tv.value;
  let ref: string | undefined;
  if (typeof v === 'string')
    ref = v; // canonical / uri-valued reference parameters
  else if (tv.type === 'Reference') ref = (v as Reference).reference;
  if (!ref) return [];
  const p = parseReference(ref);
  return [{ targetType: p.type ?? null, targetId: p.id ?? null, url: p.url ?? null }];
}

function datesOf(tv: TypedValue): { low: number; high: number }[] {
  const v: unknown = tv.value;
  if (typeof v === 'string') {
    const r = dateRange(v);
    return r ? [r] : [];
  }
  if (tv.type === 'Period') return periodRange(v as Period);
  if (tv.type === 'Timing') {
    const t = v as Timing;
    const out = (t.event ?? []).flatMap((e) => {
      const r = dateRange(e);
      return r ? [r] : [];
    });
    if (t.repeat?.boundsPeriod) out.push(...periodRange(t.repeat.boundsPeriod));
    return out;
  }
  return [];
}

function periodRange(p: Period): { low: number; high: number }[] {
  const s = p.start ? dateRange(p.start) : undefined;
  const e = p.end ? dateRange(p.end) : undefined;
  if (!s && !e) return [];
  return [{ low: s ? s.low : Number.NEGATIVE_INFINITY, high: e ? e.high : Number.POSITIVE_INFINITY }];
}

function quantitiesOf(rows: IndexRows, code: string, tv: TypedValue): void {
  const v: unknown = tv.value;
  if (typeof v === 'number') {
    rows.quantities.push({ code, system: null, unitCode: null, unit: null, low: String(v), high: String(v) });
    return;
  }
  if (tv.type === 'Range') {
    const r = v as Range;
    const unitOf = r.low ?? r.high;
    rows.quantities.push({
      code,
      system: unitOf?.system ?? null,
      unitCode: unitOf?.code ?? unitOf?.unit ?? null,
      unit: unitOf?.unit ?? null,
      low: numOrNull(r.low?.value),
      high: numOrNull(r.high?.value),
    });
    return;
  }
  const q = v as Quantity & { currency?: string };
  if (typeof q !== 'object' || typeof q.value !== 'number') return;
  // Money is a quantity whose unit is an ISO 4217 currency.
  const isMoney = tv.type === 'Money';
  rows.quantities.push({
    code,
    system: isMoney ? 'urn:iso:std:iso:4217' : (q.system ?? null),
    unitCode: isMoney ? (q.currency ?? null) : (q.code ?? q.unit ?? null),
    unit: q.unit ?? null,
    low: String(q.value),
    high: String(q.value),
  });
}

function dedupe(rows: IndexRows): IndexRows {
  const uniq = <T>(list: T[]): T[] => {
    const seen = new Set<string>();
    return list.filter((r) => {
      const k = JSON.stringify(r);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  };
  return {
    strings: uniq(rows.strings),
    tokens: uniq(rows.tokens),
    refs: uniq(rows.refs),
    dates: uniq(rows.dates),
    numbers: uniq(rows.numbers),
    quantities: uniq(rows.quantities),
    uris: uniq(rows.uris),
    // Terms are deduplicated where they are grouped into rows (indexing.ts `blindRows`); a JSON key
    // per term here cost more than the hashing that produced them.
    terms: rows.terms,
    shortTerms: uniqTerms(rows.shortTerms),
  };
}

/** One row per (code, group, key version, term): "priya sharma" and "priya" share the prefix "pri". */
function uniqTerms(list: IndexRows['shortTerms']): IndexRows['shortTerms'] {
  const seen = new Set<string>();
  return list.filter((t) => {
    const k = `${t.code}\u0000${t.grp ?? ''}\u0000${t.keyVersion}\u0000${t.term}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
