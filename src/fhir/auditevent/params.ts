/**
 * AuditEvent search parameters -> conditions on the audit log (the `AuditReader` port). The
 * grammar is FHIR's (prefixes, comma = OR, repetition = AND, `system|code` tokens); what each
 * parameter means for a record is documented in docs/ARCHITECTURE.md#auditevent. Anything unknown
 * or unsupported is a 400 naming the parameter, or with `Prefer: handling=lenient` a warning.
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { AuditCondition, ResourceRef, StatusRange, TimeRange } from '../audit-reader.js';
import { badRequest, FhirError, notSupported } from '../outcome.js';
import { type Cursor, decodeCursor } from '../search/cursor.js';
import { dateRange, isId, parseReference, splitEscaped, splitPrefix, unescapeValue } from '../search/values.js';
import { actionsWithBalpAction, actionsWithCoding, AGENT_SYSTEM, AUDIT_EVENT_TYPE, type BalpAction, statusesOf } from './codes.js';

export interface AuditSearch {
  readonly where: AuditCondition[];
  /** Display order: newest first unless `_sort=date`. */
  order: 'asc' | 'desc';
  count: number;
  cursor?: Cursor;
  total: 'none' | 'estimate' | 'accurate';
  summaryCount: boolean;
  /** `_include=AuditEvent:patient`: the Patient resources named by the page's records. */
  includePatients: boolean;
  /** Binds cursors to the search's scope and order. */
  signature: string;
}

export interface AuditSearchOptions {
  readonly lenient: boolean;
  readonly defaultCount: number;
  readonly maxCount: number;
  /** What the cursor is bound to: `AuditEvent`, or the report's `Patient/{id}/$access-report`. */
  readonly scope: string;
  /** Only these parameters are accepted (the access report takes a few); default: all of AuditEvent's supported ones. */
  readonly only?: ReadonlySet<string>;
}

/** The parameters this server answers for AuditEvent (also declared in the CapabilityStatement). */
export const AUDIT_EVENT_PARAMS = ['patient', 'agent', 'date', 'action', 'outcome', 'subtype', 'type', 'entity'] as const;
/** A record's time as the log writes it (toISOString). */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const RESULT_PARAMS = new Set(['_count', '_sort', '_cursor', '_total', '_summary', '_include', '_id', '_lastUpdated', '_since']);
/** R4 AuditEvent parameters this server does not answer: said so, rather than "unknown". */
const R4_UNSUPPORTED = new Set([
  'address',
  'agent-name',
  'agent-role',
  'altid',
  'entity-name',
  'entity-role',
  'entity-type',
  'policy',
  'site',
  'source',
]);

export function parseAuditSearch(
  params: ReadonlyArray<readonly [string, string]>,
  o: AuditSearchOptions,
): { search: AuditSearch; warnings: OperationOutcomeIssue[] } {
  const search: AuditSearch = {
    where: [],
    order: 'desc',
    count: o.defaultCount,
    total: 'none',
    summaryCount: false,
    includePatients: false,
    signature: '',
  };
  const warnings: OperationOutcomeIssue[] = [];
  let rawCursor: string | undefined;
  for (const [name, value] of params) {
    if (name === '_cursor') {
      rawCursor = value;
      continue;
    }
    try {
      if (o.only && !o.only.has(name.split(':')[0] ?? name)) {
        throw badRequest(`'${name}' is not a parameter of this operation (it takes ${[...o.only].join(', ')})`, name);
      }
      parseOne(search, name, value, o);
    } catch (err) {
      if (!(err instanceof FhirError) || !o.lenient) throw err;
      for (const i of err.issues) warnings.push({ ...i, severity: 'warning', diagnostics: `${i.diagnostics ?? ''} (ignored)` });
    }
  }
  if (search.summaryCount) {
    search.count = 0;
    search.total = 'accurate';
  }
  search.signature = `${o.scope}|${search.order === 'desc' ? '-date' : 'date'}`;
  if (rawCursor !== undefined) {
    const c = decodeCursor(rawCursor, search.signature, 1);
    const time = c.keys[0];
    if (!/^\d{1,15}$/.test(c.id) || typeof time !== 'string' || !INSTANT.test(time))
      throw badRequest('_cursor is not a paging cursor this server issued for this search; follow the Bundle links', '_cursor');
    search.cursor = c;
  }
  return { search, warnings };
}

