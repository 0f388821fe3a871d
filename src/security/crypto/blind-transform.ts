/**
 * The keyed blind-index transform of the search index (DESIGN.md invariant 2: search on personal
 * data through keyed blind indexes). Installed at start-up with `setIndexValueTransform`; the
 * search module knows only the `IndexValueTransform` interface (fhir/ never imports security/).
 * Full description, and what each index leaks: docs/BLIND-INDEXES.md.
 *
 * Every protected value is stored as blindIndex(index key, tenant, resource type, code, mode, value)
 * (blind-index.ts: HMAC-SHA-256 under the tenant's INDEX key, length-prefixed encoding, truncated
 * to 8 bytes): tokens as 11 characters of base64url in search_token; strings as signed 64-bit
 * terms, all the terms of one parameter of one resource in one search_blind row (a GIN-indexed
 * bigint[]; `digestTerm`), except the prefixes of 1-3 code points, which many patients share: one
 * B-tree row each in search_blind_short, so a search reads its first page in id order. Rows record the index-key version (ACTIVE
 * version on write); a query hashes its value under every index-key version the ring has loaded
 * for the tenant, so searches keep working while a rebuild moves rows to a new version.
 *
 * Protected (default policy, `defaultBlindPolicy`):
 *  - every string parameter of every resource type (and the derived `x:text` strings), except the
 *    few that identify no one (`PLAIN_STRINGS`: identifier type labels, country, language):
 *      prefix terms  H('prefix', p) for every prefix of 2..16 code points of the whole
 *                    normalised value and of each whitespace-separated word (first 32 words; a 1-code-point value or
 *                    word is stored as itself); query: H('prefix', first 16 code points of the
 *                    normalised query);
 *      exact term    H('exact', NFC value); query `:exact`;
 *      `:contains`   refused;
 *  - `phonetic` on Patient, Person, RelatedPerson, Practitioner: H('phonetic', key) per word and
 *    H('phonetic', all keys joined by a space); query: one word -> its key, several -> the joined key;
 *  - tokens `identifier` (and `identifier:of-type`), `telecom`, `phone`, `email` on Patient, Person,
 *    RelatedPerson, Practitioner, and every logical-reference identifier (`subject:identifier`...)
 *    on every type: H('token', normalised value) in value; the system stays plain;
 *  - `birthdate` on Patient, Person, RelatedPerson: tokens H('date', YYYY), H('date', YYYY-MM),
 *    H('date', YYYY-MM-DD) (as far as the value's precision goes) in search_token, no date row.
 *
 * Cost: one HMAC-SHA-256 per distinct (parameter, mode, value), about 2.5 µs; the constant part of
 * the message is encoded once per context and recent digests are cached (`blindDigest`), so the
 * prefixes a Patient repeats across name, given, family, text and sort forms are hashed once.
 * Measured figures: docs/BLIND-INDEXES.md.
 */
import { createHmac } from 'node:crypto';
import {
  type Comparison,
  exactString,
  type IndexedType,
  type IndexParam,
  type IndexQuery,
  type IndexValueContext,
  type IndexValueTransform,
  identityTransform,
  normaliseString,
  type ParamHandling,
  type StoredString,
  type StoredToken,
} from '../../fhir/search/normalise.js';
import type { BlindMode } from './blind-index.js';
import type { KeyRing } from './keyring.js';
import { indicPhoneticTokens } from './phonetic.js';

/** How a protected parameter is indexed. */
export type BlindClass =
  /** Prefix + exact rows (names, addresses, free text). */
  | 'string'
  /** Phonetic keys of names. */
  | 'phonetic'
  /** Identifier values: digits-only when the value is only digits and separators (ABHA, Aadhaar). */
  | 'identifier'
  /** Phone numbers: digits only, Indian numbers reduced to the 10-digit subscriber number. */
  | 'phone'
  /** E-mail addresses: lower-cased. */
  | 'email'
  /** ContactPoint values of any system: e-mail when it contains '@', phone when it looks like one. */
  | 'telecom'
  /** A birth date: year, year-month and full date tokens. */
  | 'birthdate';

