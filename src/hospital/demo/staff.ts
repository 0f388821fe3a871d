/**
 * The demo hospital's fixed structure: the hospital and its departments (Organization),
 * locations, healthcare services, practitioners and their roles. Every resource has a fixed id
 * and is loaded with PUT, so that patient bundles can reference it as 'Type/id'.
 */
import type {
  CodeableConcept,
  HealthcareService,
  HumanName,
  Location,
  Organization,
  Practitioner,
  PractitionerRole,
} from '@medplum/fhirtypes';

export const HOSPITAL_ID = 'hospital';
export const HOSPITAL_NAME = 'Sushruta Demo Hospital, New Delhi';
export const SNOMED = 'http://snomed.info/sct';
export const ROLE_CODE = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
const ORG_TYPE = 'http://terminology.hl7.org/CodeSystem/organization-type';
const PHYSICAL_TYPE = 'http://terminology.hl7.org/CodeSystem/location-physical-type';
const SERVICE_CATEGORY = 'http://terminology.hl7.org/CodeSystem/service-category';
const LANGUAGE_EXT = 'http://hl7.org/fhir/StructureDefinition/language';
export const STAFF_SYSTEM = 'https://sushruta.example.in/fhir/sid/staff';

export type DeptKey = 'medicine' | 'paediatrics' | 'obgyn' | 'orthopaedics' | 'cardiology' | 'ent' | 'ophthalmology' | 'pathology';

export interface Department {
  readonly key: DeptKey;
  readonly id: string;
  readonly name: string;
  /** SNOMED CT practice setting (c80-practice-codes). */
  readonly specialty: readonly [code: string, display: string];
  readonly serviceCategory: readonly [code: string, display: string];
  /** Outpatient clinic type (v3 RoleCode). */
  readonly clinicType: readonly [code: string, display: string];
  readonly opd: string;
  readonly ward: string;
  readonly serviceId: string;
}

export const DEPARTMENTS: readonly Department[] = [
  {
    key: 'medicine',
    id: 'dept-general-medicine',
    name: 'General Medicine',
    specialty: ['394802001', 'General medicine'],
    serviceCategory: ['27', 'Specialist Medical'],
    clinicType: ['GIM', 'General internal medicine clinic'],
    opd: 'opd-block-a',
    ward: 'ward-medical',
    serviceId: 'hs-general-medicine-opd',
  },
  {
    key: 'paediatrics',
    id: 'dept-paediatrics',
    name: 'Paediatrics',
    specialty: ['394537008', 'Pediatric specialty'],
    serviceCategory: ['29', 'Specialist Paediatric'],
    clinicType: ['PEDC', 'Pediatrics clinic'],
    opd: 'opd-block-b',
    ward: 'ward-paediatric',
    serviceId: 'hs-paediatrics-opd',
  },
  {
    key: 'obgyn',
    id: 'dept-obstetrics-gynaecology',
    name: 'Obstetrics & Gynaecology',
    specialty: ['394585009', 'Obstetrics and gynecology'],
    serviceCategory: ['28', 'Specialist Obstetrics & Gynecology'],
    clinicType: ['OB', 'Obstetrics clinic'],
    opd: 'opd-block-b',
    ward: 'ward-maternity',
    serviceId: 'hs-obstetrics-gynaecology-opd',
  },
  {
    key: 'orthopaedics',
    id: 'dept-orthopaedics',
    name: 'Orthopaedics',
    specialty: ['394801008', 'Surgery-Trauma and orthopedics'],
    serviceCategory: ['31', 'Specialist Surgical'],
    clinicType: ['ORTHO', 'Orthopedics clinic'],
    opd: 'opd-block-c',
    ward: 'ward-surgical',
    serviceId: 'hs-orthopaedics-opd',
  },
  {
    key: 'cardiology',
    id: 'dept-cardiology',
    name: 'Cardiology',
    specialty: ['394579002', 'Cardiology'],
    serviceCategory: ['27', 'Specialist Medical'],
    clinicType: ['CARD', 'Ambulatory Health Care Facilities; Clinic/Center; Rehabilitation: Cardiac Facilities'],
    opd: 'opd-block-a',
    ward: 'ward-ccu',
    serviceId: 'hs-cardiology-opd',
  },
  {
    key: 'ent',
    id: 'dept-ent',
    name: 'ENT (Otorhinolaryngology)',
    specialty: ['418960008', 'Otolaryngology'],
    serviceCategory: ['31', 'Specialist Surgical'],
    clinicType: ['ENT', 'Otorhinolaryngology clinic'],
    opd: 'opd-block-c',
    ward: 'ward-surgical',
    serviceId: 'hs-ent-opd',
  },
  {
    key: 'ophthalmology',
    id: 'dept-ophthalmology',
    name: 'Ophthalmology',
    specialty: ['394594003', 'Ophthalmology'],
    serviceCategory: ['31', 'Specialist Surgical'],
    clinicType: ['OPH', 'Opthalmology clinic'],
    opd: 'opd-block-c',
    ward: 'ward-day-care',
    serviceId: 'hs-ophthalmology-opd',
  },
  {
    key: 'pathology',
    id: 'dept-pathology',
    name: 'Pathology (Laboratory Medicine)',
    specialty: ['394915009', 'General pathology'],
    serviceCategory: ['26', 'Specialist Clinical Pathology'],
    clinicType: ['HLAB', 'hospital laboratory'],
    opd: 'lab-central',
    ward: 'lab-central',
    serviceId: 'hs-laboratory',
  },
];