function parseOne(s: AuditSearch, name: string, value: string, o: AuditSearchOptions): void {
  const colon = name.indexOf(':');
  const code = colon < 0 ? name : name.slice(0, colon);
  const modifier = colon < 0 ? undefined : name.slice(colon + 1);
  if (modifier !== undefined && !(code === 'agent' && modifier === 'identifier') && !(code === 'patient' && modifier === 'Patient')) {
    throw notSupported(`the modifier ':${modifier}' is not supported on the AuditEvent parameter '${code}'`, name);
  }
  switch (code) {
    case '_count': {
      if (!/^\d{1,9}$/.test(value)) throw badRequest(`_count must be a non-negative integer, got '${value}'`, '_count');
      const n = Number(value);
      if (n > o.maxCount) {
        if (!o.lenient) throw badRequest(`_count ${n} is above this server's limit of ${o.maxCount}`, '_count');
        s.count = o.maxCount;
      } else s.count = n;
      return;
    }
    case '_sort':
      if (value === 'date' || value === '_lastUpdated') s.order = 'asc';
      else if (value === '-date' || value === '-_lastUpdated') s.order = 'desc';
      else throw notSupported(`AuditEvent sorts only by date: _sort=date or _sort=-date, got '${value}'`, '_sort');
      return;
    case '_total':
      if (value !== 'none' && value !== 'estimate' && value !== 'accurate')
        throw badRequest(`_total must be none, estimate or accurate, got '${value}'`, '_total');
      s.total = value;
      return;
    case '_summary':
      if (value === 'count') s.summaryCount = true;
      else if (value !== 'false')
        throw notSupported(`AuditEvent supports _summary=count and _summary=false only, got '${value}'`, '_summary');
      return;
    case '_include':
      if (value !== 'AuditEvent:patient' && value !== 'AuditEvent:patient:Patient')
        throw notSupported(`AuditEvent supports only _include=AuditEvent:patient, got '${value}'`, '_include');
      s.includePatients = true;
      return;
  }
  // A parameter with an empty value is ignored (FHIR search).
  if (value === '') return;
  const values = splitEscaped(value, ',');
  s.where.push(condition(code, modifier, values, name));
}

function condition(code: string, modifier: string | undefined, values: readonly string[], full: string): AuditCondition {
  switch (code) {
    case '_id':
      return {
        on: 'seq',
        any: values
          .map(unescapeValue)
          .filter((v) => /^[1-9]\d{0,15}$/.test(v))
          .map(Number),
      };
    case 'patient':
      return { on: 'patient', any: values.map((v) => patientId(unescapeValue(v), full)) };
    case 'entity':
      return { on: 'entity', any: values.map((v) => entityRef(unescapeValue(v), full)) };
    case 'agent':
      return { on: 'agent', any: values.map((v) => agentValue(v, modifier === 'identifier', full)) };
    case 'date':
    case '_lastUpdated':
      return { on: 'recorded', any: values.flatMap((v) => dateRanges(v, full)) };
    case '_since': {
      const range = dateRange(value(values, full));
      if (!range || !/T/.test(values[0] ?? ''))
        throw badRequest(`_since must be an instant such as 2024-03-01T10:00:00Z, got '${values[0]}'`, full);
      return { on: 'recorded', any: [{ from: new Date(range.low) }] };
    }
    case 'action':
      return { on: 'action', any: values.flatMap((v) => actionCodes(v, full)) };
    case 'outcome':
      return { on: 'status', any: values.flatMap((v) => outcomeStatuses(v, full)) };
    case 'subtype':
    case 'type':
      return { on: 'action', any: values.flatMap((v) => codingActions(code, v, full)) };
  }
  if (R4_UNSUPPORTED.has(code)) throw notSupported(`the AuditEvent search parameter '${code}' is not supported by this server`, full);
  if (RESULT_PARAMS.has(code) || code.startsWith('_')) throw notSupported(`the parameter '${code}' is not supported on AuditEvent`, full);
  throw badRequest(`'${code}' is not a search parameter of AuditEvent`, full);
}

function value(values: readonly string[], full: string): string {
  if (values.length !== 1) throw badRequest(`${full} takes one value`, full);
  return unescapeValue(values[0] as string);
}

/** `123`, `Patient/123`, `Patient/123/_history/2` or an absolute URL of a Patient. */
function patientId(v: string, full: string): string {
  if (isId(v)) return v;
  const r = parseReference(v);
  if (r.type !== 'Patient' || !r.id) throw badRequest(`${full}: '${v}' is not a Patient reference (Patient/123 or 123)`, full);
  return r.id;
}

