/**
 * Hospital UHIDs (Unique Health IDentifier, one per patient per hospital), e.g. 'SDH-2026-000123-3':
 * prefix, registration year, a sequence number (at least 6 digits) and a Luhn mod-10 check digit
 * computed over the digits of year and sequence ('2026000123').
 * Pure and dependency-free: the server and the web app (web/) both use it.
 */

export const UHID_SYSTEM = 'https://sushruta.example.in/fhir/sid/uhid';

/** Luhn (mod 10) check digit for a string of digits. */
export function luhnCheckDigit(digits: string): number {
  if (!/^[0-9]+$/.test(digits)) throw new Error(`Luhn needs a non-empty string of digits, got '${digits}'`);
  let sum = 0;
  // The rightmost payload digit is doubled (it sits next to the check digit).
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** True when the last digit of `digitsWithCheck` is its correct Luhn check digit. */
export function luhnValid(digitsWithCheck: string): boolean {
  if (!/^[0-9]{2,}$/.test(digitsWithCheck)) return false;
  return luhnCheckDigit(digitsWithCheck.slice(0, -1)) === digitsWithCheck.charCodeAt(digitsWithCheck.length - 1) - 48;
}

export function formatUhid(prefix: string, year: number, sequence: number): string {
  if (!/^[A-Z]{2,6}$/.test(prefix)) throw new Error(`UHID prefix must be 2-6 capital letters, got '${prefix}'`);
  if (!Number.isInteger(year) || year < 1900 || year > 9999) throw new Error(`UHID year out of range: ${year}`);
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw new Error(`UHID sequence must be a positive integer, got ${sequence}`);
  const seq = String(sequence).padStart(6, '0');
  return `${prefix}-${year}-${seq}-${luhnCheckDigit(`${year}${seq}`)}`;
}

const UHID_PATTERN = /^([A-Z]{2,6})-([0-9]{4})-([0-9]{6,})-([0-9])$/;

export interface ParsedUhid {
  readonly prefix: string;
  readonly year: number;
  readonly sequence: number;
}

/** Parses a UHID and checks its check digit; undefined when malformed or the check fails. */
export function parseUhid(uhid: string): ParsedUhid | undefined {
  const m = UHID_PATTERN.exec(uhid);
  if (!m) return undefined;
  const [, prefix, year, seq, check] = m as unknown as [string, string, string, string, string];
  if (!luhnValid(`${year}${seq}${check}`)) return undefined;
  return { prefix, year: Number(year), sequence: Number(seq) };
}

export function isValidUhid(uhid: string): boolean {
  return parseUhid(uhid) !== undefined;
}
