/**
 * Query string → `ParsedSearch`, the checked intermediate form the SQL builder consumes. Every
 * parameter is resolved against the official R4 SearchParameter definitions; anything unknown,
 * unsupported or malformed is a 400 naming the parameter, or (lenient) a warning and ignored.
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { badRequest, FhirError, notSupported } from '../outcome.js';
import { type Cursor, decodeCursor } from './cursor.js';
import { compositeComponents, isResourceType, type ParamDef, searchParam, searchParamsFor, typeSchema } from './definitions.js';
import { type IndexQuery, indexValueTransform } from './normalise.js';
import {
  type DateRange,
  type DecimalValue,
  dateRange,
  isId,
  type Prefix,
  parseDecimal,
  parseReference,
  splitEscaped,
  splitPrefix,
  unescapeValue,
} from './values.js';

export interface SearchOptions {
  lenient: boolean;
  defaultCount: number;
  maxCount: number;
}

/** The value shapes a clause can test, one per search parameter type. */
export type ValueTest =
  | { readonly t: 'string'; readonly mode: 'start' | 'exact' | 'contains'; readonly value: string }
  /** system: undefined = any system, null = no system. code: undefined = any code. */
  | { readonly t: 'token'; readonly system?: string | null; readonly code?: string }
  | { readonly t: 'reference'; readonly type?: string; readonly id?: string; readonly url?: string }
  | { readonly t: 'date'; readonly prefix: Prefix; readonly range: DateRange }
  | { readonly t: 'number'; readonly prefix: Prefix; readonly dec: DecimalValue }
  | { readonly t: 'quantity'; readonly prefix: Prefix; readonly dec: DecimalValue; readonly system?: string; readonly code?: string }
  | { readonly t: 'uri'; readonly mode: 'exact' | 'below' | 'above'; readonly value: string };

export type ParamType = 'string' | 'token' | 'reference' | 'date' | 'number' | 'quantity' | 'uri';

/** Where a parameter's values live: an index table, or a column of `resource`. */
export type Target =
  | { readonly kind: 'index'; readonly code: string; readonly ptype: ParamType }
  | { readonly kind: 'column'; readonly column: 'id' | 'last_updated'; readonly ptype: 'token' | 'date' };

/** One AND-ed condition on the resources of `resourceType`. */
export type Clause =
  /** OR over `tests`; `negate` is token `:not` (no value matches). */
  | { readonly kind: 'match'; readonly target: Target; readonly tests: readonly ValueTest[]; readonly negate: boolean }
  | { readonly kind: 'missing'; readonly target: Target; readonly missing: boolean }
  /** A chained parameter: the reference `code` points at a `targetTypes` resource satisfying `inner`. */
  | { readonly kind: 'chain'; readonly code: string; readonly targetTypes: readonly string[]; readonly inner: Clause }
  /**
   * Composite: OR over `values`; each value is one test per component, all of which must hold for
   * component rows of the same element (`grp`).
   */
  | {
      readonly kind: 'composite';
      readonly components: readonly { readonly code: string; readonly ptype: ParamType }[];
      readonly values: readonly (readonly ValueTest[])[];
    }
  /** Reverse chain: some `sourceType` resource whose reference `code` points here satisfies `inner`. */
  | { readonly kind: 'has'; readonly sourceType: string; readonly code: string; readonly inner: Clause };

export interface SortKey {
  readonly target: Target;
  readonly desc: boolean;
}

export interface IncludeSpec {
  readonly sourceType: string;
  /** Reference parameter codes to follow (several for `Type:*`). */
  readonly codes: readonly string[];
  readonly targetType?: string;
  readonly iterate: boolean;
}

export interface ParsedSearch {
  resourceType: string;
  clauses: Clause[];
  sort: SortKey[];
  include: IncludeSpec[];
  revinclude: IncludeSpec[];
  cursor?: Cursor;
  /** Binds cursors to this search's type and sort order. */
  signature: string;
  count: number;
  summaryCount: boolean;
  total: 'none' | 'estimate' | 'accurate';
  elements?: string[];
  summary?: 'true' | 'text' | 'data' | 'false' | 'count';
}

