/**
 * The registration form: what is typed, its checks (the same rules the server applies again, from
 * src/hospital), and the FHIR Patient it becomes. Pure: no requests, no React.
 */
import type { Identifier, Patient, PatientContact } from '@medplum/fhirtypes';
import {
  ABHA_ADDRESS_SYSTEM,
  ABHA_NUMBER_SYSTEM,
  abhaAddressProblem,
  abhaNumberProblem,
  normaliseAbhaNumber,
} from '../../../src/hospital/ids/abha.js';
import {
  ADULT_AGE,
  ageProblem,
  birthYearFromAge,
  indianScriptOf,
  isMinor,
  latinNameProblem,
  normaliseIndianMobile,
  parseDdMmYyyy,
  pinCodeProblem,
} from '../../../src/hospital/registration/rules.js';

export type Sex = '' | 'male' | 'female' | 'other' | 'unknown';

export interface RegistrationForm {
  readonly given: string;
  readonly family: string;
  readonly nativeName: string;
  readonly sex: Sex;
  /** DD-MM-YYYY; or, when only the age is known, `age`. */
  readonly dob: string;
  readonly age: string;
  readonly phone: string;
  readonly addressLine: string;
  readonly locality: string;
  readonly city: string;
  readonly district: string;
  readonly state: string;
  readonly pin: string;
  readonly abhaNumber: string;
  readonly abhaAddress: string;
  readonly guardianName: string;
  readonly guardianRelation: string;
  readonly guardianPhone: string;
}

export type FieldName = keyof RegistrationForm;
export type FormErrors = Partial<Record<FieldName, string>>;

export const EMPTY_FORM: RegistrationForm = {
  given: '',
  family: '',
  nativeName: '',
  sex: '',
  dob: '',
  age: '',
  phone: '',
  addressLine: '',
  locality: '',
  city: '',
  district: '',
  state: '',
  pin: '',
  abhaNumber: '',
  abhaAddress: '',
  guardianName: '',
  guardianRelation: '',
  guardianPhone: '',
};

const ROLE_CODE = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
export const LANGUAGE_EXT = 'http://hl7.org/fhir/StructureDefinition/language';

/** Relationships of a parent or guardian (HL7 v3 RoleCode). */
export const GUARDIAN_RELATIONS: readonly (readonly [string, string])[] = [
  ['MTH', 'Mother'],
  ['FTH', 'Father'],
  ['GRMTH', 'Grandmother'],
  ['GRFTH', 'Grandfather'],
  ['GUARD', 'Guardian (other)'],
];

/** The birth date the form stands for ('YYYY-MM-DD', or 'YYYY' from an age), if it is valid. */
export function birthDateOf(f: RegistrationForm, today: string): string | undefined {
  if (f.dob.trim()) {
    const d = parseDdMmYyyy(f.dob);
    return 'date' in d ? d.date : undefined;
  }
  if (f.age.trim() && !ageProblem(f.age)) return birthYearFromAge(Number(f.age), today);
  return undefined;
}

export function needsGuardian(f: RegistrationForm, today: string): boolean {
  const b = birthDateOf(f, today);
  return b !== undefined && isMinor(b, today);
}

/** Every problem of the form, by field (empty when it may be sent). */
export function validate(f: RegistrationForm, today: string): FormErrors {
  const e: FormErrors = {};
  const given = latinNameProblem(f.given, 'Given name');
  if (given) e.given = given;
  if (f.family.trim()) {
    const family = latinNameProblem(f.family, 'Family name');
    if (family) e.family = family;
  }
  if (f.nativeName.trim() && !indianScriptOf(f.nativeName)) {
    e.nativeName =
      'this field is for the name in an Indian script (Devanagari, Bengali, Gurmukhi, Gujarati, Odia, Tamil, Telugu, Kannada, Malayalam)';
  }
  if (!f.sex) e.sex = 'Choose the sex';
  if (f.dob.trim()) {
    const d = parseDdMmYyyy(f.dob);
    if ('problem' in d) e.dob = d.problem;
    else if (d.date > today) e.dob = 'the date of birth is in the future';
  } else if (f.age.trim()) {
    const a = ageProblem(f.age);
    if (a) e.age = a;
  } else {
    e.dob = 'Type the date of birth, or the age if the date is not known';
  }
  if (f.phone.trim()) {
    const p = normaliseIndianMobile(f.phone);
    if ('problem' in p) e.phone = p.problem;
  }
  if (!f.addressLine.trim()) e.addressLine = 'Type the house and street (or village)';
  if (!f.city.trim()) e.city = 'Type the town, city or village';
  if (!f.state) e.state = 'Choose the state or union territory';
  const pin = pinCodeProblem(f.pin);
  if (pin) e.pin = f.pin.trim() ? pin : 'Type the 6-digit PIN code';
  if (f.abhaNumber.trim()) {
    const a = abhaNumberProblem(f.abhaNumber);
    if (a) e.abhaNumber = a;
  }
  if (f.abhaAddress.trim()) {
    const a = abhaAddressProblem(f.abhaAddress);
    if (a) e.abhaAddress = a;
  }
  const guardianGiven = f.guardianName.trim() || f.guardianRelation || f.guardianPhone.trim();
  if (needsGuardian(f, today) || guardianGiven) {
    const minor = needsGuardian(f, today);
    if (!f.guardianName.trim())
      e.guardianName = minor ? `A patient under ${ADULT_AGE} needs a parent or guardian: type their name` : 'Type the name';
    else if (indianScriptOf(f.guardianName)) e.guardianName = 'Type the name in Latin letters';
    if (!f.guardianRelation) e.guardianRelation = 'Choose how they are related';
    if (f.guardianPhone.trim()) {
      const p = normaliseIndianMobile(f.guardianPhone);
      if ('problem' in p) e.guardianPhone = p.problem;
    }
  }
  return e;
}

