/**
 * A small clinical catalogue for the demo hospital: ICD-10 diagnoses (WHO display names), the
 * medicines prescribed for them (hospital formulary codes) and LOINC laboratory tests.
 */
import type { DeptKey } from './staff.js';

export const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';
export const FORMULARY = 'https://sushruta.example.in/fhir/CodeSystem/formulary';

export interface Medicine {
  readonly code: string;
  readonly display: string;
  readonly dosage: string;
  /** Days of supply for an acute course; undefined for long-term medicines. */
  readonly days?: number;
}

export const MEDICINES = {
  metformin: { code: 'MET500', display: 'Metformin 500 mg tablet', dosage: '1 tablet twice daily after meals' },
  glimepiride: { code: 'GLM1', display: 'Glimepiride 1 mg tablet', dosage: '1 tablet once daily before breakfast' },
  amlodipine: { code: 'AML5', display: 'Amlodipine 5 mg tablet', dosage: '1 tablet once daily in the morning' },
  telmisartan: { code: 'TEL40', display: 'Telmisartan 40 mg tablet', dosage: '1 tablet once daily' },
  paracetamol: { code: 'PCM650', display: 'Paracetamol 650 mg tablet', dosage: '1 tablet three times a day if fever or pain', days: 3 },
  paracetamolSyrup: {
    code: 'PCM250S',
    display: 'Paracetamol 250 mg/5 mL oral suspension',
    dosage: '5 mL every 6 hours if fever (15 mg/kg per dose)',
    days: 3,
  },
  cetirizine: { code: 'CTZ10', display: 'Cetirizine 10 mg tablet', dosage: '1 tablet at bedtime', days: 5 },
  ors: {
    code: 'ORS',
    display: 'Oral rehydration salts (WHO low-osmolarity) sachet',
    dosage: '1 sachet in 1 litre of clean water; sip after every loose stool',
    days: 3,
  },
  zinc: { code: 'ZNC20', display: 'Zinc sulfate 20 mg dispersible tablet', dosage: '1 tablet dissolved in water once daily', days: 14 },
  pantoprazole: { code: 'PAN40', display: 'Pantoprazole 40 mg tablet', dosage: '1 tablet once daily before breakfast', days: 14 },
  diclofenac: { code: 'DCF50', display: 'Diclofenac 50 mg tablet', dosage: '1 tablet twice daily after food', days: 5 },
  ferrous: {
    code: 'IFA',
    display: 'Ferrous sulfate 200 mg + folic acid 0.5 mg tablet',
    dosage: '1 tablet once daily after lunch',
    days: 90,
  },
  levothyroxine: {
    code: 'LT450',
    display: 'Levothyroxine 50 mcg tablet',
    dosage: '1 tablet daily on an empty stomach, 30 minutes before breakfast',
  },
  salbutamol: { code: 'SAL100', display: 'Salbutamol 100 mcg/dose inhaler', dosage: '2 puffs when required for breathlessness' },
  cefixime: { code: 'CFX200', display: 'Cefixime 200 mg tablet', dosage: '1 tablet twice daily', days: 14 },
  chloroquine: {
    code: 'CQ250',
    display: 'Chloroquine phosphate 250 mg tablet',
    dosage: '4 tablets on day 1 and day 2, 2 tablets on day 3',
    days: 3,
  },
  hrze: {
    code: 'FDC-HRZE',
    display: 'Isoniazid 75 mg + rifampicin 150 mg + pyrazinamide 400 mg + ethambutol 275 mg tablet (FDC)',
    dosage: '4 tablets once daily (weight band 55-69 kg), as per NTEP',
    days: 56,
  },
  amoxicillinSyrup: { code: 'AMX250S', display: 'Amoxicillin 250 mg/5 mL oral suspension', dosage: '5 mL three times a day', days: 7 },
  amoxicillin: { code: 'AMX500', display: 'Amoxicillin 500 mg capsule', dosage: '1 capsule three times a day', days: 7 },
  folic: { code: 'FA5', display: 'Folic acid 5 mg tablet', dosage: '1 tablet once daily' },
  calcium: { code: 'CAL500', display: 'Calcium carbonate 500 mg + vitamin D3 250 IU tablet', dosage: '1 tablet twice daily after meals' },
  aspirin: { code: 'ASP75', display: 'Aspirin 75 mg tablet', dosage: '1 tablet once daily after lunch' },
  atorvastatin: { code: 'ATV40', display: 'Atorvastatin 40 mg tablet', dosage: '1 tablet at bedtime' },
  clopidogrel: { code: 'CLP75', display: 'Clopidogrel 75 mg tablet', dosage: '1 tablet once daily' },
  furosemide: { code: 'FUR40', display: 'Furosemide 40 mg tablet', dosage: '1 tablet in the morning' },
  fluticasone: {
    code: 'FLU-NS',
    display: 'Fluticasone propionate 50 mcg nasal spray',
    dosage: '2 sprays in each nostril once daily',
    days: 30,
  },
  earDrops: {
    code: 'EAR-SB',
    display: 'Sodium bicarbonate 5% ear drops',
    dosage: '3 drops in the affected ear three times a day',
    days: 5,
  },
  moxifloxacin: { code: 'MOX-ED', display: 'Moxifloxacin 0.5% eye drops', dosage: '1 drop in the affected eye four times a day', days: 7 },
  timolol: { code: 'TIM-ED', display: 'Timolol 0.5% eye drops', dosage: '1 drop in both eyes twice daily' },
  prednisoloneEye: {
    code: 'PRED-ED',
    display: 'Prednisolone acetate 1% eye drops',
    dosage: '1 drop in the operated eye four times a day, tapering',
    days: 28,
  },
  tranexamic: { code: 'TXA500', display: 'Tranexamic acid 500 mg tablet', dosage: '1 tablet three times a day during menses', days: 5 },
  insulin: {
    code: 'INS-R',
    display: 'Human insulin (regular) 40 IU/mL injection',
    dosage: '4 units subcutaneously before each main meal, adjust to sugar chart',
  },
  multivitamin: { code: 'MVT-S', display: 'Multivitamin syrup', dosage: '5 mL once daily', days: 30 },
  diclofenacGel: { code: 'DCF-GEL', display: 'Diclofenac 1% gel', dosage: 'Apply to the knee three times a day', days: 14 },
} as const satisfies Record<string, Medicine>;