/** Result parameters that change nothing about which resources match. */
const IGNORED = new Set(['_format', '_pretty']);
const UNSUPPORTED = new Set(['_text', '_content', '_list', '_query', '_filter', '_contained', '_containedType', '_type']);

export function parseSearch(
  resourceType: string,
  params: ReadonlyArray<readonly [string, string]>,
  options: SearchOptions,
): { search: ParsedSearch; warnings: OperationOutcomeIssue[] } {
  if (!isResourceType(resourceType)) throw notSupported(`'${resourceType}' is not a FHIR R4 resource type`);
  const warnings: OperationOutcomeIssue[] = [];
  const search: ParsedSearch = {
    resourceType,
    clauses: [],
    sort: [],
    include: [],
    revinclude: [],
    signature: '',
    count: options.defaultCount,
    summaryCount: false,
    total: 'none',
  };
  let rawCursor: string | undefined;
  for (const [name, value] of params) {
    if (name === '_cursor') {
      rawCursor = value;
      continue;
    }
    try {
      parseOne(search, name, value, options);
    } catch (err) {
      if (!(err instanceof FhirError) || !options.lenient) throw err;
      for (const i of err.issues) warnings.push({ ...i, severity: 'warning', diagnostics: `${i.diagnostics ?? ''} (ignored)` });
    }
  }
  if (search.summary === 'count') {
    search.summaryCount = true;
    search.count = 0;
    search.total = 'accurate';
  }
  search.signature = `${resourceType}|${search.sort.map((k) => `${k.desc ? '-' : ''}${targetName(k.target)}`).join(',')}`;
  if (rawCursor !== undefined) {
    const c = decodeCursor(rawCursor, search.signature, search.sort.length);
    search.sort.forEach((k, i) => {
      const v = c.keys[i];
      if (v === null || v === undefined) return;
      const ok =
        k.target.ptype === 'date'
          ? !Number.isNaN(Date.parse(v))
          : k.target.ptype === 'number' || k.target.ptype === 'quantity'
            ? parseDecimal(v) !== undefined
            : true;
      if (!ok) throw badRequest('_cursor is not a paging cursor this server issued for this search; follow the Bundle links', '_cursor');
    });
    search.cursor = c;
  }
  return { search, warnings };
}

function targetName(t: Target): string {
  return t.kind === 'index' ? t.code : t.column === 'id' ? '_id' : '_lastUpdated';
}

function parseOne(search: ParsedSearch, name: string, value: string, options: SearchOptions): void {
  if (IGNORED.has(name)) return;
  if (UNSUPPORTED.has(name)) throw notSupported(`the search parameter '${name}' is not supported by this server`, name);
  switch (name) {
    case '_count': {
      if (!/^\d{1,9}$/.test(value)) throw badRequest(`_count must be a non-negative integer, got '${value}'`, '_count');
      const n = Number(value);
      if (n > options.maxCount) {
        if (!options.lenient) throw badRequest(`_count ${n} is above this server's limit of ${options.maxCount}`, '_count');
        search.count = options.maxCount;
        return;
      }
      search.count = n;
      return;
    }
    case '_total':
      if (value !== 'none' && value !== 'estimate' && value !== 'accurate')
        throw badRequest(`_total must be none, estimate or accurate, got '${value}'`, '_total');
      search.total = value;
      return;
    case '_summary':
      if (!['true', 'text', 'data', 'false', 'count'].includes(value))
        throw badRequest(`_summary must be true, text, data, false or count, got '${value}'`, '_summary');
      search.summary = value as ParsedSearch['summary'];
      return;
    case '_elements':
      search.elements = parseElements(search.resourceType, value);
      return;
    case '_sort':
      search.sort.push(...parseSort(search.resourceType, value));
      return;
    case '_include':
    case '_include:iterate':
    case '_include:recurse':
      search.include.push(parseInclude(search.resourceType, name, value, false));
      return;
    case '_revinclude':
    case '_revinclude:iterate':
    case '_revinclude:recurse':
      search.revinclude.push(parseInclude(search.resourceType, name, value, true));
      return;
    default:
      break;
  }
  // Spec: a parameter with an empty value is ignored.
  if (value === '') return;
  search.clauses.push(parseClause(search.resourceType, name, value, name));
}

