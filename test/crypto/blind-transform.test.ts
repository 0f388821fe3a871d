import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { IndexValueContext } from '../../src/fhir/search/normalise.js';
import { TenantId } from '../../src/fhir/types.js';
import { blindIndex } from '../../src/security/crypto/blind-index.js';
import {
  birthDateForms,
  blindDigest,
  blindIndexTransform,
  defaultBlindPolicy,
  digestTerm,
  normaliseEmail,
  normaliseIdentifier,
  normalisePhone,
  normaliseTelecom,
} from '../../src/security/crypto/blind-transform.js';
import { KeyUnavailableError } from '../../src/security/crypto/errors.js';
import type { KeyRing } from '../../src/security/crypto/keyring.js';

/** A ring stand-in: versions 1..active loaded for tenant t1. */
function fakeRing(keys: Map<number, Buffer>, active: () => number): KeyRing {
  return {
    activeCached: (tenant: string) => {
      const v = active();
      const key = keys.get(v);
      if (tenant !== 't1' || !key) throw new KeyUnavailableError(tenant, 'index', null, 'not loaded');
      return { version: v, key };
    },
    cached: (tenant: string, _p: string, v: number) => {
      const key = keys.get(v);
      if (tenant !== 't1' || !key) throw new KeyUnavailableError(tenant, 'index', v, 'not loaded');
      return key;
    },
  } as unknown as KeyRing;
}

const T = TenantId('t1');
const ctx = (resourceType: string, param: string): IndexValueContext => ({ tenantId: T, resourceType, param });
const b64 = (b: Buffer) => b.toString('base64url');

describe('blindDigest', () => {
  it('gives exactly the bytes of blindIndex (HMAC-SHA-256, length-prefixed encoding, truncated)', () => {
    const key = randomBytes(32);
    const values = ['', 'a', 'sharma', 'श्रीनिवास', 'x'.repeat(3000), '😀 emoji', 'ab\u0000c'];
    for (const v of values) {
      for (const bytes of [4, 8, 32]) {
        expect(blindDigest(key, 't1', 'Patient', 'name', 'prefix', v, bytes)).toBe(
          b64(blindIndex(key, 't1', 'Patient', 'name', 'prefix', v, bytes)),
        );
      }
      expect(blindDigest(key, 't2', 'RelatedPerson', 'phone', 'token', v)).toBe(
        b64(blindIndex(key, 't2', 'RelatedPerson', 'phone', 'token', v)),
      );
    }
    // Another key never reuses the cached states of the first.
    const other = randomBytes(32);
    expect(blindDigest(other, 't1', 'Patient', 'name', 'prefix', 'sharma')).toBe(
      b64(blindIndex(other, 't1', 'Patient', 'name', 'prefix', 'sharma')),
    );
    expect(blindDigest(key, 't1', 'Patient', 'name', 'prefix', 'sharma')).not.toBe(
      blindDigest(other, 't1', 'Patient', 'name', 'prefix', 'sharma'),
    );
    expect(blindDigest(key, 't1', 'Patient', 'name', 'prefix', 'sharma')).toHaveLength(11);
  });
});

