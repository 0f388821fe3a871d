/**
 * Random ABHA numbers for the demo hospital. The identifiers themselves (format, Verhoeff check)
 * are in ../ids/abha.ts, shared with the web app.
 */
import { formatAbhaNumber } from '../ids/abha.js';
import { verhoeffCheckDigit } from '../ids/verhoeff.js';
import type { Rng } from './random.js';

export { ABHA_ADDRESS_SYSTEM, ABHA_NUMBER_SYSTEM, formatAbhaNumber, isValidAbhaAddress, isValidAbhaNumber } from '../ids/abha.js';

/** A random, well-formed ABHA number (13 random digits, first non-zero, plus the check digit). */
export function randomAbhaNumber(rng: Rng): string {
  const body = rng.digits(13, true);
  return formatAbhaNumber(`${body}${verhoeffCheckDigit(body)}`);
}