export interface BlindIndexPolicy {
  /** The class of a parameter, or undefined to keep it plain. Must be pure (results are cached). */
  classify(resourceType: string, param: string, type: IndexedType): BlindClass | undefined;
  /** Digest bytes kept (4..32); 8 by default. Changing it needs a full re-index. */
  readonly bytes: number;
  /**
   * Index-key versions a query hashes under, given the active one. Default: every version the ring
   * has loaded for the tenant (active and older, not destroyed). A deployment that knows which
   * versions still have rows (e.g. from `indexKeyVersionsInUse`) can narrow it.
   */
  queryVersions?(tenantId: string, active: number, loaded: readonly number[]): readonly number[];
}

/**
 * String parameters that identify no one and stay plain (sortable, `:contains`):
 *  - `identifier:text`: an identifier's type label ("ABHA number", "UHID"), never its value: the
 *    same information as the plain system;
 *  - `address-country`: a country;
 *  - `language:text`: the name of a language ("Hindi").
 * Keeping them plain saves ~12 keyed hashes per registered patient. The full `address` parameter
 * still holds every word of the address (country included) only as blind terms. `address-state`
 * stays blind: a state can name a city ("Chandigarh" is both, and the at-rest test found it).
 */
const PLAIN_STRINGS: ReadonlySet<string> = new Set(['identifier:text', 'address-country', 'language:text']);

const PERSON_TYPES: ReadonlySet<string> = new Set(['Patient', 'Person', 'RelatedPerson', 'Practitioner']);
const BIRTH_TYPES: ReadonlySet<string> = new Set(['Patient', 'Person', 'RelatedPerson']);
const PERSON_TOKENS: Readonly<Record<string, BlindClass>> = {
  identifier: 'identifier',
  'identifier:of-type': 'identifier',
  telecom: 'telecom',
  phone: 'phone',
  email: 'email',
};

/**
 * The default policy: every string (except `PLAIN_STRINGS`);
 * phonetic names; identifiers and contacts of persons; logical reference identifiers everywhere;
 * birth dates. Other types' own `identifier` (encounter,
 * accession and order numbers) stay plain: they identify events, not people, and keep exact lookup
 * and sorting; a deployment that treats them as personal passes its own `classify`.
 */