describe('value normalisation', () => {
  it('reduces Indian phone numbers to the 10-digit subscriber number', () => {
    for (const p of [
      '+91 98100 00001',
      '091-9810000001',
      '09810000001',
      '9810000001',
      '0091 98100 00001',
      '+91-98100-00001',
      'tel:+919810000001',
    ])
      expect([p, normalisePhone(p)]).toEqual([p, '9810000001']);
    expect(normalisePhone('011-2345 6789')).toBe('1123456789');
    expect(normalisePhone('+91 11 2345 6789')).toBe('1123456789');
    expect(normalisePhone('+1 415 555 1234')).toBe('14155551234');
  });
  it('lower-cases e-mail and reads a ContactPoint by its shape', () => {
    expect(normaliseEmail(' Ravi.Shankar@Example.IN ')).toBe('ravi.shankar@example.in');
    expect(normaliseTelecom('mailto:Ravi@Example.in')).toBe('ravi@example.in');
    expect(normaliseTelecom('+91 98100 00001')).toBe('9810000001');
  });
  it('writes ABHA and Aadhaar numbers as digits only, keeps other identifiers as they are', () => {
    expect(normaliseIdentifier('91-1234-5678-9012')).toBe('91123456789012');
    expect(normaliseIdentifier('91123456789012')).toBe('91123456789012');
    expect(normaliseIdentifier('1234 5678 9012')).toBe('123456789012');
    expect(normaliseIdentifier('AIIMS-2024-000123')).toBe('AIIMS-2024-000123');
    expect(normaliseIdentifier('ravi.shankar@abdm')).toBe('ravi.shankar@abdm');
  });
  it('takes year, month and day forms of a birth date as far as its precision goes', () => {
    expect(birthDateForms('1984-11-02')).toEqual(['1984', '1984-11', '1984-11-02']);
    expect(birthDateForms('1984-11')).toEqual(['1984', '1984-11']);
    expect(birthDateForms('1984')).toEqual(['1984']);
    expect(birthDateForms('nonsense')).toEqual([]);
  });
});

describe('default policy', () => {
  it('protects every string, person identifiers and contacts, reference identifiers and birth dates', () => {
    const c = defaultBlindPolicy.classify;
    expect(c('Patient', 'name', 'string')).toBe('string');
    expect(c('Organization', 'name', 'string')).toBe('string');
    expect(c('Condition', 'code:text', 'string')).toBe('string'); // CodeableConcept.text can be free text
    expect(c('Patient', 'identifier:text', 'string')).toBeUndefined(); // the identifier's type label
    expect(c('Patient', 'phonetic', 'string')).toBe('phonetic');
    expect(c('Practitioner', 'phonetic', 'string')).toBe('phonetic');
    expect(c('Patient', 'identifier', 'token')).toBe('identifier');
    expect(c('Patient', 'identifier:of-type', 'token')).toBe('identifier');
    expect(c('RelatedPerson', 'phone', 'token')).toBe('phone');
    expect(c('Practitioner', 'email', 'token')).toBe('email');
    expect(c('Person', 'telecom', 'token')).toBe('telecom');
    expect(c('Encounter', 'subject:identifier', 'token')).toBe('identifier');
    expect(c('Patient', 'birthdate', 'date')).toBe('birthdate');
    // Plain: codes, statuses, other types' identifiers, dates of care.
    expect(c('Patient', 'gender', 'token')).toBeUndefined();
    expect(c('Encounter', 'identifier', 'token')).toBeUndefined();
    expect(c('Observation', 'code', 'token')).toBeUndefined();
    expect(c('Patient', 'death-date', 'date')).toBeUndefined();
    expect(c('Encounter', 'date', 'date')).toBeUndefined();
  });
});

describe('digestTerm', () => {
  it('reads the digest as a big-endian signed 64-bit integer, zero-padding a shorter one', () => {
    expect(digestTerm(Buffer.from('0000000000000001', 'hex').toString('base64url'))).toBe('1');
    expect(digestTerm(Buffer.from('ffffffffffffffff', 'hex').toString('base64url'))).toBe('-1');
    expect(digestTerm(Buffer.from('8000000000000000', 'hex').toString('base64url'))).toBe('-9223372036854775808');
    expect(digestTerm(Buffer.from('01020304', 'hex').toString('base64url'))).toBe(String(0x01020304n << 32n));
  });
});