/** Resolves `key=value` (a filter parameter) on `type`; `full` is the original name, for errors. */
function parseClause(type: string, key: string, value: string, full: string): Clause {
  if (key.startsWith('_has:')) return parseHas(type, key, value, full);
  const dot = key.indexOf('.');
  if (dot >= 0) return parseChain(type, key.slice(0, dot), key.slice(dot + 1), value, full);
  const colon = key.indexOf(':');
  const code = colon >= 0 ? key.slice(0, colon) : key;
  const modifier = colon >= 0 ? key.slice(colon + 1) : undefined;
  const def = searchParam(type, code);
  if (def?.type === 'composite') return parseComposite(type, def, modifier, value, full);
  const target = resolveTarget(type, code, full);
  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') throw badRequest(`${full} must be true or false, got '${value}'`, full);
    return { kind: 'missing', target, missing: value === 'true' };
  }
  checkModifier(type, target, modifier, full);
  if (target.kind === 'index' && (modifier === 'text' || modifier === 'of-type' || modifier === 'identifier')) {
    // Served from derived index rows (see extract.ts): `code:text` strings, `code:of-type` and
    // `code:identifier` tokens.
    const derived: Target = { kind: 'index', code: `${code}:${modifier}`, ptype: modifier === 'text' ? 'string' : 'token' };
    const tests = splitEscaped(value, ',').map((v) =>
      modifier === 'of-type' ? parseOfType(v, full) : parseTest(derived.ptype, undefined, v, full),
    );
    for (const t of tests) refuseIfUnservable(type, derived.code, t, full);
    return { kind: 'match', target: derived, tests, negate: false };
  }
  const ptype = target.ptype;
  const tests = splitEscaped(value, ',').map((v) => parseTest(ptype, modifier, v, full));
  if (target.kind === 'index') for (const t of tests) refuseIfUnservable(type, target.code, t, full);
  return { kind: 'match', target, tests, negate: modifier === 'not' };
}

/**
 * Asks the installed index transform whether a test can be answered from the index at all (a blind
 * index cannot do `:contains`, a date range, ...): a 400 not-supported with its reason if not.
 */
function refuseIfUnservable(type: string, code: string, test: ValueTest, full: string): void {
  let q: IndexQuery;
  if (test.t === 'string') q = { kind: 'string', mode: test.mode, value: test.value };
  else if (test.t === 'token') {
    if (test.code === undefined) return;
    q = { kind: 'token', value: test.code };
  } else if (test.t === 'date') q = { kind: 'date', prefix: test.prefix, low: test.range.low, high: test.range.high };
  else return;
  const reason = indexValueTransform().refusal({ resourceType: type, param: code, type: q.kind }, q);
  if (reason !== undefined) throw notSupported(`${full}: ${reason}`, full);
}

function resolveTarget(type: string, code: string, full: string): Target {
  if (code === '_id') return { kind: 'column', column: 'id', ptype: 'token' };
  if (code === '_lastUpdated') return { kind: 'column', column: 'last_updated', ptype: 'date' };
  const def = searchParam(type, code);
  if (!def) throw badRequest(`'${code}' is not a search parameter of ${type}`, full);
  if (def.type === 'composite' || def.type === 'special') {
    throw notSupported(`the ${def.type} search parameter '${code}' is not supported by this server`, full);
  }
  return { kind: 'index', code, ptype: def.type as ParamType };
}

