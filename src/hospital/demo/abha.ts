/**
 * ABHA (Ayushman Bharat Health Account) identifiers: the 14-digit ABHA number, shown as
 * 'XX-XXXX-XXXX-XXXX', whose last digit is a Verhoeff check digit; and the ABHA address
 * ('name.1234@abdm').
 */
import type { Rng } from './random.js';
import { verhoeffCheckDigit, verhoeffValid } from './verhoeff.js';

export const ABHA_NUMBER_SYSTEM = 'https://healthid.ndhm.gov.in';
export const ABHA_ADDRESS_SYSTEM = 'https://healthid.ndhm.gov.in/abha-address';

export function formatAbhaNumber(digits14: string): string {
  if (!/^[0-9]{14}$/.test(digits14)) throw new Error(`an ABHA number has 14 digits, got '${digits14}'`);
  return `${digits14.slice(0, 2)}-${digits14.slice(2, 6)}-${digits14.slice(6, 10)}-${digits14.slice(10)}`;
}

/** Accepts 'XX-XXXX-XXXX-XXXX' or 14 bare digits; checks the Verhoeff digit. */
export function isValidAbhaNumber(value: string): boolean {
  if (!/^(?:[0-9]{2}-[0-9]{4}-[0-9]{4}-[0-9]{4}|[0-9]{14})$/.test(value)) return false;
  return verhoeffValid(value.replace(/-/g, ''));
}

/** A random, well-formed ABHA number (13 random digits, first non-zero, plus the check digit). */
export function randomAbhaNumber(rng: Rng): string {
  const body = rng.digits(13, true);
  return formatAbhaNumber(`${body}${verhoeffCheckDigit(body)}`);
}

const ABHA_ADDRESS = /^[a-z0-9](?:[a-z0-9]|[._](?=[a-z0-9])){7,17}@(?:abdm|sbx)$/;

export function isValidAbhaAddress(value: string): boolean {
  return ABHA_ADDRESS.test(value);
}
