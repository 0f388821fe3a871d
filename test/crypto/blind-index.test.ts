import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blindIndex, namePrefixes } from '../../src/security/crypto/blind-index.js';

const key = randomBytes(32);

describe('blind index', () => {
  it('is deterministic and 8 bytes by default', () => {
    const a = blindIndex(key, 't1', 'Patient', 'name', 'exact', 'sharma');
    expect(a.length).toBe(8);
    expect(blindIndex(key, 't1', 'Patient', 'name', 'exact', 'sharma').equals(a)).toBe(true);
    expect(blindIndex(key, 't1', 'Patient', 'name', 'exact', 'verma').equals(a)).toBe(false);
  });

  it('separates domains: tenant, type, code, mode and key each change the digest', () => {
    const base = blindIndex(key, 't1', 'Patient', 'name', 'exact', 'sharma').toString('hex');
    const variants = [
      blindIndex(key, 't2', 'Patient', 'name', 'exact', 'sharma'),
      blindIndex(key, 't1', 'Practitioner', 'name', 'exact', 'sharma'),
      blindIndex(key, 't1', 'Patient', 'family', 'exact', 'sharma'),
      blindIndex(key, 't1', 'Patient', 'name', 'prefix', 'sharma'),
      blindIndex(key, 't1', 'Patient', 'name', 'phonetic', 'sharma'),
      blindIndex(randomBytes(32), 't1', 'Patient', 'name', 'exact', 'sharma'),
    ].map((b) => b.toString('hex'));
    expect(new Set([base, ...variants]).size).toBe(7);
  });

  it('uses an injective (length-prefixed) encoding: shifting text between fields changes the digest', () => {
    const a = blindIndex(key, 't1', 'Patient', 'name', 'exact', 'ab');
    const b = blindIndex(key, 't1', 'Patient', 'namea', 'exact', 'b');
    const c = blindIndex(key, 't1a', 'Patient', 'name', 'exact', 'b');
    expect(a.equals(b)).toBe(false);
    expect(a.equals(c)).toBe(false);
    // Separator characters inside values are data, not structure.
    expect(blindIndex(key, 'a\u0000b', 'P', 'c', 'exact', 'v').equals(blindIndex(key, 'a', 'b\u0000P', 'c', 'exact', 'v'))).toBe(false);
  });

  it('truncates to the requested length, which is a prefix of the full digest', () => {
    const full = blindIndex(key, 't1', 'Patient', 'birthdate', 'date', '1980-04-12', 32);
    expect(full.length).toBe(32);
    for (const n of [4, 8, 16]) {
      const t = blindIndex(key, 't1', 'Patient', 'birthdate', 'date', '1980-04-12', n);
      expect(t.length).toBe(n);
      expect(t.equals(full.subarray(0, n))).toBe(true);
    }
    expect(() => blindIndex(key, 't1', 'Patient', 'x', 'exact', 'v', 2)).toThrow(RangeError);
    expect(() => blindIndex(key, 't1', 'Patient', 'x', 'exact', 'v', 33)).toThrow(RangeError);
  });

  it('handles Indian-script values as UTF-8 and refuses unknown modes and short keys', () => {
    expect(
      blindIndex(key, 't1', 'Patient', 'name', 'exact', 'शर्मा').equals(blindIndex(key, 't1', 'Patient', 'name', 'exact', 'sharma')),
    ).toBe(false);
    // biome-ignore lint/suspicious/noExplicitAny: deliberately wrong mode
    expect(() => blindIndex(key, 't1', 'Patient', 'x', 'fuzzy' as any, 'v')).toThrow(/unknown blind index mode/);
    expect(() => blindIndex(randomBytes(16), 't1', 'Patient', 'x', 'exact', 'v')).toThrow(/at least 32 bytes/);
  });
});

describe('namePrefixes', () => {
  it('lists prefixes from min to max code points', () => {
    expect(namePrefixes('mohan')).toEqual(['mo', 'moh', 'moha', 'mohan']);
    expect(namePrefixes('mohan', 3)).toEqual(['moh', 'moha', 'mohan']);
    expect(namePrefixes('mohan', 2, 3)).toEqual(['mo', 'moh']);
    expect(namePrefixes('m')).toEqual([]);
    expect(namePrefixes('')).toEqual([]);
    expect(namePrefixes('abcdefghijklmnopqrstuvwxyz').at(-1)).toBe('abcdefghijklmnop');
  });

  it('counts Devanagari by code point, so every typed prefix is indexed', () => {
    // मोहन = म ो ह न (4 code points, 4 UTF-16 units)
    expect(namePrefixes('मोहन')).toEqual(['मो', 'मोह', 'मोहन']);
    // लक्ष्मी = ल क ् ष ् म ी
    expect(namePrefixes('लक्ष्मी', 2, 4)).toEqual(['लक', 'लक्', 'लक्ष']);
  });

  it('never splits a surrogate pair', () => {
    const s = '𝔄𝔅𝔆'; // three astral code points, six UTF-16 units
    expect(namePrefixes(s)).toEqual(['𝔄𝔅', '𝔄𝔅𝔆']);
    for (const p of namePrefixes(s)) expect(p.length % 2).toBe(0);
  });
});