function checkModifier(type: string, target: Target, modifier: string | undefined, full: string): void {
  if (modifier === undefined) return;
  const allowed: Record<ParamType, readonly string[]> = {
    string: ['exact', 'contains'],
    token: target.kind === 'index' ? ['not', 'text', 'of-type'] : ['not'],
    reference: ['identifier'],
    date: [],
    number: [],
    quantity: [],
    uri: ['below', 'above'],
  };
  if (allowed[target.ptype].includes(modifier)) return;
  if (target.ptype === 'reference' && target.kind === 'index' && referenceTargets(type, target.code).includes(modifier)) return;
  throw notSupported(`the modifier ':${modifier}' is not supported on the ${target.ptype} parameter '${full.split(':')[0]}'`, full);
}

function referenceTargets(type: string, code: string): readonly string[] {
  return searchParam(type, code)?.targets ?? [];
}

function parseTest(ptype: ParamType, modifier: string | undefined, raw: string, full: string): ValueTest {
  const bad = (what: string) => badRequest(`${full}: '${unescapeValue(raw)}' is not ${what}`, full);
  switch (ptype) {
    case 'string': {
      const mode = modifier === 'exact' ? 'exact' : modifier === 'contains' ? 'contains' : 'start';
      const value = unescapeValue(raw);
      if (value === '') throw bad('a non-empty string');
      return { t: 'string', mode, value };
    }
    case 'token': {
      const parts = splitEscaped(raw, '|').map(unescapeValue);
      if (parts.length === 1) return { t: 'token', code: parts[0] as string };
      if (parts.length !== 2) throw bad('a token (code, system|code, |code or system|)');
      const [system, code] = parts as [string, string];
      if (system === '' && code === '') throw bad('a token (code, system|code, |code or system|)');
      return { t: 'token', system: system === '' ? null : system, ...(code === '' ? {} : { code }) };
    }
    case 'reference': {
      const v = unescapeValue(raw);
      if (modifier) {
        // `subject:Patient=123` (or, redundantly, `subject:Patient=Patient/123`).
        const p = parseReference(v);
        if (p.type && p.type !== modifier) throw bad(`a ${modifier} reference`);
        const id = p.id ?? v;
        if (!isId(id)) throw bad('a resource id');
        return { t: 'reference', type: modifier, id };
      }
      if (isId(v)) return { t: 'reference', id: v };
      const p = parseReference(v);
      return { t: 'reference', ...(p.type ? { type: p.type } : {}), ...(p.id ? { id: p.id } : {}), ...(p.url ? { url: p.url } : {}) };
    }
    case 'date': {
      const { prefix, rest } = splitPrefix(raw);
      const range = dateRange(rest);
      if (!range) throw bad('a date such as 2024, 2024-03, 2024-03-01 or 2024-03-01T10:00:00+05:30');
      return { t: 'date', prefix, range };
    }
    case 'number': {
      const { prefix, rest } = splitPrefix(raw);
      const dec = parseDecimal(rest);
      if (!dec) throw bad('a number');
      return { t: 'number', prefix, dec };
    }
    case 'quantity': {
      const parts = splitEscaped(raw, '|').map(unescapeValue);
      if (parts.length !== 1 && parts.length !== 3) throw bad('a quantity ([prefix]number|system|code)');
      const { prefix, rest } = splitPrefix(parts[0] as string);
      const dec = parseDecimal(rest);
      if (!dec) throw bad('a quantity ([prefix]number|system|code)');
      const system = parts[1] || undefined;
      const code = parts[2] || undefined;
      return { t: 'quantity', prefix, dec, ...(system ? { system } : {}), ...(code ? { code } : {}) };
    }
    case 'uri':
      return { t: 'uri', mode: modifier === 'below' ? 'below' : modifier === 'above' ? 'above' : 'exact', value: unescapeValue(raw) };
  }
}