export const CLINICAL_DEPARTMENTS = DEPARTMENTS.filter((d) => d.key !== 'pathology');

export function department(key: DeptKey): Department {
  const d = DEPARTMENTS.find((x) => x.key === key);
  if (!d) throw new Error(`no department '${key}'`);
  return d;
}

const HOSPITAL_ADDRESS = {
  use: 'work' as const,
  type: 'physical' as const,
  line: ['Sector 9, Dwarka'],
  city: 'New Delhi',
  district: 'South West Delhi',
  state: 'Delhi',
  postalCode: '110077',
  country: 'IN',
};

export function hospitalOrganization(tenant: string): Organization {
  return {
    resourceType: 'Organization',
    id: HOSPITAL_ID,
    identifier: [
      { use: 'official', system: 'https://facility.ndhm.gov.in', value: 'IN0710000123' },
      { use: 'secondary', system: 'https://sushruta.example.in/fhir/sid/tenant', value: tenant },
    ],
    active: true,
    type: [{ coding: [{ system: ORG_TYPE, code: 'prov', display: 'Healthcare Provider' }] }],
    name: HOSPITAL_NAME,
    alias: ['SDH', 'सुश्रुत डेमो अस्पताल, नई दिल्ली'],
    telecom: [
      { system: 'phone', value: '+911125550100', use: 'work' },
      { system: 'email', value: 'info@sdh.example.in', use: 'work' },
    ],
    address: [HOSPITAL_ADDRESS],
  };
}

export function departmentOrganization(d: Department): Organization {
  return {
    resourceType: 'Organization',
    id: d.id,
    identifier: [{ system: 'https://sushruta.example.in/fhir/sid/department', value: d.id.replace(/^dept-/, '').toUpperCase() }],
    active: true,
    type: [{ coding: [{ system: ORG_TYPE, code: 'dept', display: 'Hospital Department' }] }],
    name: `Department of ${d.name}`,
    partOf: { reference: `Organization/${HOSPITAL_ID}`, display: HOSPITAL_NAME },
  };
}

interface LocationSpec {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly physical: readonly [code: string, display: string];
  readonly type: readonly [code: string, display: string];
  readonly partOf?: string;
}