describe('blindIndexTransform', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  let activeVersion = 1;
  const keys = new Map([[1, k1]]);
  const t = blindIndexTransform(
    fakeRing(keys, () => activeVersion),
    {},
  );
  const H = (key: Buffer, type: string, code: string, mode: Parameters<typeof blindIndex>[4], v: string) =>
    b64(blindIndex(key, 't1', type, code, mode, v));
  /** A string's term in search_blind: the same digest as a signed 64-bit integer. */
  const S = (key: Buffer, type: string, code: string, mode: Parameters<typeof blindIndex>[4], v: string) =>
    blindIndex(key, 't1', type, code, mode, v).readBigInt64BE(0).toString();

  it('stores prefixes of the whole value and of each word, and one exact row', () => {
    const rows = t.strings(ctx('Patient', 'name'), 'Ravi Shankar');
    const norms = new Set(rows.map((r) => r.norm));
    for (const p of ['ra', 'rav', 'ravi', 'ravi ', 'ravi s', 'ravi shankar', 'sh', 'shan', 'shankar'])
      expect([p, norms.has(S(k1, 'Patient', 'name', 'prefix', p))]).toEqual([p, true]);
    expect(norms.has(S(k1, 'Patient', 'name', 'prefix', 'r'))).toBe(false);
    const exact = rows.filter((r) => r.exact !== '');
    expect(exact).toEqual([{ norm: '', exact: S(k1, 'Patient', 'name', 'exact', 'Ravi Shankar'), keyVersion: 1 }]);
    expect(rows.every((r) => r.keyVersion === 1)).toBe(true);
    // 2..12 of the whole (11 prefixes) + 'ra','rav' already there + 'sh'..'shankar' (6): 11 + 6 + 1 exact.
    expect(rows).toHaveLength(18);
  });

  it('stops prefixes at 16 code points and cuts longer queries there', () => {
    const long = 'Venkatasubramanian'; // 18 letters
    const rows = t.strings(ctx('Patient', 'family'), long);
    expect(rows.filter((r) => r.exact === '')).toHaveLength(15); // prefixes of 2..16
    const q = t.compare(ctx('Patient', 'family'), { kind: 'string', mode: 'start', value: 'VENKATASUBRAMANIAM' });
    expect(q).toEqual({ op: 'terms', values: [S(k1, 'Patient', 'family', 'prefix', 'venkatasubramani')] });
    expect(rows.map((r) => r.norm)).toContain((q as { values: readonly string[] }).values[0]);
  });

  it('stores word prefixes for the first 32 words of a long value only', () => {
    const words = Array.from({ length: 40 }, (_, i) => `w${String(i).padStart(2, '0')}`);
    const norms = new Set(t.strings(ctx('DocumentReference', 'description'), words.join(' ')).map((r) => r.norm));
    expect(norms.has(S(k1, 'DocumentReference', 'description', 'prefix', 'w31'))).toBe(true);
    expect(norms.has(S(k1, 'DocumentReference', 'description', 'prefix', 'w32'))).toBe(false);
  });

  it('counts Devanagari by code point and keeps a one-letter value as itself', () => {
    const rows = t.strings(ctx('Patient', 'given'), 'श्रीनिवास');
    expect(rows.map((r) => r.norm)).toContain(S(k1, 'Patient', 'given', 'prefix', 'श्री'));
    const one = t.strings(ctx('Patient', 'given'), 'K');
    expect(one.map((r) => r.norm)).toContain(S(k1, 'Patient', 'given', 'prefix', 'k'));
  });

  it('stores phonetic keys per word and for the whole name', () => {
    const rows = t.strings(ctx('Patient', 'phonetic'), 'Mohammad Khan');
    expect(new Set(rows.map((r) => r.norm))).toEqual(
      new Set([
        S(k1, 'Patient', 'phonetic', 'phonetic', 'mhmd'),
        S(k1, 'Patient', 'phonetic', 'phonetic', 'kn'),
        S(k1, 'Patient', 'phonetic', 'phonetic', 'mhmd kn'),
      ]),
    );
    expect(t.compare(ctx('Patient', 'phonetic'), { kind: 'string', mode: 'start', value: 'Mohd' })).toEqual({
      op: 'terms',
      values: [S(k1, 'Patient', 'phonetic', 'phonetic', 'mhmd')],
    });
    expect(t.compare(ctx('Patient', 'phonetic'), { kind: 'string', mode: 'start', value: 'Muhammad Kan' })).toEqual({
      op: 'terms',
      values: [S(k1, 'Patient', 'phonetic', 'phonetic', 'mhmd kn')],
    });
  });

  it('refuses what a blind index cannot answer, with the reason', () => {
    const p = { resourceType: 'Patient', param: 'name', type: 'string' } as const;
    expect(t.refusal(p, { kind: 'string', mode: 'contains', value: 'av' })).toMatch(/keyed blind indexes.*prefix.*phonetic/);
    expect(t.refusal(p, { kind: 'string', mode: 'start', value: 'av' })).toBeUndefined();
    expect(t.refusal({ ...p, param: 'phonetic' }, { kind: 'string', mode: 'start', value: 'محمد' })).toMatch(/Urdu/);
    const bd = { resourceType: 'Patient', param: 'birthdate', type: 'date' } as const;
    const y1980 = { low: Date.UTC(1980, 0, 1), high: Date.UTC(1981, 0, 1) - 1 };
    expect(t.refusal(bd, { kind: 'date', prefix: 'gt', ...y1980 })).toMatch(/year of birth, month or exact date/);
    expect(t.refusal(bd, { kind: 'date', prefix: 'eq', ...y1980 })).toBeUndefined();
    expect(t.refusal(bd, { kind: 'date', prefix: 'eq', low: Date.UTC(1980, 0, 1, 10), high: Date.UTC(1980, 0, 1, 10, 1) - 1 })).toMatch(
      /exact date/,
    );
    expect(t.handling(bd)).toEqual({ blind: true, storedAs: 'token' });
    expect(t.handling(p)).toEqual({ blind: true, storedAs: 'terms' });
    expect(t.handling({ resourceType: 'Patient', param: 'gender', type: 'token' })).toEqual({ blind: false });
    // Plain parameters keep the identity behaviour.
    expect(t.compare(ctx('Patient', 'gender'), { kind: 'token', value: 'male' })).toEqual({ op: 'eq', column: 'value', values: ['male'] });
    expect(t.tokens(ctx('Patient', 'gender'), 'male')).toEqual([{ value: 'male' }]);
  });

  it('hashes phone numbers, identifiers and birth dates after normalising them', () => {
    const a = t.tokens(ctx('Patient', 'phone'), '+91 98100 00001');
    expect(a).toEqual([{ value: H(k1, 'Patient', 'phone', 'token', '9810000001'), keyVersion: 1 }]);
    expect(t.compare(ctx('Patient', 'phone'), { kind: 'token', value: '09810000001' })).toEqual({
      op: 'eq',
      column: 'value',
      values: [a[0]?.value],
    });
    expect(t.dates(ctx('Patient', 'birthdate'), '1984-11-02').map((r) => r.value)).toEqual(
      ['1984', '1984-11', '1984-11-02'].map((f) => H(k1, 'Patient', 'birthdate', 'date', f)),
    );
    const month = { low: Date.UTC(1984, 10, 1), high: Date.UTC(1984, 11, 1) - 1 };
    expect(t.compare(ctx('Patient', 'birthdate'), { kind: 'date', prefix: 'eq', ...month })).toEqual({
      op: 'eq',
      column: 'value',
      values: [H(k1, 'Patient', 'birthdate', 'date', '1984-11')],
    });
  });

  it('writes under the active version and queries under every loaded one', () => {
    keys.set(2, k2);
    activeVersion = 2;
    const rows = t.tokens(ctx('Patient', 'identifier'), '91-1234-5678-9012');
    expect(rows).toEqual([{ value: H(k2, 'Patient', 'identifier', 'token', '91123456789012'), keyVersion: 2 }]);
    expect(t.compare(ctx('Patient', 'identifier'), { kind: 'token', value: '91123456789012' })).toEqual({
      op: 'eq',
      column: 'value',
      values: [H(k2, 'Patient', 'identifier', 'token', '91123456789012'), H(k1, 'Patient', 'identifier', 'token', '91123456789012')],
    });
    // A policy may narrow the versions queried.
    const narrow = blindIndexTransform(
      fakeRing(keys, () => 2),
      { queryVersions: (_t, active) => [active] },
    );
    expect(
      (narrow.compare(ctx('Patient', 'identifier'), { kind: 'token', value: '1' }) as { values: readonly string[] }).values,
    ).toHaveLength(1);
  });

  it('fails closed for a tenant whose keys are not loaded', () => {
    expect(() => t.strings({ tenantId: TenantId('t9'), resourceType: 'Patient', param: 'name' }, 'Ravi')).toThrow(KeyUnavailableError);
  });
});