export type MedicineKey = keyof typeof MEDICINES;

export interface LabTest {
  readonly code: string;
  readonly display: string;
  readonly unit: string;
  readonly ucum: string;
  readonly decimals: number;
}

export const LABS = {
  glucose: { code: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma', unit: 'mg/dL', ucum: 'mg/dL', decimals: 0 },
  haemoglobin: { code: '718-7', display: 'Hemoglobin [Mass/volume] in Blood', unit: 'g/dL', ucum: 'g/dL', decimals: 1 },
  hba1c: { code: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood', unit: '%', ucum: '%', decimals: 1 },
  platelets: { code: '777-3', display: 'Platelets [#/volume] in Blood by Automated count', unit: '10^3/µL', ucum: '10*3/uL', decimals: 0 },
  tsh: { code: '3016-3', display: 'Thyrotropin [Units/volume] in Serum or Plasma', unit: 'mIU/L', ucum: 'm[IU]/L', decimals: 2 },
  creatinine: { code: '2160-0', display: 'Creatinine [Mass/volume] in Serum or Plasma', unit: 'mg/dL', ucum: 'mg/dL', decimals: 2 },
} as const satisfies Record<string, LabTest>;

export type LabKey = keyof typeof LABS;

/** Reference range for a test, by sex and age. */
export function referenceRange(lab: LabKey, gender: string, age: number): readonly [low: number, high: number, text: string] {
  switch (lab) {
    case 'glucose':
      return [70, 140, 'Random plasma glucose 70-140 mg/dL'];
    case 'haemoglobin':
      if (age < 12) return [11, 14.5, 'Child 11.0-14.5 g/dL'];
      return gender === 'female' ? [12, 15, 'Adult female 12.0-15.0 g/dL'] : [13, 17, 'Adult male 13.0-17.0 g/dL'];
    case 'hba1c':
      return [4, 5.6, 'Non-diabetic 4.0-5.6 %; diabetes >= 6.5 %'];
    case 'platelets':
      return [150, 410, '150-410 x 10^3/µL'];
    case 'tsh':
      return [0.4, 4.0, '0.40-4.00 mIU/L'];
    case 'creatinine':
      return gender === 'female' ? [0.6, 1.1, 'Adult female 0.6-1.1 mg/dL'] : [0.7, 1.3, 'Adult male 0.7-1.3 mg/dL'];
  }
}

export interface Diagnosis {
  readonly code: string;
  readonly display: string;
  readonly dept: DeptKey;
  readonly chronic: boolean;
  readonly minAge: number;
  readonly maxAge: number;
  readonly gender?: 'male' | 'female';
  /** Probability that a visit for this diagnosis is an admission. */
  readonly admit: number;
  readonly stay: readonly [minDays: number, maxDays: number];
  readonly meds: readonly MedicineKey[];
  readonly labs: readonly LabKey[];
  readonly fever?: boolean;
  /** How the lab values of a patient with this diagnosis deviate. */
  readonly abnormal?: Partial<Record<LabKey, 'high' | 'low'>>;
  readonly weight: number;
}

const dx = (code: string, display: string, dept: DeptKey, o: Partial<Omit<Diagnosis, 'code' | 'display' | 'dept'>> = {}): Diagnosis => ({
  code,
  display,
  dept,
  chronic: false,
  minAge: 0,
  maxAge: 120,
  admit: 0,
  stay: [2, 5],
  meds: [],
  labs: [],
  weight: 1,
  ...o,
});

export const DIAGNOSES: readonly Diagnosis[] = [
  // General Medicine
  dx('E11.9', 'Type 2 diabetes mellitus without complications', 'medicine', {
    chronic: true,
    minAge: 30,
    meds: ['metformin', 'glimepiride'],
    labs: ['glucose', 'hba1c', 'creatinine'],
    abnormal: { glucose: 'high', hba1c: 'high' },
  }),
  dx('I10', 'Essential (primary) hypertension', 'medicine', {
    chronic: true,
    minAge: 30,
    meds: ['amlodipine', 'telmisartan'],
    labs: ['creatinine'],
  }),
  dx('E03.9', 'Hypothyroidism, unspecified', 'medicine', {
    chronic: true,
    minAge: 18,
    gender: 'female',
    meds: ['levothyroxine'],
    labs: ['tsh'],
    abnormal: { tsh: 'high' },
  }),
  dx('J45.9', 'Asthma, unspecified', 'medicine', { chronic: true, minAge: 5, meds: ['salbutamol'] }),
  dx('D50.9', 'Iron deficiency anaemia, unspecified', 'medicine', {
    chronic: true,
    minAge: 12,
    maxAge: 55,
    gender: 'female',
    meds: ['ferrous'],
    labs: ['haemoglobin'],
    abnormal: { haemoglobin: 'low' },
  }),
  dx('J06.9', 'Acute upper respiratory infection, unspecified', 'medicine', {
    minAge: 12,
    meds: ['paracetamol', 'cetirizine'],
    fever: true,
    weight: 3,
  }),
  dx('A09', 'Infectious gastroenteritis and colitis, unspecified', 'medicine', {
    minAge: 12,
    admit: 0.1,
    stay: [1, 3],
    meds: ['ors'],
    fever: true,
    weight: 2,
  }),
  dx('K29.7', 'Gastritis, unspecified', 'medicine', { minAge: 15, meds: ['pantoprazole'], weight: 2 }),
  dx('A01.0', 'Typhoid fever', 'medicine', {
    minAge: 5,
    admit: 0.3,
    stay: [4, 8],
    meds: ['cefixime', 'paracetamol'],
    labs: ['haemoglobin'],
    fever: true,
  }),
  dx('A90', 'Dengue fever [classical dengue]', 'medicine', {
    minAge: 5,
    admit: 0.4,
    stay: [3, 6],
    meds: ['paracetamol'],
    labs: ['platelets', 'haemoglobin'],
    fever: true,
    abnormal: { platelets: 'low' },
  }),
  dx('B54', 'Unspecified malaria', 'medicine', {
    minAge: 5,
    admit: 0.2,
    stay: [3, 5],
    meds: ['chloroquine', 'paracetamol'],
    labs: ['haemoglobin'],
    fever: true,
  }),
  dx('A15.0', 'Tuberculosis of lung, confirmed by sputum microscopy with or without culture', 'medicine', {
    minAge: 15,
    meds: ['hrze'],
    labs: ['haemoglobin'],
    fever: true,
    weight: 0.5,
  }),
  // Paediatrics
  dx('J06.9', 'Acute upper respiratory infection, unspecified', 'paediatrics', {
    maxAge: 14,
    meds: ['paracetamolSyrup'],
    fever: true,
    weight: 4,
  }),
  dx('A09', 'Infectious gastroenteritis and colitis, unspecified', 'paediatrics', {
    maxAge: 14,
    admit: 0.15,
    stay: [1, 3],
    meds: ['ors', 'zinc'],
    fever: true,
    weight: 3,
  }),
  dx('J18.9', 'Pneumonia, unspecified', 'paediatrics', {
    maxAge: 14,
    admit: 0.6,
    stay: [3, 7],
    meds: ['amoxicillinSyrup', 'paracetamolSyrup'],
    labs: ['haemoglobin'],
    fever: true,
  }),
  dx('E44.0', 'Moderate protein-energy malnutrition', 'paediatrics', {
    maxAge: 5,
    meds: ['multivitamin'],
    labs: ['haemoglobin'],
    abnormal: { haemoglobin: 'low' },
    weight: 0.7,
  }),
  dx('A90', 'Dengue fever [classical dengue]', 'paediatrics', {
    minAge: 2,
    maxAge: 14,
    admit: 0.5,
    stay: [3, 5],
    meds: ['paracetamolSyrup'],
    labs: ['platelets'],
    fever: true,
    abnormal: { platelets: 'low' },
    weight: 0.7,
  }),
  // Obstetrics & Gynaecology
  dx('Z34.9', 'Supervision of normal pregnancy, unspecified', 'obgyn', {
    minAge: 19,
    maxAge: 40,
    gender: 'female',
    meds: ['folic', 'calcium', 'ferrous'],
    labs: ['haemoglobin', 'glucose'],
    weight: 3,
  }),
  dx('O80', 'Single spontaneous delivery', 'obgyn', {
    minAge: 19,
    maxAge: 40,
    gender: 'female',
    admit: 1,
    stay: [2, 3],
    meds: ['ferrous', 'calcium'],
    labs: ['haemoglobin'],
    weight: 1.5,
  }),
  dx('O24.4', 'Diabetes mellitus arising in pregnancy', 'obgyn', {
    minAge: 22,
    maxAge: 40,
    gender: 'female',
    meds: ['insulin'],
    labs: ['glucose', 'hba1c'],
    abnormal: { glucose: 'high', hba1c: 'high' },
    weight: 0.6,
  }),
  dx('N92.0', 'Excessive and frequent menstruation with regular cycle', 'obgyn', {
    minAge: 14,
    maxAge: 50,
    gender: 'female',
    meds: ['tranexamic'],
    labs: ['haemoglobin'],
    abnormal: { haemoglobin: 'low' },
  }),
  // Orthopaedics
  dx('M54.5', 'Low back pain', 'orthopaedics', { minAge: 18, meds: ['diclofenac'], weight: 3 }),
  dx('M17.9', 'Gonarthrosis, unspecified', 'orthopaedics', {
    chronic: true,
    minAge: 45,
    meds: ['paracetamol', 'diclofenacGel'],
    weight: 2,
  }),
  dx('S52.5', 'Fracture of lower end of radius', 'orthopaedics', { minAge: 5, admit: 0.5, stay: [1, 3], meds: ['paracetamol', 'calcium'] }),
  dx('M81.9', 'Osteoporosis, unspecified', 'orthopaedics', { chronic: true, minAge: 50, gender: 'female', meds: ['calcium'] }),
  // Cardiology
  dx('I20.9', 'Angina pectoris, unspecified', 'cardiology', {
    chronic: true,
    minAge: 40,
    meds: ['aspirin', 'atorvastatin'],
    labs: ['glucose'],
    weight: 2,
  }),
  dx('I25.1', 'Atherosclerotic heart disease', 'cardiology', {
    chronic: true,
    minAge: 45,
    meds: ['aspirin', 'atorvastatin'],
    labs: ['creatinine'],
  }),
  dx('I50.9', 'Heart failure, unspecified', 'cardiology', {
    chronic: true,
    minAge: 50,
    admit: 0.3,
    stay: [3, 7],
    meds: ['furosemide'],
    labs: ['creatinine'],
  }),
  dx('I21.9', 'Acute myocardial infarction, unspecified', 'cardiology', {
    minAge: 40,
    admit: 1,
    stay: [4, 8],
    meds: ['aspirin', 'clopidogrel', 'atorvastatin'],
    labs: ['glucose', 'creatinine'],
    weight: 0.6,
  }),
  // ENT
  dx('H66.9', 'Otitis media, unspecified', 'ent', { meds: ['amoxicillin', 'paracetamol'], fever: true, weight: 2 }),
  dx('J32.9', 'Chronic sinusitis, unspecified', 'ent', { minAge: 12, meds: ['fluticasone'] }),
  dx('J03.9', 'Acute tonsillitis, unspecified', 'ent', { minAge: 3, meds: ['amoxicillin', 'paracetamol'], fever: true, weight: 2 }),
  dx('H61.2', 'Impacted cerumen', 'ent', { meds: ['earDrops'] }),
  // Ophthalmology
  dx('H25.9', 'Senile cataract, unspecified', 'ophthalmology', {
    minAge: 50,
    admit: 0.6,
    stay: [0, 1],
    meds: ['prednisoloneEye', 'moxifloxacin'],
    labs: ['glucose'],
    weight: 2,
  }),
  dx('H10.9', 'Conjunctivitis, unspecified', 'ophthalmology', { meds: ['moxifloxacin'], weight: 2 }),
  dx('H52.1', 'Myopia', 'ophthalmology', { minAge: 6, maxAge: 40 }),
  dx('H40.9', 'Glaucoma, unspecified', 'ophthalmology', { chronic: true, minAge: 40, meds: ['timolol'] }),
];

export function fits(d: Diagnosis, age: number, gender: string): boolean {
  return age >= d.minAge && age <= d.maxAge && (d.gender === undefined || d.gender === gender);
}

/** Long-term conditions a patient may carry, with the chance of having each. */
export const CHRONIC_PREVALENCE: readonly (readonly [code: string, chance: number])[] = [
  ['E11.9', 0.18],
  ['I10', 0.25],
  ['E03.9', 0.08],
  ['J45.9', 0.04],
  ['D50.9', 0.15],
  ['M17.9', 0.15],
  ['I20.9', 0.05],
  ['I25.1', 0.04],
  ['I50.9', 0.02],
  ['H40.9', 0.03],
  ['M81.9', 0.08],
];

/** Which department an OPD visit goes to, by age and sex. */
export function departmentWeights(age: number, gender: string): readonly (readonly [DeptKey, number])[] {
  if (age < 15)
    return [
      ['paediatrics', 70],
      ['ent', 15],
      ['ophthalmology', 10],
      ['orthopaedics', 5],
    ];
  const obgyn = gender === 'female' && age >= 19 && age <= 45 ? 35 : 0;
  if (age >= 45)
    return [
      ['medicine', 35],
      ['cardiology', 20],
      ['orthopaedics', 20],
      ['ophthalmology', 15],
      ['ent', 10],
    ];
  return [
    ['medicine', 45],
    ['orthopaedics', 15],
    ['ent', 15],
    ['ophthalmology', 10],
    ['cardiology', 3],
    ['obgyn', obgyn],
  ];
}
