/** RFC 6238 Appendix B and RFC 4226 Appendix D test vectors, and the replay and drift rules. */
import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, hotp, otpauthUri, totp, verifyTotp } from '../../src/security/identity/totp.js';

const SHA1 = Buffer.from('12345678901234567890', 'ascii');
const SHA256 = Buffer.from('12345678901234567890123456789012', 'ascii');
const SHA512 = Buffer.from('1234567890123456789012345678901234567890123456789012345678901234', 'ascii');

// RFC 6238 Appendix B: time, then the 8-digit codes for SHA-1, SHA-256, SHA-512.
const RFC6238: [number, string, string, string][] = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

describe('TOTP (RFC 6238)', () => {
  it.each(RFC6238)('at T=%i gives the Appendix B codes for SHA-1, SHA-256 and SHA-512', (t, s1, s256, s512) => {
    expect(totp(SHA1, t, { algorithm: 'sha1', digits: 8, period: 30 })).toBe(s1);
    expect(totp(SHA256, t, { algorithm: 'sha256', digits: 8, period: 30 })).toBe(s256);
    expect(totp(SHA512, t, { algorithm: 'sha512', digits: 8, period: 30 })).toBe(s512);
  });

  it('gives the RFC 4226 Appendix D HOTP values', () => {
    const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
    expect(expected.map((_, i) => hotp(SHA1, BigInt(i)))).toEqual(expected);
  });

  it('accepts one step of drift either side, not two, and never the same step twice', () => {
    const t = 1_700_000_000;
    const now = totp(SHA1, t);
    expect(verifyTotp(SHA1, now, t)).toBe(BigInt(Math.floor(t / 30)));
    expect(verifyTotp(SHA1, totp(SHA1, t - 30), t)).not.toBeNull();
    expect(verifyTotp(SHA1, totp(SHA1, t + 30), t)).not.toBeNull();
    expect(verifyTotp(SHA1, totp(SHA1, t - 60), t)).toBeNull();
    const step = verifyTotp(SHA1, now, t) as bigint;
    expect(verifyTotp(SHA1, now, t + 5, { afterStep: step })).toBeNull();
    expect(verifyTotp(SHA1, totp(SHA1, t + 30), t + 30, { afterStep: step })).toBe(step + 1n);
    expect(verifyTotp(SHA1, '12345', t)).toBeNull();
    expect(verifyTotp(SHA1, 'abcdef', t)).toBeNull();
  });

  it('round-trips base32 (RFC 4648 vectors) and builds an otpauth URI', () => {
    expect(base32Encode(Buffer.from('foobar'))).toBe('MZXW6YTBOI');
    expect(base32Decode('MZXW6YTBOI').toString()).toBe('foobar');
    expect(base32Encode(SHA1)).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    const uri = otpauthUri(SHA1, 'Sushruta', 'dr.rao');
    expect(uri).toMatch(
      /^otpauth:\/\/totp\/Sushruta:dr\.rao\?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Sushruta&algorithm=SHA1&digits=6&period=30$/,
    );
  });
});
