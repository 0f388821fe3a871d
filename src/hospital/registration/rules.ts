/**
 * The registration desk's rules on what is typed: dates shown and typed DD-MM-YYYY, ages, Indian
 * mobile numbers and PIN codes, and the checks a new Patient must pass (valid ABHA number and
 * address, a guardian for a minor, no birth date in the future). Pure and dependency-free: the web
 * app checks a form with them as it is typed, and the server checks the same again on
 * registration (a browser is never trusted).
 */

/** A problem with one element of a Patient, named by its FHIRPath (`Patient.birthDate`). */
export interface RuleProblem {
  readonly path: string;
  readonly message: string;
}

/** India Standard Time (UTC+05:30, no daylight saving): the calendar the hospital lives by. */
const IST_OFFSET_MS = 330 * 60_000;

/** Today's date in India, 'YYYY-MM-DD'. */
export function istToday(now: Date): string {
  return new Date(now.getTime() + IST_OFFSET_MS).toISOString().slice(0, 10);
}

const FHIR_DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Parses a date typed as DD-MM-YYYY (also with / or . between the parts) into 'YYYY-MM-DD'. */
export function parseDdMmYyyy(text: string): { date: string } | { problem: string } {
  const m = /^\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})\s*$/.exec(text);
  if (!m) return { problem: 'type the date as DD-MM-YYYY, for example 07-03-1984' };
  const [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12) return { problem: `there is no month ${mo}: type the date as DD-MM-YYYY` };
  if (d < 1 || d > daysInMonth(y, mo)) return { problem: `${String(mo).padStart(2, '0')}-${y} has no day ${d}` };
  if (y < 1880) return { problem: 'the year is too far in the past' };
  return { date: `${y}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}` };
}

/** A FHIR date as the hospital shows it: DD-MM-YYYY, MM-YYYY or YYYY, as far as its precision goes. */
export function formatDdMmYyyy(fhirDate: string | undefined): string {
  if (!fhirDate) return '';
  const m = FHIR_DATE.exec(fhirDate.slice(0, 10));
  if (!m) return fhirDate;
  const [, y, mo, d] = m;
  if (d) return `${d}-${mo}-${y}`;
  if (mo) return `${mo}-${y}`;
  return y ?? fhirDate;
}

/** A FHIR dateTime or instant as DD-MM-YYYY HH:MM in India time. */
export function formatIstDateTime(instant: string | undefined): string {
  if (!instant) return '';
  const t = Date.parse(instant);
  if (Number.isNaN(t)) return instant;
  const ist = new Date(t + IST_OFFSET_MS).toISOString();
  return `${formatDdMmYyyy(ist.slice(0, 10))} ${ist.slice(11, 16)}`;
}

/**
 * Completed years between a birth date and today (both 'YYYY[-MM[-DD]]'). A birth date known only
 * to the year or month (an age told at the desk) counts as if the birthday were at its end, the
 * same estimate the desk made when it turned an age into a year of birth.
 */
export function ageInYears(birthDate: string, today: string): number | undefined {
  const b = FHIR_DATE.exec(birthDate.slice(0, 10));
  const t = FHIR_DATE.exec(today.slice(0, 10));
  if (!b || !t) return undefined;
  const [by, bm, bd] = [Number(b[1]), b[2] ? Number(b[2]) : undefined, b[3] ? Number(b[3]) : undefined];
  const [ty, tm, td] = [Number(t[1]), Number(t[2] ?? 12), Number(t[3] ?? 31)];
  if (bm === undefined) return ty - by;
  const beforeBirthday = tm < bm || (tm === bm && bd !== undefined && td < bd);
  return ty - by - (beforeBirthday ? 1 : 0);
}

/** The year of birth an age told at the desk stands for ('YYYY', the precision FHIR allows for it). */
export function birthYearFromAge(age: number, today: string): string {
  return String(Number(today.slice(0, 4)) - age);
}

/** Why a typed age is not one, or undefined. */
export function ageProblem(text: string): string | undefined {
  if (!/^\s*\d{1,3}\s*$/.test(text)) return 'type the age in whole years (0-125)';
  const n = Number(text);
  return n > 125 ? 'an age of more than 125 years is not plausible' : undefined;
}

export const ADULT_AGE = 18;

export function isMinor(birthDate: string, today: string): boolean {
  const age = ageInYears(birthDate, today);
  return age !== undefined && age < ADULT_AGE;
}

/**
 * An Indian mobile number in the form it is stored ('+91' and ten digits), from what was typed:
 * spaces, dashes, a leading 0, 91 or +91 are accepted.
 */