function entityRef(v: string, full: string): ResourceRef {
  const r = parseReference(v);
  if (!r.type || !r.id) throw badRequest(`${full}: '${v}' is not a resource reference like Encounter/123`, full);
  return { type: r.type, id: r.id };
}

/**
 * Agents are not FHIR resources in this log but accounts, clients and jobs, named `kind:id`
 * (`agent=system:import`). `agent:identifier` takes the same with or without the system of
 * AuditEvent.agent.who.identifier (`agent:identifier=https://sushruta.example.in/fhir/sid/audit-agent|system:import`).
 */
function agentValue(raw: string, identifier: boolean, full: string): string {
  const parts = splitEscaped(raw, '|').map(unescapeValue);
  let v: string;
  if (identifier && parts.length === 2) {
    if (parts[0] !== AGENT_SYSTEM)
      throw badRequest(`${full}: agents are identified in the system ${AGENT_SYSTEM}, not '${parts[0]}'`, full);
    v = parts[1] as string;
  } else v = unescapeValue(raw);
  if (!/^[a-z][a-z0-9-]*:./.test(v)) {
    throw badRequest(
      `${full}: '${v}' does not name an agent; use kind:id as the log records it (e.g. system:import), or ${AGENT_SYSTEM}|kind:id with :identifier`,
      full,
    );
  }
  return v;
}

/** An instant compared with a date of any precision; `ne` is the two ranges outside it. */
function dateRanges(raw: string, full: string): TimeRange[] {
  const { prefix, rest } = splitPrefix(raw);
  const r = dateRange(rest);
  if (!r) throw badRequest(`${full}: '${raw}' is not a date such as 2024, 2024-03-01 or 2024-03-01T10:00:00+05:30`, full);
  const at = (ms: number) => new Date(ms);
  switch (prefix) {
    case 'eq':
      return [{ from: at(r.low), to: at(r.high) }];
    case 'ne':
      return [{ to: at(r.low - 1) }, { from: at(r.high + 1) }];
    case 'gt':
    case 'sa':
      return [{ from: at(r.high + 1) }];
    case 'lt':
    case 'eb':
      return [{ to: at(r.low - 1) }];
    case 'ge':
      return [{ from: at(r.low) }];
    case 'le':
      return [{ to: at(r.high) }];
    case 'ap':
      throw notSupported(`${full}: the prefix 'ap' is not supported on AuditEvent dates; give a range with ge and le`, full);
  }
}

/** `[system|]code` with the system optional; a system other than `expected` (when given) matches nothing. */
function token(raw: string, full: string): { system?: string; code: string } {
  const parts = splitEscaped(raw, '|').map(unescapeValue);
  if (parts.length === 1) return { code: parts[0] as string };
  if (parts.length === 2 && parts[1]) return { ...(parts[0] ? { system: parts[0] } : {}), code: parts[1] };
  throw badRequest(`${full}: '${unescapeValue(raw)}' is not a token (code or system|code)`, full);
}

function actionCodes(raw: string, full: string): string[] {
  const t = token(raw, full);
  if (t.system !== undefined && t.system !== 'http://hl7.org/fhir/audit-event-action') return [];
  if (!['C', 'R', 'U', 'D', 'E'].includes(t.code))
    throw badRequest(`${full}: '${t.code}' is not an AuditEvent action (C, R, U, D or E)`, full);
  return actionsWithBalpAction(t.code as BalpAction);
}

function outcomeStatuses(raw: string, full: string): StatusRange[] {
  const t = token(raw, full);
  if (
    t.system !== undefined &&
    t.system !== 'http://hl7.org/fhir/audit-event-outcome' &&
    t.system !== 'http://terminology.hl7.org/CodeSystem/audit-event-outcome'
  )
    return [];
  const ranges = statusesOf(t.code);
  if (!ranges) throw badRequest(`${full}: '${t.code}' is not an AuditEvent outcome (0, 4, 8 or 12)`, full);
  return [...ranges];
}

function codingActions(field: 'type' | 'subtype', raw: string, full: string): string[] {
  const t = token(raw, full);
  // `type=rest` needs no system; the DICOM and restful-interaction codes do not collide with it.
  const system = t.system ?? (field === 'type' && t.code === 'rest' ? AUDIT_EVENT_TYPE : undefined);
  return actionsWithCoding(field, system, t.code);
}
