/**
 * What gets stored (and compared) for a string, token or date search value. Everything that
 * decides the bytes in the index passes through the installed `IndexValueTransform`:
 *
 * - indexing asks it for the rows of one stored value (`strings`, `tokens`, `dates`): one value may
 *   give several rows (a blind index stores one keyed hash per prefix, per word, per key version...);
 * - the parser asks it, without a tenant, whether a parameter is transformed (`handling`: sorting
 *   is refused, a birth date moves to the token table) and whether a query can be served at all
 *   (`refusal`: `:contains` on a blind index, a date range on a blind birth date...);
 * - the SQL builder asks it how one query value is compared (`compare`): equality of a column
 *   against a set of values (one per index-key version), LIKE on plaintext, or a refusal.
 *
 * The default `identityTransform` stores values as they are and compares them exactly as this
 * module always has (LIKE for starts-with/contains, `=` otherwise). The keyed blind-index transform
 * lives in src/security/crypto/blind-transform.ts (fhir/ never imports security/) and is installed
 * at start-up with `setIndexValueTransform`.
 */
import type { TenantId } from '../types.js';
import { likeEscape } from './values.js';

/**
 * Case- and accent-insensitive form of a string. NFKD splits "é" into "e" + U+0301 so the accent
 * can be dropped; only the Latin combining diacritics block (U+0300–U+036F) is removed, because
 * Indic scripts carry vowel signs and viramas as combining marks too (stripping every \p{M}
 * would turn "श्रीनिवास" into consonant soup that matches unrelated names). NFC at the end
 * recomposes what is left so equal text has one byte form.
 */
export function normaliseString(s: string): string {
  return s
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[\u0300-\u036f]/g, '')
    .normalize('NFC')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Exact form for `:exact`: only Unicode-canonicalised, so "José" typed NFC or NFD is one value. */
export function exactString(s: string): string {
  return s.normalize('NFC');
}

/** The search parameter types whose values a transform may change. */
export type IndexedType = 'string' | 'token' | 'date';

/** One search parameter of one resource type, without a tenant (what the parser knows). */
export interface IndexParam {
  readonly resourceType: string;
  /**
   * Search parameter code as stored: `name`, `identifier`, and the derived codes extract.ts writes
   * (`identifier:text`, `identifier:of-type`, `subject:identifier`, composite components `x:0`).
   */
  readonly param: string;
  readonly type: IndexedType;
}

/** A parameter in a tenant: what indexing and the SQL builder know. */
export interface IndexValueContext {
  readonly tenantId: TenantId;
  readonly resourceType: string;
  readonly param: string;
}

/**
 * One row of search_string. `keyVersion` is set on rows derived with a key (blind indexes). For a
 * parameter whose `handling` says `storedAs: 'terms'`, `norm` and `exact` are instead terms of the
 * resource's search_blind row (signed 64-bit integers in decimal; an empty string is no term).
 */
export interface StoredString {
  readonly norm: string;
  readonly exact: string;
  readonly keyVersion?: number;
  /**
   * `norm` is a term many resources share (the prefix of a few code points a receptionist types
   * first): stored as a row of search_blind_short, whose B-tree returns the matching resources in
   * id order, instead of in the search_blind array. Only with `storedAs: 'terms'`.
   */
  readonly short?: boolean;
}

/** The `value` of one row of search_token (the system is stored as given). */
export interface StoredToken {
  readonly value: string;
  readonly keyVersion?: number;
}

/** A query value, as far as the transform needs to see it. */
export type IndexQuery =
  | { readonly kind: 'string'; readonly mode: 'start' | 'exact' | 'contains'; readonly value: string }
  /** The code part of a token test (already lower-cased for ContactPoint parameters). */
  | { readonly kind: 'token'; readonly value: string }
  /** A date test; low/high are the inclusive epoch-millisecond range of the searched value. */
  | { readonly kind: 'date'; readonly prefix: string; readonly low: number; readonly high: number };