export const defaultBlindPolicy: BlindIndexPolicy = {
  bytes: 8,
  classify(resourceType, param, type) {
    switch (type) {
      case 'string':
        if (PLAIN_STRINGS.has(param)) return undefined;
        return param === 'phonetic' && PERSON_TYPES.has(resourceType) ? 'phonetic' : 'string';
      case 'token':
        if (PERSON_TYPES.has(resourceType) && Object.hasOwn(PERSON_TOKENS, param)) return PERSON_TOKENS[param];
        // `subject:identifier`, `patient:identifier`...: a logical reference names a person by identifier.
        if (param.endsWith(':identifier')) return 'identifier';
        return undefined;
      case 'date':
        return param === 'birthdate' && BIRTH_TYPES.has(resourceType) ? 'birthdate' : undefined;
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Value normalisation (before hashing; the same on both sides)

/** Digits of a phone number; Indian numbers (+91, 0091, 091, 0 trunk prefix) -> 10-digit subscriber number. */
export function normalisePhone(raw: string): string {
  let d = raw.replace(/^\s*tel:/i, '').replace(/\D+/g, '');
  if (d.startsWith('00')) d = d.slice(2); // international call prefix: 0091 98100 00001
  if (d.length === 12 && d.startsWith('91')) return d.slice(2);
  if (d.length === 13 && d.startsWith('091')) return d.slice(3);
  if (d.length === 11 && d.startsWith('0')) return d.slice(1);
  return d;
}

export function normaliseEmail(raw: string): string {
  return raw
    .replace(/^\s*mailto:/i, '')
    .trim()
    .toLowerCase();
}

const DIGITS_AND_SEPARATORS = /^[\d\s\-./]+$/;

/**
 * An identifier value: only digits when it is written with digits and separators only (ABHA number
 * 91-1234-5678-9012 = 91123456789012, Aadhaar 1234 5678 9012); otherwise trimmed and unchanged
 * (identifiers are case-sensitive tokens: UHID "AIIMS-2024-000123").
 */
export function normaliseIdentifier(raw: string): string {
  const t = raw.trim();
  return DIGITS_AND_SEPARATORS.test(t) && /\d/.test(t) ? t.replace(/\D+/g, '') : t;
}

const PHONE_SHAPE = /^\s*(tel:)?[+\d\s\-()./]+$/i;

/** A ContactPoint value whose system the query may not name: decided by its shape. */
export function normaliseTelecom(raw: string): string {
  if (raw.includes('@')) return normaliseEmail(raw);
  if (PHONE_SHAPE.test(raw) && /\d/.test(raw)) return normalisePhone(raw);
  return raw.trim().toLowerCase();
}

function normaliseToken(cls: BlindClass, value: string): string {
  switch (cls) {
    case 'phone':
      return normalisePhone(value);
    case 'email':
      return normaliseEmail(value);
    case 'telecom':
      return normaliseTelecom(value);
    default:
      return normaliseIdentifier(value);
  }
}

const BIRTH_RE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/;

/** 'YYYY', 'YYYY-MM', 'YYYY-MM-DD' forms of a stored birth date, as far as its precision goes. */
export function birthDateForms(raw: string): string[] {
  const m = BIRTH_RE.exec(raw.trim());
  if (!m) return [];
  const [, y, mo, d] = m as unknown as [string, string, string | undefined, string | undefined];
  const out = [y];
  if (mo) out.push(`${y}-${mo}`);
  if (mo && d) out.push(`${y}-${mo}-${d}`);
  return out;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The one form a query range stands for (a whole year, month or day in UTC), or undefined. */
function queryDateForm(low: number, high: number): string | undefined {
  if (!Number.isFinite(low) || !Number.isFinite(high)) return undefined;
  const a = new Date(low);
  if (a.getUTCHours() !== 0 || a.getUTCMinutes() !== 0 || a.getUTCSeconds() !== 0 || a.getUTCMilliseconds() !== 0) return undefined;
  const y = a.getUTCFullYear();
  const m = a.getUTCMonth();
  const d = a.getUTCDate();
  const end = high + 1;
  const ys = pad(y, 4);
  if (m === 0 && d === 1 && end === Date.UTC(y + 1, 0, 1)) return ys;
  if (d === 1 && end === Date.UTC(y, m + 1, 1)) return `${ys}-${pad(m + 1)}`;
  if (end === Date.UTC(y, m, d + 1)) return `${ys}-${pad(m + 1)}-${pad(d)}`;
  return undefined;
}

const MAX_PREFIX = 16;
/** Words of one value that get word-prefix rows (the whole value's prefixes are always stored). */
const MAX_WORDS = 32;
const MIN_PREFIX = 2;
/**
 * Prefixes of up to this many code points are "short": many patients share them, so they are
 * stored as B-tree rows (search_blind_short) that return matches in id order, not in the GIN array.
 */
const SHORT_PREFIX = 3;

/**
 * The parameters whose short prefixes get B-tree rows: the names of persons, which registration
 * desks search by their first letters all day. Short prefixes of other strings (addresses,
 * descriptions) stay in the GIN array: every B-tree row is index work on each write (a Patient
 * has ~18 short name prefixes and as many address ones), and nobody pages through "all addresses
 * starting with 'ba'". Measured: creates at 0.74 of plaintext with every short prefix as a row.
 */
const SHORT_ROW_PARAMS: ReadonlySet<string> = new Set(['name', 'family', 'given']);

function shortRows(resourceType: string, param: string): boolean {
  return SHORT_ROW_PARAMS.has(param) && PERSON_TYPES.has(resourceType);
}

/** Prefix sets of one value: short (at most SHORT_PREFIX code points) and longer. */
interface Prefixes {
  readonly short: Set<string>;
  readonly long: Set<string>;
}

/** Adds the prefixes of 2..16 code points of `s` (or `s` itself when it is one code point) to `out`. */
function addPrefixes(out: Prefixes, s: string): void {
  if (s === '') return;
  let acc = '';
  let n = 0;
  for (const ch of s) {
    acc += ch;
    n += 1;
    if (n >= MIN_PREFIX) (n <= SHORT_PREFIX ? out.short : out.long).add(acc);
    if (n === MAX_PREFIX) return;
  }
  if (n < MIN_PREFIX) out.short.add(acc);
}

/** True when `s` has at most SHORT_PREFIX code points. */
function isShort(s: string): boolean {
  if (s.length <= SHORT_PREFIX) return true; // UTF-16 length >= code points
  let n = 0;
  for (const _ of s) if (++n > SHORT_PREFIX) return false;
  return true;
}

/** The first 16 code points (the longest prefix stored). */
function truncateCodePoints(s: string, max = MAX_PREFIX): string {
  if (s.length <= max) return s; // UTF-16 length >= code points
  let out = '';
  let n = 0;
  for (const ch of s) {
    if (n === max) break;
    out += ch;
    n += 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Hashing: blindIndex() bytes, with the constant part of the message and recent digests cached

const DOMAIN = Buffer.from('sushruta:bidx:v1', 'ascii');

function field(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(4 + b.length);
  out.writeUInt32BE(b.length, 0);
  b.copy(out, 4);
  return out;
}

/**
 * One hashing context: a key and (tenant, type, code, mode, length). Holds the encoded constant
 * part of the message and the recent digests of values under it (a Patient repeats many prefixes
 * across the values of one parameter: text, family, given...).
 */
export interface BlindContext {
  readonly key: Buffer;
  readonly head: Buffer;
  readonly bytes: number;
  readonly b64: Map<string, string>;
  readonly terms: Map<string, string>;
}

interface KeyCache {
  readonly contexts: Map<string, BlindContext>;
  /** Digests held across all contexts of the key (bounded by MAX_DIGESTS). */
  held: number;
}

/** Per key Buffer; dropped with the Buffer (the ring replaces it when it reloads a key). */
const byKey = new WeakMap<Buffer, KeyCache>();
const MAX_CONTEXTS = 4096;
const MAX_DIGESTS = 8192;

/** Scratch for the value field (length prefix + UTF-8), grown when needed. */
let scratch = Buffer.allocUnsafe(1024);

/**
 * The hashing context of (key, tenant, type, code, mode, bytes), created on first use.
 *
 * The digest caches hold recent plaintext values (prefixes, phone numbers) in memory as map keys,
 * bounded to 8,192 entries per key. Memory of the app server is not a place the design protects
 * plaintext from: it holds the unwrapped index key, which is worse, and the request being served.
 */
export function blindContext(key: Buffer, tenantId: string, resourceType: string, code: string, mode: BlindMode, bytes = 8): BlindContext {
  let cache = byKey.get(key);
  if (!cache) {
    if (key.length < 32) throw new RangeError('blind index key must be at least 32 bytes');
    cache = { contexts: new Map(), held: 0 };
    byKey.set(key, cache);
  }
  const ck = `${tenantId}\u0000${resourceType}\u0000${code}\u0000${mode}\u0000${bytes}`;
  let ctx = cache.contexts.get(ck);
  if (!ctx) {
    if (cache.contexts.size >= MAX_CONTEXTS) {
      cache.contexts.clear();
      cache.held = 0;
    }
    const head = Buffer.concat([DOMAIN, ...[tenantId, resourceType, code, mode].map(field)]);
    ctx = { key, head, bytes, b64: new Map(), terms: new Map() };
    cache.contexts.set(ck, ctx);
  }
  return ctx;
}

/** blindIndex(...) of `value` in `ctx`, uncached. */
function mac(ctx: BlindContext, value: string): Buffer {
  const max = 4 + value.length * 3;
  if (scratch.length < max) scratch = Buffer.allocUnsafe(Math.max(max, scratch.length * 2));
  const n = scratch.write(value, 4, 'utf8');
  scratch.writeUInt32BE(n, 0);
  const digest = createHmac('sha256', ctx.key)
    .update(ctx.head)
    .update(scratch.subarray(0, 4 + n))
    .digest()
    .subarray(0, ctx.bytes);
  scratch.fill(0, 0, 4 + n); // the plaintext does not linger in the shared scratch
  return digest;
}

function remember(ctx: BlindContext, map: Map<string, string>, value: string, out: string): string {
  const cache = byKey.get(ctx.key);
  if (cache) {
    if (cache.held >= MAX_DIGESTS) {
      for (const c of cache.contexts.values()) {
        c.b64.clear();
        c.terms.clear();
      }
      cache.held = 0;
    }
    cache.held += 1;
  }
  map.set(value, out);
  return out;
}

/** The digest of `value` in `ctx` as base64url (11 characters for 8 bytes). */
export function digestIn(ctx: BlindContext, value: string): string {
  return ctx.b64.get(value) ?? remember(ctx, ctx.b64, value, mac(ctx, value).toString('base64url'));
}

/**
 * The digest of `value` in `ctx` as the search_blind term it is stored as: the first 8 bytes
 * (zero-padded when shorter) read as a big-endian signed 64-bit integer, in decimal.
 */
export function termIn(ctx: BlindContext, value: string): string {
  return ctx.terms.get(value) ?? remember(ctx, ctx.terms, value, termOfBytes(mac(ctx, value)));
}

/**
 * The digest blindIndex(key, tenant, type, code, mode, value, bytes) returns, as base64url. Same
 * HMAC over the same bytes; it only avoids re-encoding the constant part of the message,
 * allocating per call, and recomputing a digest it computed recently.
 */
export function blindDigest(
  key: Buffer,
  tenantId: string,
  resourceType: string,
  code: string,
  mode: BlindMode,
  value: string,
  bytes = 8,
): string {
  return digestIn(blindContext(key, tenantId, resourceType, code, mode, bytes), value);
}

function termOfBytes(d: Buffer): string {
  if (d.length >= 8) return d.readBigInt64BE(0).toString();
  const b = Buffer.alloc(8);
  d.copy(b);
  return b.readBigInt64BE(0).toString();
}

// ---------------------------------------------------------------------------------------------
// The transform

const BLIND: ParamHandling = Object.freeze({ blind: true });
/** Blind strings live as 64-bit terms in search_blind (one row per resource and parameter, GIN-indexed). */
const BLIND_TERMS: ParamHandling = Object.freeze({ blind: true, storedAs: 'terms' as const });

/** A digest (base64url of 4..8 bytes) as the signed 64-bit integer search_blind stores, in decimal. */
export function digestTerm(digest: string): string {
  return termOfBytes(Buffer.from(digest, 'base64url'));
}
const BLIND_DATE: ParamHandling = Object.freeze({ blind: true, storedAs: 'token' as const });

const CONTAINS_REASON =
  'substring search (:contains) is not possible: this parameter holds personal data stored only as keyed blind indexes (hashes of prefixes); use a prefix (the default search) or, for names, the phonetic parameter';
const PHONETIC_MODIFIER_REASON =
  'the phonetic parameter matches names that sound alike through keyed blind indexes of phonetic keys; :exact and :contains are not possible on it (use name:exact or a name prefix)';
const PHONETIC_EMPTY_REASON =
  'the value gives no phonetic key: phonetic search covers names written in Latin letters and in the Indian scripts (Devanagari, Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam), not Urdu/Arabic or other scripts; search by name prefix (name=...) instead';
const BLANK_REASON = 'the value must contain at least one letter or digit';
const DATE_REASON =
  'the birth date is stored only as keyed blind indexes of the year, the month and the full date, so only year of birth, month or exact date can be searched (birthdate=1984, birthdate=1984-11, birthdate=1984-11-02, optionally with eq); ranges and the prefixes ne, gt, lt, ge, le, sa, eb, ap are not possible';

export function blindIndexTransform(ring: KeyRing, policy: Partial<BlindIndexPolicy> = {}): IndexValueTransform {
  const classifyFn = policy.classify ?? defaultBlindPolicy.classify;
  const bytes = policy.bytes ?? defaultBlindPolicy.bytes;
  // Strings are stored as 64-bit terms (search_blind.terms is bigint[]), so at most 8 bytes.
  if (!Number.isInteger(bytes) || bytes < 4 || bytes > 8) throw new RangeError('blind index length must be 4..8 bytes');
  const queryVersions = policy.queryVersions;

  const classCache = new Map<string, BlindClass | null>();
  const classify = (resourceType: string, param: string, type: IndexedType): BlindClass | undefined => {
    const k = `${type}\u0000${resourceType}\u0000${param}`;
    let c = classCache.get(k);
    if (c === undefined) {
      c = classifyFn(resourceType, param, type) ?? null;
      classCache.set(k, c);
    }
    return c ?? undefined;
  };

  /** Active version and key (writes). */
  const active = (tenantId: string) => ring.activeCached(tenantId, 'index');

  /** Keys of every loaded, non-destroyed version, active first (queries). */
  const queryKeys = (tenantId: string): Buffer[] => {
    const { version, key } = active(tenantId);
    const loaded: number[] = [version];
    const keys = new Map<number, Buffer>([[version, key]]);
    // Versions are numbered 1, 2, 3... (rotate takes max + 1); preload loads every non-destroyed one.
    for (let v = version - 1; v >= 1; v--) {
      try {
        keys.set(v, ring.cached(tenantId, 'index', v));
        loaded.push(v);
      } catch {
        // not loaded (or unknown): rows under it cannot be matched by this process
      }
    }
    const wanted = queryVersions ? queryVersions(tenantId, version, loaded) : loaded;
    const out: Buffer[] = [];
    for (const v of wanted) {
      const k = keys.get(v);
      if (k) out.push(k);
    }
    return out;
  };

  const hashAll = (ctx: IndexValueContext, mode: BlindMode, value: string): string[] =>
    queryKeys(ctx.tenantId).map((k) => blindDigest(k, ctx.tenantId, ctx.resourceType, ctx.param, mode, value, bytes));
  const termsAll = (ctx: IndexValueContext, mode: BlindMode, value: string): string[] =>
    queryKeys(ctx.tenantId).map((k) => termIn(blindContext(k, ctx.tenantId, ctx.resourceType, ctx.param, mode, bytes), value));

  const refusal = (p: IndexParam, q: IndexQuery): string | undefined => {
    const cls = classify(p.resourceType, p.param, p.type);
    if (!cls) return undefined;
    switch (q.kind) {
      case 'string':
        if (cls === 'phonetic') {
          if (q.mode !== 'start') return PHONETIC_MODIFIER_REASON;
          return indicPhoneticTokens(q.value).length === 0 ? PHONETIC_EMPTY_REASON : undefined;
        }
        if (q.mode === 'contains') return CONTAINS_REASON;
        if (q.mode === 'start' && normaliseString(q.value) === '') return BLANK_REASON;
        return undefined;
      case 'token':
        return normaliseToken(cls, q.value) === '' ? BLANK_REASON : undefined;
      case 'date':
        if (cls !== 'birthdate') return undefined;
        if (q.prefix !== 'eq' || queryDateForm(q.low, q.high) === undefined) return DATE_REASON;
        return undefined;
    }
  };

  return {
    handling(p) {
      const cls = classify(p.resourceType, p.param, p.type);
      if (!cls) return identityTransform.handling(p);
      if (cls === 'birthdate') return BLIND_DATE;
      return p.type === 'string' ? BLIND_TERMS : BLIND;
    },

    refusal,

    strings(ctx, raw): readonly StoredString[] {
      const cls = classify(ctx.resourceType, ctx.param, 'string');
      if (!cls) return identityTransform.strings(ctx, raw);
      const { version, key } = active(ctx.tenantId);
      const out: StoredString[] = [];
      if (cls === 'phonetic') {
        const keys = indicPhoneticTokens(raw);
        const set = new Set(keys);
        if (keys.length > 1) set.add(keys.join(' '));
        const ph = blindContext(key, ctx.tenantId, ctx.resourceType, ctx.param, 'phonetic', bytes);
        for (const k of set) out.push({ norm: termIn(ph, k), exact: '', keyVersion: version });
        return out;
      }
      const norm = normaliseString(raw);
      const prefixes: Prefixes = { short: new Set(), long: new Set() };
      addPrefixes(prefixes, norm);
      if (norm.includes(' ')) {
        // Word prefixes for the first MAX_WORDS words: names and addresses have a handful; a long
        // free-text string (a description) must not turn into thousands of rows.
        const words = norm.split(' ');
        for (let i = 0; i < words.length && i < MAX_WORDS; i++) addPrefixes(prefixes, words[i] as string);
      }
      const pre = blindContext(key, ctx.tenantId, ctx.resourceType, ctx.param, 'prefix', bytes);
      const rows = shortRows(ctx.resourceType, ctx.param);
      for (const p of prefixes.short) out.push({ norm: termIn(pre, p), exact: '', keyVersion: version, ...(rows ? { short: true } : {}) });
      for (const p of prefixes.long) out.push({ norm: termIn(pre, p), exact: '', keyVersion: version });
      const ex = blindContext(key, ctx.tenantId, ctx.resourceType, ctx.param, 'exact', bytes);
      out.push({ norm: '', exact: termIn(ex, exactString(raw)), keyVersion: version });
      return out;
    },

    tokens(ctx, value): readonly StoredToken[] {
      const cls = classify(ctx.resourceType, ctx.param, 'token');
      if (!cls) return identityTransform.tokens(ctx, value);
      const { version, key } = active(ctx.tenantId);
      const n = normaliseToken(cls, value);
      return [{ value: blindDigest(key, ctx.tenantId, ctx.resourceType, ctx.param, 'token', n, bytes), keyVersion: version }];
    },

    dates(ctx, raw): readonly StoredToken[] {
      const cls = classify(ctx.resourceType, ctx.param, 'date');
      if (cls !== 'birthdate') return identityTransform.dates(ctx, raw);
      const { version, key } = active(ctx.tenantId);
      return birthDateForms(raw).map((f) => ({
        value: blindDigest(key, ctx.tenantId, ctx.resourceType, ctx.param, 'date', f, bytes),
        keyVersion: version,
      }));
    },

    compare(ctx, q): Comparison {
      const cls = classify(ctx.resourceType, ctx.param, q.kind);
      if (!cls) return identityTransform.compare(ctx, q);
      const reason = refusal({ resourceType: ctx.resourceType, param: ctx.param, type: q.kind }, q);
      if (reason !== undefined) return { op: 'refuse', reason };
      switch (q.kind) {
        case 'string': {
          if (cls === 'phonetic') {
            const keys = indicPhoneticTokens(q.value);
            return { op: 'terms', values: termsAll(ctx, 'phonetic', keys.join(' ')) };
          }
          if (q.mode === 'exact') return { op: 'terms', values: termsAll(ctx, 'exact', exactString(q.value)) };
          // Starts-with: the stored prefixes stop at 16 code points, so a longer query is cut there
          // (it may then also match values that differ after the 16th code point).
          const prefix = truncateCodePoints(normaliseString(q.value));
          const inRows = isShort(prefix) && shortRows(ctx.resourceType, ctx.param);
          return { op: inRows ? 'short-terms' : 'terms', values: termsAll(ctx, 'prefix', prefix) };
        }
        case 'token':
          return { op: 'eq', column: 'value', values: hashAll(ctx, 'token', normaliseToken(cls, q.value)) };
        case 'date': {
          const form = queryDateForm(q.low, q.high) as string; // refusal() checked it
          return { op: 'eq', column: 'value', values: hashAll(ctx, 'date', form) };
        }
      }
    },
  };
}