export const LOCATIONS: readonly LocationSpec[] = [
  {
    id: 'campus',
    name: 'Sushruta Demo Hospital campus',
    description: 'Main hospital campus, Dwarka',
    physical: ['si', 'Site'],
    type: ['HOSP', 'Hospital'],
  },
  {
    id: 'opd-block-a',
    name: 'OPD Block A',
    description: 'Outpatient block A: General Medicine and Cardiology',
    physical: ['bu', 'Building'],
    type: ['GIM', 'General internal medicine clinic'],
    partOf: 'campus',
  },
  {
    id: 'opd-block-b',
    name: 'OPD Block B',
    description: 'Outpatient block B: Paediatrics and Obstetrics & Gynaecology',
    physical: ['bu', 'Building'],
    type: ['PEDC', 'Pediatrics clinic'],
    partOf: 'campus',
  },
  {
    id: 'opd-block-c',
    name: 'OPD Block C',
    description: 'Outpatient block C: Orthopaedics, ENT and Ophthalmology',
    physical: ['bu', 'Building'],
    type: ['ORTHO', 'Orthopedics clinic'],
    partOf: 'campus',
  },
  {
    id: 'ward-medical',
    name: 'Medical Ward (Ward 4)',
    description: 'Adult medical ward, 40 beds',
    physical: ['wa', 'Ward'],
    type: ['HU', 'Hospital unit'],
    partOf: 'campus',
  },
  {
    id: 'ward-paediatric',
    name: 'Paediatric Ward (Ward 7)',
    description: "Children's ward, 30 beds",
    physical: ['wa', 'Ward'],
    type: ['PEDU', 'Pediatric unit'],
    partOf: 'campus',
  },
  {
    id: 'ward-maternity',
    name: 'Maternity Ward (Ward 2)',
    description: 'Labour room and post-natal ward, 30 beds',
    physical: ['wa', 'Ward'],
    type: ['HU', 'Hospital unit'],
    partOf: 'campus',
  },
  {
    id: 'ward-surgical',
    name: 'Surgical Ward (Ward 5)',
    description: 'Orthopaedic and ENT ward, 36 beds',
    physical: ['wa', 'Ward'],
    type: ['HU', 'Hospital unit'],
    partOf: 'campus',
  },
  {
    id: 'ward-ccu',
    name: 'Coronary Care Unit',
    description: 'Cardiac care unit, 12 beds',
    physical: ['wa', 'Ward'],
    type: ['CCU', 'Coronary care unit'],
    partOf: 'campus',
  },
  {
    id: 'ward-day-care',
    name: 'Day Care Ward',
    description: 'Day-care surgery (cataract, ENT), 16 beds',
    physical: ['wa', 'Ward'],
    type: ['HU', 'Hospital unit'],
    partOf: 'campus',
  },
  {
    id: 'lab-central',
    name: 'Central Laboratory',
    description: 'Haematology, biochemistry and microbiology',
    physical: ['ro', 'Room'],
    type: ['HLAB', 'hospital laboratory'],
    partOf: 'campus',
  },
  {
    id: 'pharmacy-main',
    name: 'Main Pharmacy',
    description: 'OPD and IPD dispensing pharmacy',
    physical: ['ro', 'Room'],
    type: ['OUTPHARM', 'outpatient pharmacy'],
    partOf: 'campus',
  },
];

export function locationResource(l: LocationSpec): Location {
  return {
    resourceType: 'Location',
    id: l.id,
    status: 'active',
    name: l.name,
    description: l.description,
    mode: 'instance',
    type: [{ coding: [{ system: ROLE_CODE, code: l.type[0], display: l.type[1] }] }],
    physicalType: { coding: [{ system: PHYSICAL_TYPE, code: l.physical[0], display: l.physical[1] }] },
    ...(l.id === 'campus' ? { address: HOSPITAL_ADDRESS } : {}),
    managingOrganization: { reference: `Organization/${HOSPITAL_ID}` },
    ...(l.partOf ? { partOf: { reference: `Location/${l.partOf}` } } : {}),
  };
}

export function specialtyConcept(d: Department): CodeableConcept {
  return { coding: [{ system: SNOMED, code: d.specialty[0], display: d.specialty[1] }], text: d.name };
}

export function healthcareService(d: Department): HealthcareService {
  const lab = d.key === 'pathology';
  return {
    resourceType: 'HealthcareService',
    id: d.serviceId,
    active: true,
    providedBy: { reference: `Organization/${d.id}` },
    category: [{ coding: [{ system: SERVICE_CATEGORY, code: d.serviceCategory[0], display: d.serviceCategory[1] }] }],
    specialty: [specialtyConcept(d)],
    location: [{ reference: `Location/${d.opd}` }],
    name: lab ? 'Central Laboratory services' : `${d.name} OPD`,
    comment: lab ? 'Sample collection 08:00-14:00, reports online' : 'OPD registration 08:00-12:00; consultation 09:00-13:00',
    appointmentRequired: false,
    availableTime: [
      {
        daysOfWeek: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'],
        availableStartTime: lab ? '08:00:00' : '09:00:00',
        availableEndTime: lab ? '14:00:00' : '13:00:00',
      },
    ],
  };
}

