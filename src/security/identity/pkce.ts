/**
 * PKCE (RFC 7636) with the S256 method only: the app keeps a random `code_verifier` and sends
 * `code_challenge = BASE64URL(SHA-256(ASCII(code_verifier)))` with the authorization request; the
 * token request must show the verifier. Whoever intercepts the code (a malicious app registered
 * for the same custom scheme, a leaked log, a referrer) lacks the verifier and gets nothing.
 * `plain` is refused: it would send the verifier itself through the browser.
 */
import { createHash } from 'node:crypto';
import { safeEqual } from './tokens.js';

/** RFC 7636 section 4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~". */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
/** An S256 challenge is the base64url (no padding) of 32 bytes: exactly 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export function s256Challenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** Why a code_verifier is malformed, or null. */
export function verifierProblem(verifier: string | null): string | null {
  if (!verifier) return 'code_verifier is required (PKCE, RFC 7636)';
  if (!VERIFIER.test(verifier)) return 'code_verifier must be 43 to 128 characters of letters, digits and - . _ ~ (RFC 7636 section 4.1)';
  return null;
}

/** Why the PKCE parameters of an authorization request are not acceptable, or null. */
export function challengeProblem(challenge: string | null, method: string | null): string | null {
  if (!challenge) return 'code_challenge is required: this server accepts only authorization requests with PKCE (RFC 7636, S256)';
  if (method === 'plain') return "code_challenge_method 'plain' is not accepted; use S256";
  if (method !== 'S256') {
    return method
      ? `code_challenge_method '${method}' is not supported; use S256`
      : 'code_challenge_method is required and must be S256 (without it RFC 7636 means plain, which is refused)';
  }
  if (!S256_CHALLENGE.test(challenge)) return 'code_challenge must be the 43-character base64url SHA-256 of the code_verifier';
  return null;
}

/** Whether the verifier answers the challenge (constant-time comparison). */
export function verifierMatches(verifier: string, challenge: string): boolean {
  return safeEqual(s256Challenge(verifier), challenge);
}
