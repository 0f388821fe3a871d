/**
 * The Verhoeff check digit (dihedral group D5), used as the last digit of the 14-digit ABHA
 * number (and of Aadhaar). Detects every single-digit error and every adjacent transposition.
 * Pure and dependency-free: the server and the web app (web/) both use it.
 */

/** An entry of a table; the tables are complete, so a miss is a programming error. */
function item(row: readonly number[] | undefined, i: number): number {
  const v = row?.[i];
  if (v === undefined) throw new Error(`Verhoeff table has no entry ${i}`);
  return v;
}

const D: readonly (readonly number[])[] = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
  [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
  [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
  [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
  [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
  [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];

const P: readonly (readonly number[])[] = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
  [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
  [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
  [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
  [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

const INV: readonly number[] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

function requireDigits(s: string): void {
  if (!/^[0-9]+$/.test(s)) throw new Error(`Verhoeff needs a non-empty string of digits, got '${s}'`);
}

function run(digits: string, offset: number): number {
  let c = 0;
  for (let i = 0; i < digits.length; i++) {
    const d = digits.charCodeAt(digits.length - 1 - i) - 48;
    c = item(D[c], item(P[(i + offset) % 8], d));
  }
  return c;
}

/** The check digit to append to `digits`. */
export function verhoeffCheckDigit(digits: string): number {
  requireDigits(digits);
  return item(INV, run(digits, 1));
}

/** True when the last digit of `digitsWithCheck` is its correct Verhoeff check digit. */
export function verhoeffValid(digitsWithCheck: string): boolean {
  if (!/^[0-9]{2,}$/.test(digitsWithCheck)) return false;
  return run(digitsWithCheck, 0) === 0;
}
