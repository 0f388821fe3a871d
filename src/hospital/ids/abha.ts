/**
 * ABHA (Ayushman Bharat Health Account) identifiers: the 14-digit ABHA number, shown as
 * 'XX-XXXX-XXXX-XXXX', whose last digit is a Verhoeff check digit; and the ABHA address
 * ('name.1234@abdm'). Pure and dependency-free: the server and the web app (web/) both use it.
 */
import { verhoeffValid } from './verhoeff.js';

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

/** Why a typed ABHA number is not one (spaces and dashes anywhere are tolerated), or undefined when it is. */
export function abhaNumberProblem(value: string): string | undefined {
  const digits = value.replace(/[\s-]/g, '');
  if (!/^[0-9]*$/.test(digits)) return 'an ABHA number has digits only (XX-XXXX-XXXX-XXXX)';
  if (digits.length !== 14) return `an ABHA number has 14 digits (XX-XXXX-XXXX-XXXX); this has ${digits.length}`;
  if (!verhoeffValid(digits))
    return 'this is not a valid ABHA number: its check digit does not match (a digit is mistyped or two are swapped)';
  return undefined;
}

/** The 'XX-XXXX-XXXX-XXXX' form of a typed ABHA number, or undefined when it is not valid. */
export function normaliseAbhaNumber(value: string): string | undefined {
  if (abhaNumberProblem(value) !== undefined) return undefined;
  return formatAbhaNumber(value.replace(/[\s-]/g, ''));
}

const ABHA_ADDRESS = /^[a-z0-9](?:[a-z0-9]|[._](?=[a-z0-9])){7,17}@(?:abdm|sbx)$/;

export function isValidAbhaAddress(value: string): boolean {
  return ABHA_ADDRESS.test(value);
}

/** Why a typed ABHA address is not one, or undefined when it is (it is compared in lower case). */
export function abhaAddressProblem(value: string): string | undefined {
  const v = value.trim().toLowerCase();
  if (!/@(abdm|sbx)$/.test(v)) return "an ABHA address ends in '@abdm' (for example 'meera.1987@abdm')";
  if (isValidAbhaAddress(v)) return undefined;
  return 'an ABHA address has 8-18 letters, digits, dots or underscores before the @ (starting with a letter or digit, no dot or underscore at the end or twice in a row)';
}