/** How one query value is compared with the index rows. Column names come from this fixed set. */
export type Comparison =
  /** `column = value` (one value) or `column = ANY(values)`; no value matches nothing. */
  | { readonly op: 'eq'; readonly column: 'value_norm' | 'value_exact' | 'value'; readonly values: readonly string[] }
  /** Any of `values` (64-bit integers in decimal) among the terms of a search_blind row; none matches nothing. */
  | { readonly op: 'terms'; readonly values: readonly string[] }
  /** Any of `values` (64-bit integers in decimal) is the term of a search_blind_short row (`StoredString.short`). */
  | { readonly op: 'short-terms'; readonly values: readonly string[] }
  /** `column LIKE pattern` on stored plaintext; `\` escapes. */
  | { readonly op: 'like'; readonly column: 'value_norm'; readonly pattern: string }
  /** The query cannot be answered from this index; `reason` is shown to the client (400 not-supported). */
  | { readonly op: 'refuse'; readonly reason: string };

/** How a parameter is indexed, independent of tenant and value. */
export interface ParamHandling {
  /** True when the stored values are not the plaintext (no ordering, no substring). */
  readonly blind: boolean;
  /**
   * `token`: a date parameter whose values are stored as tokens in search_token (a blind birth date).
   * `terms`: a string parameter whose values are keyed terms in search_blind (compared with `op: 'terms'`)
   * and, for the short prefixes many resources share, rows of search_blind_short (`op: 'short-terms'`).
   */
  readonly storedAs?: 'token' | 'terms';
}

export interface IndexValueTransform {
  /** Tenant-independent description of a parameter (sorting, table). */
  handling(p: IndexParam): ParamHandling;
  /** Why `q` cannot be served on `p` (a sentence for the client), or undefined when it can. Tenant-independent. */
  refusal(p: IndexParam, q: IndexQuery): string | undefined;
  /** Rows for one stored string value (raw, as in the resource). */
  strings(ctx: IndexValueContext, raw: string): readonly StoredString[];
  /** Rows for one stored token code (already lower-cased for ContactPoints). */
  tokens(ctx: IndexValueContext, value: string): readonly StoredToken[];
  /**
   * Token rows replacing the date row of one stored date value, when `handling` says
   * `storedAs: 'token'`; never called otherwise.
   */
  dates(ctx: IndexValueContext, raw: string): readonly StoredToken[];
  /** The comparison for one query value (date queries only when `handling` says `storedAs: 'token'`). */
  compare(ctx: IndexValueContext, q: IndexQuery): Comparison;
}

const PLAIN: ParamHandling = Object.freeze({ blind: false });

/** Stores plaintext (normalised) and compares it exactly as this module always has. */
export const identityTransform: IndexValueTransform = {
  handling: () => PLAIN,
  refusal: () => undefined,
  strings: (_ctx, raw) => [{ norm: normaliseString(raw), exact: exactString(raw) }],
  tokens: (_ctx, value) => [{ value }],
  dates: () => [],
  compare: (_ctx, q) => {
    switch (q.kind) {
      case 'string':
        if (q.mode === 'exact') return { op: 'eq', column: 'value_exact', values: [exactString(q.value)] };
        return {
          op: 'like',
          column: 'value_norm',
          pattern: q.mode === 'contains' ? `%${likeEscape(normaliseString(q.value))}%` : `${likeEscape(normaliseString(q.value))}%`,
        };
      case 'token':
        return { op: 'eq', column: 'value', values: [q.value] };
      case 'date':
        return { op: 'refuse', reason: 'dates are not stored as tokens by the identity transform' };
    }
  },
};

let current: IndexValueTransform = identityTransform;

export function setIndexValueTransform(t: IndexValueTransform): void {
  current = t;
}

export function indexValueTransform(): IndexValueTransform {
  return current;
}