function words(s: string): string[] {
  return s.trim().split(/\s+/).filter(Boolean);
}

/** Capitalises each word as names are written ('sharma' -> 'Sharma'); leaves mixed case alone. */
export function tidyName(s: string): string {
  const t = s.trim().replace(/\s+/g, ' ');
  return t === t.toLowerCase() || t === t.toUpperCase()
    ? t.toLowerCase().replace(/(^|[\s'-])(\p{L})/gu, (_, a, b: string) => a + b.toUpperCase())
    : t;
}

/** The Patient a valid form stands for, without a UHID (the server gives it). */
export function toPatient(f: RegistrationForm, today: string): Patient {
  const given = words(tidyName(f.given));
  const family = tidyName(f.family);
  const phone = f.phone.trim() ? normaliseIndianMobile(f.phone) : undefined;
  const native = f.nativeName.trim() ? indianScriptOf(f.nativeName) : undefined;
  const identifier: Identifier[] = [];
  const abha = f.abhaNumber.trim() ? normaliseAbhaNumber(f.abhaNumber) : undefined;
  if (abha) {
    identifier.push({
      use: 'official',
      type: { coding: [{ system: V2_0203, code: 'NI', display: 'National unique individual identifier' }], text: 'ABHA number' },
      system: ABHA_NUMBER_SYSTEM,
      value: abha,
    });
  }
  if (f.abhaAddress.trim()) {
    identifier.push({
      use: 'secondary',
      type: { text: 'ABHA address' },
      system: ABHA_ADDRESS_SYSTEM,
      value: f.abhaAddress.trim().toLowerCase(),
    });
  }
  const birthDate = birthDateOf(f, today);
  const p: Patient = {
    resourceType: 'Patient',
    active: true,
    ...(identifier.length > 0 ? { identifier } : {}),
    name: [
      { use: 'official', text: [...given, family].filter(Boolean).join(' '), given, ...(family ? { family } : {}) },
      ...(native
        ? [
            {
              use: 'usual' as const,
              text: f.nativeName.trim().normalize('NFC'),
              extension: [{ url: LANGUAGE_EXT, valueCode: native.language }],
            },
          ]
        : []),
    ],
    ...(phone && 'phone' in phone ? { telecom: [{ system: 'phone' as const, value: phone.phone, use: 'mobile' as const, rank: 1 }] } : {}),
    ...(f.sex ? { gender: f.sex } : {}),
    ...(birthDate ? { birthDate } : {}),
    address: [
      {
        use: 'home',
        type: 'physical',
        line: [f.addressLine.trim(), f.locality.trim()].filter(Boolean),
        city: f.city.trim(),
        ...(f.district.trim() ? { district: f.district.trim() } : {}),
        state: f.state,
        postalCode: f.pin.replace(/\s/g, ''),
        country: 'IN',
      },
    ],
  };
  if (f.guardianName.trim() && f.guardianRelation) {
    const label = GUARDIAN_RELATIONS.find(([code]) => code === f.guardianRelation)?.[1] ?? f.guardianRelation;
    const gPhone = f.guardianPhone.trim() ? normaliseIndianMobile(f.guardianPhone) : undefined;
    const contact: PatientContact = {
      relationship: [{ coding: [{ system: ROLE_CODE, code: f.guardianRelation, display: label.toLowerCase() }], text: label }],
      name: { text: tidyName(f.guardianName) },
      ...(gPhone && 'phone' in gPhone ? { telecom: [{ system: 'phone', value: gPhone.phone, use: 'mobile' }] } : {}),
    };
    p.contact = [contact];
  }
  return p;
}

/** The form field a server issue is about (its FHIRPath), for showing the message beside it. */
export function fieldOfPath(path: string, p: Patient): FieldName | undefined {
  if (path.startsWith('Patient.birthDate')) return 'dob';
  if (path.startsWith('Patient.gender')) return 'sex';
  if (path.startsWith('Patient.contact')) return 'guardianName';
  if (path.startsWith('Patient.telecom')) return 'phone';
  if (path.startsWith('Patient.address')) return 'addressLine';
  if (path.startsWith('Patient.name')) return 'given';
  const m = /^Patient\.identifier\[(\d+)\]/.exec(path);
  if (m) {
    const system = p.identifier?.[Number(m[1])]?.system;
    if (system === ABHA_NUMBER_SYSTEM) return 'abhaNumber';
    if (system === ABHA_ADDRESS_SYSTEM) return 'abhaAddress';
  }
  return undefined;
}
