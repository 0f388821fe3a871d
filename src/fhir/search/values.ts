/**
 * Value grammar shared by indexing and querying: date ranges from precision, decimal precision,
 * comparison prefixes, escaped lists and reference strings. Both sides use the same functions so
 * a stored range and a searched range always mean the same instants.
 */
import { isResourceType } from './definitions.js';

export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';
const PREFIXES: ReadonlySet<string> = new Set(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']);

/** Splits off a comparison prefix when one is present and followed by a value. */
export function splitPrefix(v: string): { prefix: Prefix; rest: string } {
  const p = v.slice(0, 2);
  if (PREFIXES.has(p) && v.length > 2) return { prefix: p as Prefix, rest: v.slice(2) };
  return { prefix: 'eq', rest: v };
}

/** An inclusive instant range in epoch milliseconds; ±Infinity for an open end. */
export interface DateRange {
  readonly low: number;
  readonly high: number;
}

const DATE_RE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * The range a FHIR date, dateTime or instant covers: `2024` is the whole year, `2024-03-01T10:00Z`
 * the whole minute. Values without a zone are read as UTC (FHIR requires a zone whenever a time is
 * given; dates alone have none). Returns undefined for anything that is not a valid date.
 */
export function dateRange(v: string): DateRange | undefined {
  const m = DATE_RE.exec(v);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y);
  const month = mo ? Number(mo) : 1;
  const day = d ? Number(d) : 1;
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const hour = h ? Number(h) : 0;
  const minute = mi ? Number(mi) : 0;
  const second = s ? Number(s) : 0;
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  const ms = frac ? Number(frac.padEnd(3, '0').slice(0, 3)) : 0;
  let offsetMin = 0;
  if (tz && tz !== 'Z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    offsetMin = sign * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6)));
  }
  const start = Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMin * 60_000;
  // Reject 2023-02-30 and friends: Date.UTC silently rolls them over.
  if (d && new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return undefined;
  let end: number;
  if (!mo) end = Date.UTC(year + 1, 0, 1);
  else if (!d) end = Date.UTC(year, month, 1);
  else if (!h) end = Date.UTC(year, month - 1, day + 1);
  else if (!s) end = start + 60_000;
  else if (!frac) end = start + 1000;
  else end = start + 10 ** Math.max(0, 3 - frac.length);
  return { low: start, high: end - 1 };
}

/** How a timestamp bound is passed to SQL: ISO text, or PostgreSQL's ±infinity. */
export function sqlInstant(ms: number): string {
  if (ms === Number.POSITIVE_INFINITY) return 'infinity';
  if (ms === Number.NEGATIVE_INFINITY) return '-infinity';
  return new Date(ms).toISOString();
}

/** A decimal as written, with the half-unit of its last significant digit (`100` → 0.5, `1.50` → 0.005). */
export interface DecimalValue {
  readonly value: string;
  readonly half: string;
}

const DECIMAL_RE = /^[+-]?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

export function parseDecimal(v: string): DecimalValue | undefined {
  const m = DECIMAL_RE.exec(v);
  if (!m) return undefined;
  const decimals = m[2]?.length ?? 0;
  const exp = m[3] ? Number(m[3]) : 0;
  if (!Number.isFinite(Number(v)) || Math.abs(exp) > 300) return undefined;
  // 0.5 × 10^(exp − decimals), written so PostgreSQL's numeric parses it exactly.
  return { value: v, half: `5e${exp - decimals - 1}` };
}

/**
 * Splits a parameter value on unescaped `sep` and removes the escapes (`\,` `\|` `\$` `\\`), as the
 * FHIR search grammar prescribes. Splitting on `,` first and `|` later keeps `a\|b,c` meaning
 * two values of which the first contains a literal bar.
 */
export function splitEscaped(v: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i] as string;
    if (c === '\\' && i + 1 < v.length) {
      cur += c + (v[i + 1] as string);
      i++;
    } else if (c === sep) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

export function unescapeValue(v: string): string {
  return v.replace(/\\([\\,|$])/g, '$1');
}

export interface ParsedReference {
  readonly type?: string;
  readonly id?: string;
  /** The reference as written when it is absolute (or otherwise not Type/id). */
  readonly url?: string;
}

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

/** `Type/id`, `Type/id/_history/n`, `http://host/base/Type/id`, `urn:uuid:...`, `#contained`. */
export function parseReference(ref: string): ParsedReference {
  const rel = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]+)?$/.exec(ref);
  if (rel && isResourceType(rel[1] as string)) return { type: rel[1] as string, id: rel[2] as string };
  const abs = /^https?:\/\/.+\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]+)?$/.exec(ref);
  if (abs && isResourceType(abs[1] as string)) return { type: abs[1] as string, id: abs[2] as string, url: ref };
  return { url: ref };
}

export function isId(v: string): boolean {
  return ID_RE.test(v);
}

/** Escapes LIKE wildcards so user text matches literally (we use `\` as the LIKE escape). */
export function likeEscape(v: string): string {
  return v.replace(/[\\%_]/g, (c) => `\\${c}`);
}
