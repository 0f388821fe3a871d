/**
 * The web app's pure logic, without a browser: the registration form's checks and the Patient it
 * becomes, the search plans and their merging, duplicate candidates, prefilling from a search, and
 * the desk's shared rules (DD-MM-YYYY, ages, Indian mobiles, PIN codes, ABHA numbers).
 */
import { describe, expect, it } from 'vitest';
import { abhaAddressProblem, abhaNumberProblem, formatAbhaNumber, normaliseAbhaNumber } from '../../src/hospital/ids/abha.js';
import { formatUhid } from '../../src/hospital/ids/uhid.js';
import { verhoeffCheckDigit } from '../../src/hospital/ids/verhoeff.js';
import {
  ageInYears,
  formatDdMmYyyy,
  formatIstDateTime,
  indianScriptOf,
  istToday,
  normaliseIndianMobile,
  parseDdMmYyyy,
  pinCodeProblem,
  registrationProblems,
} from '../../src/hospital/registration/rules.js';
import { combine, duplicateSearches } from '../../web/src/registration/duplicates.js';
import {
  EMPTY_FORM,
  fieldOfPath,
  needsGuardian,
  type RegistrationForm,
  tidyName,
  toPatient,
  validate,
} from '../../web/src/registration/form.js';
import { prefillFrom } from '../../web/src/registration/prefill.js';
import { checkCriteria, EMPTY_CRITERIA, merge, plan } from '../../web/src/registration/search.js';

const TODAY = '2026-11-25';
const body = '9123456789012';
const ABHA = formatAbhaNumber(`${body}${verhoeffCheckDigit(body)}`);
const ABHA_WRONG = formatAbhaNumber(`${body}${(verhoeffCheckDigit(body) + 1) % 10}`);
const UHID = formatUhid('SDH', 2026, 2);
const UHID_WRONG = `${UHID.slice(0, -1)}${(Number(UHID.slice(-1)) + 1) % 10}`;

const adult: RegistrationForm = {
  ...EMPTY_FORM,
  given: 'ramesh kumar',
  family: 'yadav',
  sex: 'male',
  dob: '07-03-1984',
  phone: '098100 12345',
  addressLine: 'H.No. 45',
  locality: 'Sector 12',
  city: 'Noida',
  district: 'Gautam Buddh Nagar',
  state: 'Uttar Pradesh',
  pin: '201301',
};

describe('shared desk rules', () => {
  it('reads and writes dates as DD-MM-YYYY, to the precision they have', () => {
    expect(parseDdMmYyyy('07-03-1984')).toEqual({ date: '1984-03-07' });
    expect(parseDdMmYyyy('7/3/1984')).toEqual({ date: '1984-03-07' });
    expect(parseDdMmYyyy('29-02-2023')).toEqual({ problem: '02-2023 has no day 29' });
    expect(parseDdMmYyyy('29-02-2024')).toEqual({ date: '2024-02-29' });
    expect(parseDdMmYyyy('1984-03-07')).toHaveProperty('problem');
    expect(parseDdMmYyyy('07-13-1984')).toHaveProperty('problem');
    expect(formatDdMmYyyy('1984-03-07')).toBe('07-03-1984');
    expect(formatDdMmYyyy('1984-03')).toBe('03-1984');
    expect(formatDdMmYyyy('1984')).toBe('1984');
    expect(formatIstDateTime('2026-11-24T20:00:00Z')).toBe('25-11-2026 01:30');
    expect(istToday(new Date('2026-12-31T19:00:00Z'))).toBe('2027-01-01');
  });

  it('counts ages in completed years, a year-only birth date as the desk estimated it', () => {
    expect(ageInYears('1984-03-07', TODAY)).toBe(42);
    expect(ageInYears('1984-12-07', TODAY)).toBe(41);
    expect(ageInYears('2017', TODAY)).toBe(9);
    expect(ageInYears('2008-11-26', TODAY)).toBe(17);
  });

  it('accepts Indian mobile numbers as people type them and PIN codes of six digits', () => {
    for (const typed of ['9810012345', '098100 12345', '+91 98100-12345', '919810012345', '0091 9810012345']) {
      expect(normaliseIndianMobile(typed)).toEqual({ phone: '+919810012345' });
    }
    expect(normaliseIndianMobile('5810012345')).toHaveProperty('problem');
    expect(normaliseIndianMobile('98100')).toEqual({ problem: 'a mobile number has 10 digits; this has 5' });
    expect(pinCodeProblem('110024')).toBeUndefined();
    expect(pinCodeProblem('011002')).toBeDefined();
    expect(pinCodeProblem('11002')).toBeDefined();
  });

  it('checks ABHA numbers by their Verhoeff digit and ABHA addresses by their form', () => {
    expect(abhaNumberProblem(ABHA)).toBeUndefined();
    expect(normaliseAbhaNumber(ABHA.replace(/-/g, ' '))).toBe(ABHA);
    const swapped = `${ABHA.slice(0, 3)}${ABHA[4]}${ABHA[3]}${ABHA.slice(5)}`;
    expect(abhaNumberProblem(swapped)).toMatch(/check digit/);
    expect(abhaNumberProblem('12-3456')).toMatch(/14 digits/);
    expect(abhaAddressProblem('meera.1987@abdm')).toBeUndefined();
    expect(abhaAddressProblem('Meera.1987@ABDM')).toBeUndefined();
    expect(abhaAddressProblem('meera@gmail.com')).toMatch(/@abdm/);
    expect(abhaAddressProblem('m@abdm')).toMatch(/8-18/);
  });

  it('names the Indian script of a name', () => {
    expect(indianScriptOf('काव्या')).toEqual({ language: 'hi', script: 'Devanagari' });
    expect(indianScriptOf('ஸ்ரீநிவாஸ்')?.script).toBe('Tamil');
    expect(indianScriptOf('Kavya')).toBeUndefined();
  });

  it('requires a guardian under 18 and a birth date that is not in the future', () => {
    const o = {
      today: TODAY,
      abhaNumberSystem: 'abha-n',
      abhaAddressSystem: 'abha-a',
      abhaNumberProblem,
      abhaAddressProblem,
    };
    expect(registrationProblems({ birthDate: '2015-01-01' }, o).map((p) => p.path)).toEqual(['Patient.contact']);
    expect(
      registrationProblems({ birthDate: '2015-01-01', contact: [{ name: { text: 'A B' }, relationship: [{ text: 'Father' }] }] }, o),
    ).toEqual([]);
    expect(registrationProblems({ birthDate: '2027' }, o).map((p) => p.path)).toEqual(['Patient.birthDate']);
    expect(registrationProblems({}, o).map((p) => p.path)).toEqual(['Patient.birthDate']);
    expect(registrationProblems({ birthDate: '1980', identifier: [{ system: 'abha-n', value: '12' }] }, o).map((p) => p.path)).toEqual([
      'Patient.identifier[0].value',
    ]);
  });
});