/** `code-value-quantity=http://loinc.org|2345-7$gt5` (components separated by `$`). */
function parseComposite(type: string, def: ParamDef, modifier: string | undefined, value: string, full: string): Clause {
  if (modifier !== undefined)
    throw notSupported(`the modifier ':${modifier}' is not supported on the composite parameter '${def.code}'`, full);
  const comps = compositeComponents(def);
  if (!comps) throw notSupported(`the composite search parameter '${def.code}' is not supported by this server`, full);
  const components = comps.map((c, i) => ({ code: `${def.code}:${i}`, ptype: c.type as ParamType }));
  const values = splitEscaped(value, ',').map((v) => {
    const parts = splitEscaped(v, '$');
    if (parts.length !== components.length) {
      throw badRequest(`${full}: '${unescapeValue(v)}' must have ${components.length} parts separated by '$'`, full);
    }
    return components.map((c, i) => {
      const test = parseTest(c.ptype, undefined, parts[i] as string, full);
      refuseIfUnservable(type, c.code, test, full);
      return test;
    });
  });
  return { kind: 'composite', components, values };
}

/** `identifier:of-type=typeSystem|typeCode|value`. */
function parseOfType(raw: string, full: string): ValueTest {
  const parts = splitEscaped(raw, '|').map(unescapeValue);
  const [system, code, value] = parts;
  if (parts.length !== 3 || !system || !code || !value)
    throw badRequest(`${full}: '${unescapeValue(raw)}' is not typeSystem|typeCode|value`, full);
  return { t: 'token', system: `${system}|${code}`, code: value };
}

/** `subject:Patient.name=x` or `subject.name=x` (one level only). */
function parseChain(type: string, head: string, rest: string, value: string, full: string): Clause {
  const colon = head.indexOf(':');
  const code = colon >= 0 ? head.slice(0, colon) : head;
  const typeModifier = colon >= 0 ? head.slice(colon + 1) : undefined;
  const def = searchParam(type, code);
  if (!def) throw badRequest(`'${code}' is not a search parameter of ${type}`, full);
  if (def.type !== 'reference') throw badRequest(`'${code}' is not a reference parameter, so it cannot be chained`, full);
  const innerKey = rest;
  if (innerKey.includes('.')) throw notSupported('only one level of chaining is supported', full);
  if (innerKey.startsWith('_has:')) throw notSupported('_has inside a chain is not supported', full);
  const innerCode = innerKey.split(':')[0] as string;
  let targets: string[];
  if (typeModifier) {
    if (!def.targets.includes(typeModifier)) throw badRequest(`${type}.${code} cannot refer to a ${typeModifier}`, full);
    targets = [typeModifier];
  } else {
    targets = def.targets.filter((t) => innerCode === '_id' || innerCode === '_lastUpdated' || searchParamsFor(t).has(innerCode));
    if (targets.length === 0)
      throw badRequest(`no resource type that ${type}.${code} refers to has a search parameter '${innerCode}'`, full);
    if (targets.length > 1) {
      throw badRequest(
        `'${full}' is ambiguous: ${code} may refer to ${targets.join(', ')}; name the type, e.g. ${code}:${targets[0]}.${innerKey}`,
        full,
      );
    }
  }
  const target = targets[0] as string;
  const inner = parseClause(target, innerKey, value, full);
  return { kind: 'chain', code, targetTypes: [target], inner };
}

/** `_has:Observation:patient:code=1234-5`, nesting allowed (`_has:A:x:_has:B:y:code`). */
function parseHas(type: string, key: string, value: string, full: string): Clause {
  const parts = key.split(':');
  const sourceType = parts[1];
  const code = parts[2];
  const rest = parts.slice(3).join(':');
  if (!sourceType || !code || !rest) throw badRequest(`${full} must look like _has:Type:reference:parameter`, full);
  if (!isResourceType(sourceType)) throw badRequest(`'${sourceType}' in ${full} is not a resource type`, full);
  if (sourceType === 'AuditEvent') throw notSupported(AUDIT_EVENT_ELSEWHERE, full);
  const def = searchParam(sourceType, code);
  if (def?.type !== 'reference') throw badRequest(`'${code}' is not a reference parameter of ${sourceType}`, full);
  if (def.targets.length > 0 && !def.targets.includes(type)) throw badRequest(`${sourceType}.${code} cannot refer to a ${type}`, full);
  return { kind: 'has', sourceType, code, inner: parseClause(sourceType, rest, value, full) };
}

