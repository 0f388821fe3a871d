/** How a Patient is shown: names in both scripts, UHID, age, phone, address; dates DD-MM-YYYY. */
import type { Address, HumanName, Patient } from '@medplum/fhirtypes';
import { ABHA_ADDRESS_SYSTEM, ABHA_NUMBER_SYSTEM } from '../../../src/hospital/ids/abha.js';
import { UHID_SYSTEM } from '../../../src/hospital/ids/uhid.js';
import { ageInYears, formatDdMmYyyy, indianScriptOf, istToday } from '../../../src/hospital/registration/rules.js';

export function nameText(n: HumanName | undefined): string {
  if (!n) return '';
  return n.text?.trim() || [...(n.prefix ?? []), ...(n.given ?? []), n.family ?? '', ...(n.suffix ?? [])].filter(Boolean).join(' ');
}

/** The name in Latin letters (the official one, else the first that is not in an Indian script). */
export function latinName(p: Patient): string {
  const names = p.name ?? [];
  const latin = names.filter((n) => !indianScriptOf(nameText(n)));
  return nameText(latin.find((n) => n.use === 'official') ?? latin[0] ?? names[0]) || '(no name)';
}

/** The name in an Indian script, if the record has one. */
export function nativeName(p: Patient): string | undefined {
  const n = (p.name ?? []).map(nameText).find((t) => indianScriptOf(t));
  return n || undefined;
}

export function identifierValue(p: Patient, system: string): string | undefined {
  return p.identifier?.find((i) => i.system === system)?.value;
}

export const uhidOf = (p: Patient) => identifierValue(p, UHID_SYSTEM);
export const abhaNumberOf = (p: Patient) => identifierValue(p, ABHA_NUMBER_SYSTEM);
export const abhaAddressOf = (p: Patient) => identifierValue(p, ABHA_ADDRESS_SYSTEM);

export function phoneOf(p: Patient): string | undefined {
  return p.telecom?.find((t) => t.system === 'phone')?.value;
}

/** '+919810012345' as '98100 12345' (Indian mobiles), anything else as stored. */
export function formatPhone(v: string | undefined): string {
  if (!v) return '';
  const m = /^\+91(\d{5})(\d{5})$/.exec(v);
  return m ? `${m[1]} ${m[2]}` : v;
}

const SEX: Record<string, string> = { male: 'Male', female: 'Female', other: 'Other', unknown: 'Unknown' };

export function sexOf(p: Patient): string {
  return p.gender ? (SEX[p.gender] ?? p.gender) : '';
}

/** '07-03-1984 (42 y)', '1984 (about 42 y)' for a year told as an age, or '' when unknown. */
export function birthAndAge(p: Patient, now = new Date()): string {
  if (!p.birthDate) return '';
  const age = ageInYears(p.birthDate, istToday(now));
  const precise = p.birthDate.length >= 10;
  const ageText = age === undefined ? '' : age < 1 && precise ? ' (under 1 y)' : ` (${precise ? '' : 'about '}${age} y)`;
  return `${formatDdMmYyyy(p.birthDate)}${ageText}`;
}

export function addressLines(a: Address | undefined): string[] {
  if (!a) return [];
  const place = [a.city, a.district !== a.city ? a.district : undefined].filter(Boolean).join(', ');
  const region = [a.state, a.postalCode].filter(Boolean).join(' ');
  return [...(a.line ?? []), place, region].filter((x): x is string => Boolean(x?.trim()));
}

/** A short place for tables: locality or city, and the PIN code. */
export function shortPlace(p: Patient): string {
  const a = p.address?.[0];
  if (!a) return '';
  const where = a.line?.[1] ?? a.city ?? a.district ?? '';
  return [where, a.postalCode].filter(Boolean).join(' · ');
}
