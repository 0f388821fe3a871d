/**
 * Random secrets of the identity module and how they are kept: session and device cookies, the
 * setup token and recovery codes are random (≥ 80 bits), so the database keeps only their SHA-256
 * (a slow hash adds nothing to a secret nobody can guess); a reader of the database cannot turn a
 * stored hash back into a working cookie or code.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { base32Encode } from './totp.js';

/** 256 random bits, base64url: session cookies, device cookies, the setup token. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * The CSRF token of a session: HMAC-SHA-256 keyed by the session cookie's secret (a synchronizer
 * token that needs no storage). Only a page that can read this origin's responses learns it; a
 * cross-site form or fetch sends the cookie but cannot know the token.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('sushruta:csrf:v1').digest('base64url');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export const RECOVERY_CODES = 10;

/** Ten one-time recovery codes of 80 random bits each, as `xxxx-xxxx-xxxx-xxxx` (base32, lower case). */
export function newRecoveryCodes(n = RECOVERY_CODES): string[] {
  return Array.from({ length: n }, () =>
    base32Encode(randomBytes(10))
      .toLowerCase()
      .replace(/(.{4})(?=.)/g, '$1-'),
  );
}

/** The hash a recovery code is stored as; spaces, dashes and case do not matter when typed. */
export function recoveryCodeHash(code: string): Buffer {
  return tokenHash(`recovery:${code.replace(/[\s-]/g, '').toLowerCase()}`);
}

/**
 * An initial password for an account an administrator creates: five words' worth of entropy
 * (100 bits) as four groups of five letters and digits, easy to read aloud and to type once; the
 * account must choose its own at first sign-in.
 */
export function newInitialPassword(): string {
  return base32Encode(randomBytes(13))
    .toLowerCase()
    .slice(0, 20)
    .replace(/(.{5})(?=.)/g, '$1-');
}
