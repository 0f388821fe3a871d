import { describe, expect, it } from 'vitest';
import { normaliseString } from '../../src/fhir/search/normalise.js';
import { dateRange, parseDecimal, splitEscaped, unescapeValue } from '../../src/fhir/search/values.js';

describe('normaliseString', () => {
  it('folds case and Latin accents', () => {
    expect(normaliseString('José')).toBe('jose');
    expect(normaliseString('ZOË')).toBe('zoe');
    expect(normaliseString('Jose\u0301')).toBe('jose'); // decomposed input
    expect(normaliseString('  Ram   Sharma ')).toBe('ram sharma');
  });
  it('keeps Devanagari vowel signs and viramas', () => {
    const n = normaliseString('श्रीनिवास');
    expect(n).toBe('श्रीनिवास'.normalize('NFC'));
    // The name with its vowel signs stripped is a different name and must not normalise equal.
    expect(normaliseString('शरनवस')).not.toBe(n);
    expect(n.startsWith(normaliseString('श्री'))).toBe(true);
  });
  it('is idempotent', () => {
    for (const s of ['José', 'श्रीनिवास', 'Zoë', 'ﬁle', 'Ärzte']) expect(normaliseString(normaliseString(s))).toBe(normaliseString(s));
  });
});

describe('dateRange', () => {
  const iso = (r: { low: number; high: number } | undefined) => r && [new Date(r.low).toISOString(), new Date(r.high).toISOString()];
  it('turns precision into a range', () => {
    expect(iso(dateRange('2024'))).toEqual(['2024-01-01T00:00:00.000Z', '2024-12-31T23:59:59.999Z']);
    expect(iso(dateRange('2024-02'))).toEqual(['2024-02-01T00:00:00.000Z', '2024-02-29T23:59:59.999Z']);
    expect(iso(dateRange('2024-03-05'))).toEqual(['2024-03-05T00:00:00.000Z', '2024-03-05T23:59:59.999Z']);
    expect(iso(dateRange('2024-03-05T10:30+05:30'))).toEqual(['2024-03-05T05:00:00.000Z', '2024-03-05T05:00:59.999Z']);
    expect(iso(dateRange('2024-03-05T10:30:15Z'))).toEqual(['2024-03-05T10:30:15.000Z', '2024-03-05T10:30:15.999Z']);
  });
  it('rejects invalid dates', () => {
    for (const s of ['2023-02-30', '2024-13', 'x', '2024-1-1', '20240101']) expect(dateRange(s)).toBeUndefined();
  });
});

describe('value grammar', () => {
  it('splits on unescaped separators', () => {
    expect(splitEscaped('a\\,b,c', ',').map(unescapeValue)).toEqual(['a,b', 'c']);
    expect(splitEscaped('http://x|a\\|b', '|').map(unescapeValue)).toEqual(['http://x', 'a|b']);
  });
  it('derives decimal precision', () => {
    expect(parseDecimal('100')).toEqual({ value: '100', half: '5e-1' });
    expect(parseDecimal('1.50')).toEqual({ value: '1.50', half: '5e-3' });
    expect(parseDecimal('1e2')).toEqual({ value: '1e2', half: '5e1' });
    expect(parseDecimal('abc')).toBeUndefined();
  });
});
