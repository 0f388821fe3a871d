/**
 * One synthetic patient: names (Latin, and for about 30 % also in the community's script),
 * gender, birth date, mobile number, address, UHID, ABHA number and address, guardian for minors.
 */
import type { Address, HumanName, Identifier, Patient, PatientContact } from '@medplum/fhirtypes';
import { ABHA_ADDRESS_SYSTEM, ABHA_NUMBER_SYSTEM, isValidAbhaAddress, randomAbhaNumber } from './abha.js';
import { type Community, COMMUNITIES, communityById, KAUR, type Name, nameIn, SINGH, variantForIndex } from './names.js';
import { DELHI_NCR, placeByKey } from './places.js';
import { at, type Rng } from './random.js';
import { addDays, ageOn } from './time.js';
import { formatUhid, UHID_SYSTEM } from '../ids/uhid.js';

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const V2_0131 = 'http://terminology.hl7.org/CodeSystem/v2-0131';
const ROLE_CODE = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
const MARITAL = 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus';
export const LANGUAGE_EXT = 'http://hl7.org/fhir/StructureDefinition/language';

export interface PatientContext {
  /** IST calendar date the ages are computed against. */
  readonly today: string;
  readonly uhidPrefix: string;
  readonly uhidYear: number;
  /** Assigning hospital (display only). */
  readonly hospitalName: string;
}

export interface PatientProfile {
  readonly patient: Patient;
  readonly community: Community;
  readonly gender: 'male' | 'female' | 'other';
  readonly birthDate: string;
  /** Completed years on `today`. */
  readonly age: number;
  readonly uhid: string;
}

const AGE_BANDS: readonly (readonly [readonly [number, number], number])[] = [
  [[0, 4], 8],
  [[5, 14], 12],
  [[15, 17], 3],
  [[18, 39], 32],
  [[40, 59], 27],
  [[60, 90], 18],
];

function houseLine(rng: Rng): string {
  switch (rng.int(0, 3)) {
    case 0:
      return `H.No. ${rng.int(1, 450)}`;
    case 1:
      return `${rng.int(1, 60)}/${rng.int(1, 30)}`;
    case 2:
      return `Flat ${rng.int(1, 12)}0${rng.int(1, 8)}, Block ${rng.pick(['A', 'B', 'C', 'D', 'E', 'F'])}`;
    default:
      return `House ${rng.int(1, 200)}, Gali No. ${rng.int(1, 15)}`;
  }
}

export function mobileNumber(rng: Rng): string {
  return `+91${rng.int(6, 9)}${rng.digits(9)}`;
}

interface FullName {
  readonly given: readonly Name[];
  readonly family: Name;
}

function personName(rng: Rng, c: Community, gender: 'male' | 'female'): FullName {
  const first = rng.pick(gender === 'male' ? c.male : c.female);
  const given: Name[] = [first];
  let family = rng.pick(c.family);
  if (c.prefixNames?.includes(first[0])) {
    const second = rng.pick(c.male.filter((n) => !c.prefixNames?.includes(n[0])));
    given.push(second);
  }
  if (c.sikh) {
    const title = gender === 'male' ? SINGH : KAUR;
    if (rng.chance(0.3)) family = title;
    else given.push(title);
  }
  return { given, family };
}

function humanNames(n: FullName, c: Community, native: boolean): HumanName[] {
  const latinGiven = n.given.map((x) => x[0]);
  const names: HumanName[] = [{ use: 'official', text: [...latinGiven, n.family[0]].join(' '), family: n.family[0], given: latinGiven }];
  if (native) {
    const nativeGiven = n.given.map((x) => x[1]);
    names.push({
      extension: [{ url: LANGUAGE_EXT, valueCode: c.language }],
      use: 'usual',
      text: [...nativeGiven, n.family[1]].join(' '),
      family: n.family[1],
      given: nativeGiven,
    });
  }
  return names;
}

function guardian(rng: Rng, c: Community, child: FullName, phone: string, address: Address): PatientContact {
  const mother = rng.chance(0.6);
  let parent: FullName;
  if (c.patronymic) {
    // The child's 'family' name is the father's given name.
    parent = mother ? { given: [rng.pick(c.female)], family: child.family } : { given: [child.family], family: rng.pick(c.family) };
  } else {
    const p = personName(rng, c, mother ? 'female' : 'male');
    parent = { given: p.given, family: c.sikh ? p.family : child.family };
  }
  return {
    relationship: [
      { coding: [{ system: V2_0131, code: 'N', display: 'Next-of-Kin' }] },
      { coding: [{ system: ROLE_CODE, code: 'PRN', display: 'parent' }], text: mother ? 'Mother' : 'Father' },
    ],
    name: at(humanNames(parent, c, false), 0, 'names'),
    telecom: [{ system: 'phone', value: phone, use: 'mobile', rank: 1 }],
    address,
    gender: mother ? 'female' : 'male',
  };
}