describe('the registration form', () => {
  it('turns a valid form into a Patient without a UHID, names tidied, phone and ABHA in their stored forms', () => {
    expect(validate({ ...adult, abhaNumber: ABHA.replace(/-/g, ''), nativeName: 'रमेश कुमार यादव' }, TODAY)).toEqual({});
    const p = toPatient({ ...adult, abhaNumber: ABHA.replace(/-/g, ''), nativeName: 'रमेश कुमार यादव' }, TODAY);
    expect(p.name).toEqual([
      { use: 'official', text: 'Ramesh Kumar Yadav', given: ['Ramesh', 'Kumar'], family: 'Yadav' },
      { use: 'usual', text: 'रमेश कुमार यादव', extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/language', valueCode: 'hi' }] },
    ]);
    expect(p.birthDate).toBe('1984-03-07');
    expect(p.telecom).toEqual([{ system: 'phone', value: '+919810012345', use: 'mobile', rank: 1 }]);
    expect(p.identifier).toEqual([expect.objectContaining({ system: 'https://healthid.ndhm.gov.in', value: ABHA })]);
    expect(p.address?.[0]).toMatchObject({
      line: ['H.No. 45', 'Sector 12'],
      city: 'Noida',
      state: 'Uttar Pradesh',
      postalCode: '201301',
      country: 'IN',
    });
    expect(p.contact).toBeUndefined();
    expect(p.identifier?.some((i) => i.system?.includes('uhid'))).toBe(false);
  });

  it('puts each problem beside its field', () => {
    const errors = validate(
      { ...EMPTY_FORM, given: 'काव्या', dob: '31-04-2001', phone: '12345', pin: '0110', abhaNumber: ABHA_WRONG },
      TODAY,
    );
    expect(Object.keys(errors).sort()).toEqual(['abhaNumber', 'addressLine', 'city', 'dob', 'given', 'phone', 'pin', 'sex', 'state']);
    expect(errors.given).toMatch(/Latin letters/);
    expect(errors.dob).toBe('04-2001 has no day 31');
    expect(validate({ ...adult, dob: '', age: '' }, TODAY).dob).toMatch(/date of birth, or the age/);
    expect(validate({ ...adult, dob: '01-01-2030' }, TODAY).dob).toMatch(/future/);
    expect(validate({ ...adult, family: '' }, TODAY)).toEqual({});
  });

  it('asks for a parent or guardian when the age says minor, and records them as a contact', () => {
    const child = { ...adult, dob: '', age: '9' };
    expect(needsGuardian(child, TODAY)).toBe(true);
    expect(validate(child, TODAY)).toEqual({
      guardianName: 'A patient under 18 needs a parent or guardian: type their name',
      guardianRelation: 'Choose how they are related',
    });
    const ok = { ...child, guardianName: 'sunita yadav', guardianRelation: 'MTH', guardianPhone: '9810023456' };
    expect(validate(ok, TODAY)).toEqual({});
    const p = toPatient(ok, TODAY);
    expect(p.birthDate).toBe('2017');
    expect(p.contact).toEqual([
      {
        relationship: [
          { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'MTH', display: 'mother' }], text: 'Mother' },
        ],
        name: { text: 'Sunita Yadav' },
        telecom: [{ system: 'phone', value: '+919810023456', use: 'mobile' }],
      },
    ]);
    expect(needsGuardian({ ...adult, dob: '', age: '18' }, TODAY)).toBe(false);
  });

  it('maps the server’s element paths back to fields', () => {
    const p = toPatient({ ...adult, abhaNumber: ABHA, abhaAddress: 'ramesh.1984@abdm' }, TODAY);
    expect(fieldOfPath('Patient.identifier[0].value', p)).toBe('abhaNumber');
    expect(fieldOfPath('Patient.identifier[1].value', p)).toBe('abhaAddress');
    expect(fieldOfPath('Patient.contact', p)).toBe('guardianName');
    expect(fieldOfPath('Patient.birthDate', p)).toBe('dob');
    expect(fieldOfPath('Patient.meta', p)).toBeUndefined();
  });

  it('tidies names typed in one case and leaves mixed case alone', () => {
    expect(tidyName('  sunita   devi ')).toBe('Sunita Devi');
    expect(tidyName('D’SOUZA')).toBe('D’souza');
    expect(tidyName("o'brien-khan")).toBe("O'Brien-Khan");
    expect(tidyName('McDonald')).toBe('McDonald');
  });
});