export interface StaffSpec {
  readonly id: string;
  readonly gender: 'male' | 'female';
  readonly given: readonly string[];
  readonly family: string;
  /** Full name in the doctor's own script, with its BCP-47 language. */
  readonly native?: readonly [text: string, language: string];
  readonly dept: DeptKey;
  readonly degrees: readonly string[];
  readonly council: string;
}

export const STAFF: readonly StaffSpec[] = [
  {
    id: 'dr-anjali-mehta',
    gender: 'female',
    given: ['Anjali'],
    family: 'Mehta',
    native: ['अंजलि मेहता', 'hi'],
    dept: 'medicine',
    degrees: ['MBBS', 'MD (General Medicine)'],
    council: 'DMC',
  },
  {
    id: 'dr-rakesh-yadav',
    gender: 'male',
    given: ['Rakesh', 'Kumar'],
    family: 'Yadav',
    native: ['राकेश कुमार यादव', 'hi'],
    dept: 'medicine',
    degrees: ['MBBS', 'MD (General Medicine)'],
    council: 'DMC',
  },
  {
    id: 'dr-sneha-iyer',
    gender: 'female',
    given: ['Sneha'],
    family: 'Iyer',
    native: ['சினேகா ஐயர்', 'ta'],
    dept: 'paediatrics',
    degrees: ['MBBS', 'MD (Paediatrics)'],
    council: 'TNMC',
  },
  {
    id: 'dr-farhan-qureshi',
    gender: 'male',
    given: ['Farhan'],
    family: 'Qureshi',
    native: ['फ़रहान क़ुरैशी', 'hi'],
    dept: 'paediatrics',
    degrees: ['MBBS', 'DNB (Paediatrics)'],
    council: 'UPMC',
  },
  {
    id: 'dr-kavita-bhatt',
    gender: 'female',
    given: ['Kavita'],
    family: 'Bhatt',
    native: ['कविता भट्ट', 'hi'],
    dept: 'obgyn',
    degrees: ['MBBS', 'MS (Obstetrics & Gynaecology)'],
    council: 'DMC',
  },
  {
    id: 'dr-mary-thomas',
    gender: 'female',
    given: ['Mary'],
    family: 'Thomas',
    native: ['മേരി തോമസ്', 'ml'],
    dept: 'obgyn',
    degrees: ['MBBS', 'DGO', 'DNB (Obstetrics & Gynaecology)'],
    council: 'TCMC',
  },
  {
    id: 'dr-harpreet-bedi',
    gender: 'male',
    given: ['Harpreet', 'Singh'],
    family: 'Bedi',
    native: ['ਹਰਪ੍ਰੀਤ ਸਿੰਘ ਬੇਦੀ', 'pa'],
    dept: 'orthopaedics',
    degrees: ['MBBS', 'MS (Orthopaedics)'],
    council: 'PMC',
  },
  {
    id: 'dr-vikram-rathore',
    gender: 'male',
    given: ['Vikram'],
    family: 'Rathore',
    native: ['विक्रम राठौर', 'hi'],
    dept: 'orthopaedics',
    degrees: ['MBBS', 'MS (Orthopaedics)'],
    council: 'RMC',
  },
  {
    id: 'dr-s-venkataraman',
    gender: 'male',
    given: ['Subramanian'],
    family: 'Venkataraman',
    native: ['சுப்பிரமணியன் வெங்கடராமன்', 'ta'],
    dept: 'cardiology',
    degrees: ['MBBS', 'MD (Medicine)', 'DM (Cardiology)'],
    council: 'TNMC',
  },
  {
    id: 'dr-nandini-rao',
    gender: 'female',
    given: ['Nandini'],
    family: 'Rao',
    native: ['నందిని రావు', 'te'],
    dept: 'cardiology',
    degrees: ['MBBS', 'MD (Medicine)', 'DM (Cardiology)'],
    council: 'TSMC',
  },
  {
    id: 'dr-arup-chatterjee',
    gender: 'male',
    given: ['Arup'],
    family: 'Chatterjee',
    native: ['অরূপ চ্যাটার্জি', 'bn'],
    dept: 'ent',
    degrees: ['MBBS', 'MS (ENT)'],
    council: 'WBMC',
  },
  {
    id: 'dr-pooja-agarwal',
    gender: 'female',
    given: ['Pooja'],
    family: 'Agarwal',
    native: ['पूजा अग्रवाल', 'hi'],
    dept: 'ent',
    degrees: ['MBBS', 'DNB (ENT)'],
    council: 'DMC',
  },
  {
    id: 'dr-sameer-deshpande',
    gender: 'male',
    given: ['Sameer'],
    family: 'Deshpande',
    native: ['समीर देशपांडे', 'mr'],
    dept: 'ophthalmology',
    degrees: ['MBBS', 'MS (Ophthalmology)'],
    council: 'MMC',
  },
  {
    id: 'dr-ayesha-siddiqui',
    gender: 'female',
    given: ['Ayesha'],
    family: 'Siddiqui',
    native: ['عائشہ صدیقی', 'ur'],
    dept: 'ophthalmology',
    degrees: ['MBBS', 'MS (Ophthalmology)'],
    council: 'DMC',
  },
  {
    id: 'dr-ritu-malhotra',
    gender: 'female',
    given: ['Ritu'],
    family: 'Malhotra',
    native: ['रितु मल्होत्रा', 'hi'],
    dept: 'pathology',
    degrees: ['MBBS', 'MD (Pathology)'],
    council: 'DMC',
  },
  {
    id: 'dr-joseph-kurian',
    gender: 'male',
    given: ['Joseph'],
    family: 'Kurian',
    native: ['ജോസഫ് കുര്യൻ', 'ml'],
    dept: 'pathology',
    degrees: ['MBBS', 'MD (Pathology)'],
    council: 'TCMC',
  },
];