/** AuditEvents are the audit log, not rows of the resource store that a join could reach. */
const AUDIT_EVENT_ELSEWHERE =
  'AuditEvent is served from the audit log and cannot be joined to other searches; search AuditEvent?patient=… or use Patient/{id}/$access-report';

const SORTABLE: ReadonlySet<string> = new Set(['string', 'token', 'date', 'number', 'quantity', 'reference', 'uri']);

function parseSort(type: string, value: string): SortKey[] {
  return value.split(',').map((raw) => {
    const s = raw.trim();
    const desc = s.startsWith('-');
    const code = desc ? s.slice(1) : s;
    if (code === '') throw badRequest(`_sort has an empty key in '${value}'`, '_sort');
    const target = resolveTarget(type, code, '_sort');
    if (!SORTABLE.has(target.ptype)) throw notSupported(`cannot sort on '${code}'`, '_sort');
    if (
      target.kind === 'index' &&
      (target.ptype === 'string' || target.ptype === 'token' || target.ptype === 'date') &&
      indexValueTransform().handling({ resourceType: type, param: code, type: target.ptype }).blind
    ) {
      throw notSupported(
        `cannot sort on '${code}': ${type}.${code} holds personal data and is stored only as keyed blind indexes (hashes), which keep no order`,
        '_sort',
      );
    }
    return { target, desc };
  });
}

function parseInclude(type: string, name: string, value: string, rev: boolean): IncludeSpec {
  const iterate = name.endsWith(':iterate') || name.endsWith(':recurse');
  const parts = value.split(':');
  const [sourceType, code, targetType] = parts;
  if (parts.length < 2 || parts.length > 3 || !sourceType || !code) {
    throw badRequest(`${name} must look like Type:parameter or Type:parameter:TargetType, got '${value}'`, name);
  }
  if (!isResourceType(sourceType)) throw badRequest(`'${sourceType}' in ${name} is not a resource type`, name);
  if (rev && sourceType === 'AuditEvent') throw notSupported(AUDIT_EVENT_ELSEWHERE, name);
  if (!rev && !iterate && sourceType !== type) throw badRequest(`${name}=${value} must start with the searched type ${type}`, name);
  if (targetType !== undefined && !isResourceType(targetType)) throw badRequest(`'${targetType}' in ${name} is not a resource type`, name);
  let codes: string[];
  if (code === '*') {
    codes = [...searchParamsFor(sourceType).values()].filter((p) => p.type === 'reference').map((p) => p.code);
  } else {
    const def: ParamDef | undefined = searchParam(sourceType, code);
    if (def?.type !== 'reference') throw badRequest(`'${code}' is not a reference parameter of ${sourceType}`, name);
    if (targetType && def.targets.length > 0 && !def.targets.includes(targetType))
      throw badRequest(`${sourceType}.${code} cannot refer to a ${targetType}`, name);
    if (rev && !iterate && def.targets.length > 0 && !def.targets.includes(type))
      throw badRequest(`${sourceType}.${code} cannot refer to a ${type}`, name);
    codes = [code];
  }
  return { sourceType, codes, ...(targetType ? { targetType } : {}), iterate };
}

function parseElements(type: string, value: string): string[] {
  const schema = typeSchema(type);
  const known = new Set(Object.keys(schema.elements).map((k) => k.replace('[x]', '')));
  const out: string[] = [];
  for (const raw of value.split(',')) {
    const e = raw.trim();
    if (e === '') continue;
    // `Patient.name` is allowed too (R5 style); keep the element name.
    const name = e.startsWith(`${type}.`) ? e.slice(type.length + 1) : e;
    if (!known.has(name)) throw badRequest(`'${e}' in _elements is not an element of ${type}`, '_elements');
    out.push(name);
  }
  return out;
}
