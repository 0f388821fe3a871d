/**
 * Time-based one-time passwords, RFC 6238 (TOTP) over RFC 4226 (HOTP), with node:crypto's HMAC.
 * No library: the algorithm is a dozen lines, and `test/identity/totp.test.ts` checks it against
 * every test vector of RFC 6238 Appendix B (SHA-1, SHA-256, SHA-512) and RFC 4226 Appendix D.
 *
 * What staff enrol: a random 160-bit secret (RFC 4226 section 4 recommends 160 bits), SHA-1,
 * 6 digits, 30-second steps: the parameters every authenticator app understands. A code is
 * accepted for the current step and one step either side (clock drift), and never twice: the
 * caller stores the last step used and passes it back (`afterStep`), which stops replay of a code
 * seen over a shoulder or in a phishing proxy within its validity.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type TotpAlgorithm = 'sha1' | 'sha256' | 'sha512';

export interface TotpParams {
  readonly algorithm: TotpAlgorithm;
  readonly digits: number;
  /** Seconds per step (X in RFC 6238). */
  readonly period: number;
}

export const STAFF_TOTP: TotpParams = { algorithm: 'sha1', digits: 6, period: 30 };
export const TOTP_SECRET_BYTES = 20;

/** RFC 4226 HOTP: dynamic truncation of HMAC(secret, counter), `digits` decimal digits. */
export function hotp(secret: Uint8Array, counter: bigint, digits = 6, algorithm: TotpAlgorithm = 'sha1'): string {
  if (digits < 6 || digits > 10) throw new RangeError('HOTP codes have 6 to 10 digits');
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(counter);
  const mac = createHmac(algorithm, secret).update(msg).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const bin = mac.readUInt32BE(offset) & 0x7fffffff;
  return (bin % 10 ** digits).toString().padStart(digits, '0');
}

/** The time step of a Unix time (seconds), T = floor((time - T0) / X) with T0 = 0. */
export function totpStep(unixSeconds: number, period = STAFF_TOTP.period): bigint {
  return BigInt(Math.floor(unixSeconds / period));
}

/** RFC 6238 TOTP code at a Unix time (seconds). */
export function totp(secret: Uint8Array, unixSeconds: number, params: TotpParams = STAFF_TOTP): string {
  return hotp(secret, totpStep(unixSeconds, params.period), params.digits, params.algorithm);
}

/**
 * Checks a code at `unixSeconds`, allowing `window` steps of drift either side, and refusing any
 * step at or before `afterStep` (the last step this secret was used at). Returns the matched step
 * (to store as the new `afterStep`) or null. Compares in constant time.
 */
export function verifyTotp(
  secret: Uint8Array,
  code: string,
  unixSeconds: number,
  opts: { afterStep?: bigint | null; window?: number; params?: TotpParams } = {},
): bigint | null {
  const params = opts.params ?? STAFF_TOTP;
  const given = code.replace(/\s+/g, '');
  if (!/^\d+$/.test(given) || given.length !== params.digits) return null;
  const now = totpStep(unixSeconds, params.period);
  const window = opts.window ?? 1;
  let matched: bigint | null = null;
  for (let d = -window; d <= window; d++) {
    const step = now + BigInt(d);
    if (step < 0n) continue;
    const expected = hotp(secret, step, params.digits, params.algorithm);
    // Every candidate is computed and compared, so timing does not tell which step matched.
    if (timingSafeEqual(Buffer.from(expected), Buffer.from(given)) && matched === null) matched = step;
  }
  if (matched === null) return null;
  if (opts.afterStep !== undefined && opts.afterStep !== null && matched <= opts.afterStep) return null;
  return matched;
}

export function newTotpSecret(): Buffer {
  return randomBytes(TOTP_SECRET_BYTES);
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding (what authenticator apps take). */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const i = B32.indexOf(ch);
    if (i < 0) throw new RangeError(`not a base32 character: ${JSON.stringify(ch)}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The otpauth:// URI an authenticator app scans (Key Uri Format). */
export function otpauthUri(secret: Uint8Array, issuer: string, account: string, params: TotpParams = STAFF_TOTP): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const q = new URLSearchParams({
    secret: base32Encode(secret),
    issuer,
    algorithm: params.algorithm.toUpperCase(),
    digits: String(params.digits),
    period: String(params.period),
  });
  return `otpauth://totp/${label}?${q.toString()}`;
}