export function staffOf(dept: DeptKey): readonly StaffSpec[] {
  return STAFF.filter((s) => s.dept === dept);
}

export function doctorDisplay(s: StaffSpec): string {
  return `Dr. ${[...s.given, s.family].join(' ')}`;
}

export function practitioner(s: StaffSpec, index: number): Practitioner {
  const names: HumanName[] = [{ use: 'official', text: doctorDisplay(s), family: s.family, given: [...s.given], prefix: ['Dr.'] }];
  if (s.native) {
    const parts = s.native[0].split(' ');
    names.push({
      extension: [{ url: LANGUAGE_EXT, valueCode: s.native[1] }],
      use: 'usual',
      text: s.native[0],
      family: parts[parts.length - 1],
      given: parts.slice(0, -1),
    });
  }
  const regNo = String(10000 + ((index * 7919) % 89999));
  return {
    resourceType: 'Practitioner',
    id: s.id,
    identifier: [
      { use: 'official', system: STAFF_SYSTEM, value: `SDH-EMP-${String(1001 + index)}` },
      {
        use: 'secondary',
        system: `https://sushruta.example.in/fhir/sid/medical-council/${s.council.toLowerCase()}`,
        value: `${s.council}/${regNo}`,
      },
    ],
    active: true,
    name: names,
    telecom: [{ system: 'email', value: `${s.id.replace(/^dr-/, '')}@sdh.example.in`, use: 'work' }],
    gender: s.gender,
    qualification: s.degrees.map((deg) => ({ code: { text: deg } })),
    communication: [
      { coding: [{ system: 'urn:ietf:bcp:47', code: 'en', display: 'English' }] },
      { coding: [{ system: 'urn:ietf:bcp:47', code: 'hi', display: 'Hindi' }] },
    ],
  };
}

export function practitionerRole(s: StaffSpec): PractitionerRole {
  const d = department(s.dept);
  return {
    resourceType: 'PractitionerRole',
    id: `role-${s.id}`,
    active: true,
    practitioner: { reference: `Practitioner/${s.id}`, display: doctorDisplay(s) },
    organization: { reference: `Organization/${d.id}` },
    code: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/practitioner-role', code: 'doctor', display: 'Doctor' }] }],
    specialty: [specialtyConcept(d)],
    location: [{ reference: `Location/${d.opd}` }],
    healthcareService: [{ reference: `HealthcareService/${d.serviceId}` }],
  };
}