describe('searching before registering', () => {
  it('searches a name both by its beginning and by its sound, with the other criteria in each', () => {
    const searches = plan({ ...EMPTY_CRITERIA, name: ' Kavya  Sharmaa ', phone: '98100 23456', birthYear: '2017' });
    expect(searches.map((s) => s.match)).toEqual(['name', 'sounds-like']);
    expect(Object.fromEntries(new URLSearchParams(searches[1]?.query))).toEqual({
      phone: '+919810023456',
      birthdate: '2017',
      phonetic: 'Kavya Sharmaa',
      _count: '20',
    });
    const ids = plan({ ...EMPTY_CRITERIA, uhid: UHID.toLowerCase(), abha: ABHA.replace(/-/g, '') });
    expect(ids).toHaveLength(1);
    expect(new URLSearchParams(ids[0]?.query).getAll('identifier')).toEqual([
      `https://sushruta.example.in/fhir/sid/uhid|${UHID}`,
      `https://healthid.ndhm.gov.in|${ABHA}`,
    ]);
    expect(new URLSearchParams(plan({ ...EMPTY_CRITERIA, abha: 'Kavya.2017@ABDM' })[0]?.query).get('identifier')).toBe(
      'https://healthid.ndhm.gov.in/abha-address|kavya.2017@abdm',
    );
  });

  it('checks the criteria before searching', () => {
    expect(checkCriteria(EMPTY_CRITERIA, 2026).none).toBe(true);
    const { errors } = checkCriteria({ name: 'K', phone: '12', uhid: UHID_WRONG, abha: ABHA_WRONG, birthYear: '2030' }, 2026);
    expect(errors.name).toMatch(/2 letters/);
    expect(errors.phone).toBeDefined();
    expect(errors.uhid).toMatch(/check digit/);
    expect(errors.abha).toMatch(/check digit/);
    expect(errors.birthYear).toMatch(/1880-2026/);
  });

  it('lists each patient once, under the better match', () => {
    const a = { resourceType: 'Patient' as const, id: 'a' };
    const b = { resourceType: 'Patient' as const, id: 'b' };
    expect(
      merge([
        { match: 'name', patients: [a] },
        { match: 'sounds-like', patients: [b, a] },
      ]),
    ).toEqual([
      { patient: a, match: 'name' },
      { patient: b, match: 'sounds-like' },
    ]);
  });

  it('prefills a registration from the search', () => {
    expect(prefillFrom({ ...EMPTY_CRITERIA, name: 'Sreenivasan  Raghavan', phone: '94440 12345' })).toEqual({
      given: 'Sreenivasan',
      family: 'Raghavan',
      phone: '94440 12345',
    });
    expect(prefillFrom({ ...EMPTY_CRITERIA, name: 'श्रीनिवास' })).toEqual({ nativeName: 'श्रीनिवास' });
    expect(prefillFrom({ ...EMPTY_CRITERIA, abha: 'x.12345678@abdm' })).toEqual({ abhaAddress: 'x.12345678@abdm' });
  });
});

describe('probable duplicates', () => {
  it('looks for the same phone, and for a name that sounds the same with the same year of birth', () => {
    const p = toPatient(adult, TODAY);
    expect(duplicateSearches(p).map((s) => [s.reason, Object.fromEntries(new URLSearchParams(s.query))])).toEqual([
      ['same phone', { phone: '+919810012345', _count: '10' }],
      ['same name and year of birth', { phonetic: 'Ramesh Kumar Yadav', birthdate: '1984', _count: '10' }],
    ]);
    const a = { resourceType: 'Patient' as const, id: 'a' };
    const b = { resourceType: 'Patient' as const, id: 'b' };
    expect(
      combine([
        { reason: 'same phone', patients: [b] },
        { reason: 'same name and year of birth', patients: [a, b] },
      ]).map((c) => [c.patient.id, c.reasons]),
    ).toEqual([
      ['b', ['same phone', 'same name and year of birth']],
      ['a', ['same name and year of birth']],
    ]);
  });
});
