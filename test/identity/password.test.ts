/** argon2id parameters (OWASP) and the NIST SP 800-63B password policy. */
import { describe, expect, it } from 'vitest';
import { ARGON2_PARAMS, hashPassword, needsRehash, passwordProblems, verifyPassword } from '../../src/security/identity/password.js';

describe('password hashing', () => {
  it('is argon2id with at least m = 19 MiB, t = 2, p = 1, and verifies', async () => {
    const h = await hashPassword('tulsi marigold kettle river');
    const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.exec(h);
    expect(m, h).not.toBeNull();
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(19 * 1024);
    expect(Number(m?.[2])).toBeGreaterThanOrEqual(2);
    expect(Number(m?.[3])).toBe(1);
    expect(ARGON2_PARAMS).toMatchObject({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
    expect(await verifyPassword(h, 'tulsi marigold kettle river')).toBe(true);
    expect(await verifyPassword(h, 'tulsi marigold kettle rivers')).toBe(false);
    expect(await verifyPassword('not a hash', 'x')).toBe(false);
    expect(needsRehash(h)).toBe(false);
    expect(needsRehash('$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo')).toBe(true);
  });

  it('normalises Unicode (NFKC) so the same passphrase typed on another keyboard verifies', async () => {
    const composed = 'नमस्ते दुनिया पासवर्ड'.normalize('NFC');
    const h = await hashPassword(composed);
    expect(await verifyPassword(h, composed.normalize('NFD'))).toBe(true);
  });
});

describe('password policy (NIST SP 800-63B)', () => {
  const ok = (pw: string, ctx = {}) => expect(passwordProblems(pw, ctx)).toEqual([]);
  const refused = (pw: string, re: RegExp, ctx = {}) => {
    const p = passwordProblems(pw, ctx);
    expect(p.join('; '), pw).toMatch(re);
  };

  it('needs 12 characters, counted as characters not bytes, and allows long passphrases', () => {
    refused('short1!', /too short: use at least 12 characters/);
    refused('elevenchars', /too short/);
    ok('कमल गुलाब चमेली'); // 15 characters in Devanagari
    ok('correct horse battery staple'.repeat(2));
    ok('x'.repeat(0) + 'lantern-monsoon-pickle-'.repeat(5).slice(0, 100));
    refused('a'.repeat(129), /too long/);
  });

  it('has no composition rules: lower-case words are fine', () => {
    ok('monsoon lantern pickle');
  });

  it('refuses common and breached passwords, also with digits or symbols added', () => {
    refused('123456789012', /common|sequence/);
    refused('qwertyuiop12', /common|sequence/);
    refused('passwordpassword', /common|repeats/);
    refused('Password@2024', /common/);
    refused('iloveyou1234', /common/);
    refused('1qaz2wsx3edc', /common|sequence/);
    refused('football!!!!', /common/);
  });

  it('refuses repeated and sequential characters', () => {
    refused('aaaaaaaaaaaa', /repeats/);
    refused('abcabcabcabc', /repeats/);
    refused('abcdefghijklm', /sequence/);
    refused('9876543210987', /sequence/);
  });

  it('refuses the username, the person’s names and the service name', () => {
    refused('dr.meera.iyer2024', /username or name/, { username: 'dr.meera.iyer', displayName: 'Meera Iyer' });
    refused('iyermeera1985!', /username or name/, { username: 'miyer', displayName: 'Meera Iyer' });
    refused('Sushruta@12345', /this service|common/);
    refused('aiims-hospital-1', /this service|common/);
    ok('meera plants mango trees', { username: 'miyer', displayName: 'Meera Iyer' });
  });
});
