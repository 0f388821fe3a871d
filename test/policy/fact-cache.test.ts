/** The policy's per-account fact cache: bounded in time (and by grant ends), in size, and forgettable per patient. */
import { describe, expect, it } from 'vitest';
import { FactCache, type PatientFacts } from '../../src/security/policy/fact-cache.js';

const CARED: PatientFacts = { restricted: false, cared: true, granted: false, brokenGlass: false };

describe('FactCache', () => {
  it('keeps an entry for its TTL, and never past the end of the grant it records', () => {
    const c = new FactCache(10_000);
    c.set('u1', 'p1', CARED, 0);
    expect(c.get('u1', 'p1', 9_999)).toEqual(CARED);
    expect(c.get('u1', 'p1', 10_000)).toBeUndefined();
    c.set('u1', 'p2', { ...CARED, brokenGlass: true }, 0, 3_000);
    expect(c.get('u1', 'p2', 2_999)?.brokenGlass).toBe(true);
    expect(c.get('u1', 'p2', 3_000)).toBeUndefined();
    expect(c.get('u2', 'p1', 1)).toBeUndefined();
  });

  it('forgets a patient for every account at once', () => {
    const c = new FactCache(10_000);
    c.set('u1', 'p1', CARED, 0);
    c.set('u2', 'p1', CARED, 0);
    c.set('u1', 'p2', CARED, 0);
    c.forgetPatients(['p1']);
    expect(c.get('u1', 'p1', 1)).toBeUndefined();
    expect(c.get('u2', 'p1', 1)).toBeUndefined();
    expect(c.get('u1', 'p2', 1)).toEqual(CARED);
  });

  it('stays within its size, dropping the oldest entries first', () => {
    const c = new FactCache(10_000, 100);
    for (let i = 0; i < 250; i++) c.set('u', `p${i}`, CARED, 0);
    expect(c.size).toBeLessThanOrEqual(100);
    expect(c.get('u', 'p0', 1)).toBeUndefined();
    expect(c.get('u', 'p249', 1)).toEqual(CARED);
  });

  it('keeps nothing with a TTL of 0', () => {
    const c = new FactCache(0);
    c.set('u', 'p', CARED, 0);
    expect(c.get('u', 'p', 0)).toBeUndefined();
    expect(c.size).toBe(0);
  });
});