export function normaliseIndianMobile(text: string): { phone: string } | { problem: string } {
  let d = text.replace(/[\s\-().]/g, '');
  if (d.startsWith('+91')) d = d.slice(3);
  else if (d.startsWith('0091')) d = d.slice(4);
  else if (d.length === 12 && d.startsWith('91')) d = d.slice(2);
  else if (d.length === 11 && d.startsWith('0')) d = d.slice(1);
  if (!/^\d+$/.test(d)) return { problem: 'a phone number has digits only (spaces, dashes and +91 are fine)' };
  if (d.length !== 10) return { problem: `a mobile number has 10 digits; this has ${d.length}` };
  if (!/^[6-9]/.test(d)) return { problem: 'an Indian mobile number starts with 6, 7, 8 or 9' };
  return { phone: `+91${d}` };
}

/** Why a PIN code is not one, or undefined: six digits, the first not 0. */
export function pinCodeProblem(text: string): string | undefined {
  const v = text.replace(/\s/g, '');
  if (!/^\d{6}$/.test(v)) return 'a PIN code has 6 digits';
  if (v.startsWith('0')) return 'a PIN code does not start with 0';
  return undefined;
}

/** The Indian scripts a name may be written in, with the language code stored beside the name. */
const SCRIPTS: readonly (readonly [RegExp, string, string])[] = [
  [/[\u0900-\u097F]/, 'hi', 'Devanagari'],
  [/[\u0980-\u09FF]/, 'bn', 'Bengali'],
  [/[\u0A00-\u0A7F]/, 'pa', 'Gurmukhi'],
  [/[\u0A80-\u0AFF]/, 'gu', 'Gujarati'],
  [/[\u0B00-\u0B7F]/, 'or', 'Odia'],
  [/[\u0B80-\u0BFF]/, 'ta', 'Tamil'],
  [/[\u0C00-\u0C7F]/, 'te', 'Telugu'],
  [/[\u0C80-\u0CFF]/, 'kn', 'Kannada'],
  [/[\u0D00-\u0D7F]/, 'ml', 'Malayalam'],
];

/** The Indian script a name is written in (and a language that writes it), if any. */
export function indianScriptOf(text: string): { language: string; script: string } | undefined {
  for (const [re, language, script] of SCRIPTS) if (re.test(text)) return { language, script };
  return undefined;
}

/** Why a name typed in Latin letters is not usable, or undefined. */
export function latinNameProblem(text: string, what: string): string | undefined {
  if (text.trim() === '') return `${what} is required`;
  if (indianScriptOf(text)) return `type the ${what.toLowerCase()} in Latin letters here; the name in an Indian script has its own field`;
  if (!/^[\p{L}\p{M}][\p{L}\p{M} .'-]*$/u.test(text.trim())) return `${what} has letters, spaces, dots, apostrophes and hyphens only`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The checks the server makes on a Patient sent for registration (and the web app before it).

/** The minimal shape of the parts of a FHIR Patient these rules read. */
interface PatientLike {
  readonly birthDate?: string;
  readonly identifier?: readonly { readonly system?: string; readonly value?: string }[];
  readonly contact?: readonly {
    readonly name?: { readonly text?: string; readonly family?: string; readonly given?: readonly string[] };
    readonly relationship?: readonly { readonly text?: string; readonly coding?: readonly { readonly code?: string }[] }[];
  }[];
}

export interface RegistrationRuleOptions {
  /** 'YYYY-MM-DD' in India. */
  readonly today: string;
  readonly abhaNumberSystem: string;
  readonly abhaAddressSystem: string;
  readonly abhaNumberProblem: (value: string) => string | undefined;
  readonly abhaAddressProblem: (value: string) => string | undefined;
}

/** Every rule a Patient to be registered breaks (empty when it may be registered). */
export function registrationProblems(p: PatientLike, o: RegistrationRuleOptions): RuleProblem[] {
  const out: RuleProblem[] = [];
  const born = p.birthDate?.slice(0, 10);
  const future = born !== undefined && born > o.today.slice(0, born.length);
  if (!born) out.push({ path: 'Patient.birthDate', message: 'a date of birth (or an age) is required' });
  else if (future) out.push({ path: 'Patient.birthDate', message: 'the date of birth is in the future' });
  (p.identifier ?? []).forEach((id, i) => {
    const path = `Patient.identifier[${i}].value`;
    if (id.system === o.abhaNumberSystem) {
      const problem = o.abhaNumberProblem(id.value ?? '');
      if (problem) out.push({ path, message: problem });
    } else if (id.system === o.abhaAddressSystem) {
      const problem = o.abhaAddressProblem(id.value ?? '');
      if (problem) out.push({ path, message: problem });
    }
  });
  if (born && !future && isMinor(born, o.today)) {
    const guardian = (p.contact ?? []).find((c) => {
      const named = Boolean(c.name?.text?.trim() || c.name?.family?.trim() || c.name?.given?.some((g) => g.trim()));
      const related = (c.relationship ?? []).some((r) => r.text?.trim() || r.coding?.some((cd) => cd.code));
      return named && related;
    });
    if (!guardian) {
      out.push({
        path: 'Patient.contact',
        message: `a patient under ${ADULT_AGE} needs a parent or guardian: their name and relationship`,
      });
    }
  }
  return out;
}