/**
 * Builds a patient from `rng` (which it advances). The patient at `index` may carry one of the
 * fixed spelling-variant names (see VARIANT_PATIENTS).
 */
export function buildPatient(rng: Rng, index: number, ctx: PatientContext): PatientProfile {
  const variant = variantForIndex(index);
  const community = variant ? communityById(variant[0]) : rng.weighted(COMMUNITIES.map((c) => [c, c.weight] as const));
  const genderDraw = rng.next();
  const gender: 'male' | 'female' | 'other' = variant ? variant[1] : genderDraw < 0.495 ? 'male' : genderDraw < 0.995 ? 'female' : 'other';
  const nameGender: 'male' | 'female' = gender === 'other' ? (rng.chance(0.5) ? 'male' : 'female') : gender;

  // Age: minors included; the oldest are 90.
  let [minAge, maxAge] = rng.weighted(AGE_BANDS);
  if (variant) [minAge, maxAge] = [25, 75];
  const years = rng.int(minAge, maxAge);
  const ageDays = years === 0 ? rng.int(10, 364) : years * 365 + Math.floor(years / 4) + rng.int(0, 364);
  const birthDate = addDays(ctx.today, -ageDays);
  const age = ageOn(birthDate, ctx.today);

  let name: FullName;
  if (variant) {
    const [, , given, family] = variant;
    const pool = [...community.male, ...community.female];
    name = { given: given.map((g) => nameIn(pool, g)), family: nameIn(community.family, family) };
  } else {
    name = personName(rng, community, nameGender);
  }
  const native = variant ? index % 2 === 1 : rng.chance(0.3);

  const phone = mobileNumber(rng);
  const placeKey = rng.chance(0.6) ? rng.pick(DELHI_NCR) : rng.pick(community.homes);
  const place = placeByKey(placeKey);
  const loc = rng.pick(place.localities);
  const address: Address = {
    use: 'home',
    type: 'physical',
    line: [houseLine(rng), loc.locality],
    city: place.city,
    district: loc.district,
    state: place.state,
    postalCode: loc.pin,
    country: 'IN',
  };

  const uhid = formatUhid(ctx.uhidPrefix, ctx.uhidYear, index + 1);
  const identifier: Identifier[] = [
    {
      use: 'usual',
      type: { coding: [{ system: V2_0203, code: 'MR', display: 'Medical record number' }], text: 'UHID' },
      system: UHID_SYSTEM,
      value: uhid,
      assigner: { display: ctx.hospitalName },
    },
  ];
  if (rng.chance(0.6)) {
    identifier.push({
      use: 'official',
      type: { coding: [{ system: V2_0203, code: 'NI', display: 'National unique individual identifier' }], text: 'ABHA number' },
      system: ABHA_NUMBER_SYSTEM,
      value: randomAbhaNumber(rng),
      assigner: { display: 'National Health Authority' },
    });
    if (age >= 18 && rng.chance(0.6)) {
      const user = `${at(name.given, 0, 'given names')[0].toLowerCase()}.${rng.digits(4)}`;
      const value = `${user}@abdm`;
      if (isValidAbhaAddress(value)) {
        identifier.push({
          use: 'secondary',
          type: { text: 'ABHA address' },
          system: ABHA_ADDRESS_SYSTEM,
          value,
          assigner: { display: 'National Health Authority' },
        });
      }
    }
  }

  const patient: Patient = {
    resourceType: 'Patient',
    identifier,
    active: true,
    name: humanNames(name, community, native),
    telecom: [{ system: 'phone', value: phone, use: 'mobile', rank: 1 }],
    gender,
    birthDate,
    address: [address],
    communication: [
      {
        language: {
          coding: [{ system: 'urn:ietf:bcp:47', code: community.language, display: community.languageDisplay }],
          text: community.languageDisplay,
        },
        preferred: true,
      },
    ],
  };
  if (age >= 18) {
    const widowed = age >= 60 && rng.chance(0.2);
    const married = !widowed && age >= 23 && rng.chance(0.8);
    const [code, display] = widowed ? ['W', 'Widowed'] : married ? ['M', 'Married'] : ['U', 'unmarried'];
    patient.maritalStatus = { coding: [{ system: MARITAL, code, display }] };
  } else {
    patient.contact = [guardian(rng, community, name, phone, address)];
  }
  return { patient, community, gender, birthDate, age, uhid };
}
