/**
 * A patient's past in the demo hospital: encounters (OPD and admissions), vital signs, diagnoses
 * (ICD-10), prescriptions, laboratory orders and results. Resources reference the patient and
 * each other through urn:uuid fullUrls (they travel in one transaction Bundle) and the
 * hospital's fixed resources as 'Type/id'.
 */
import type {
  CodeableConcept,
  Condition,
  Encounter,
  MedicationRequest,
  Observation,
  Patient,
  Practitioner,
  Quantity,
  Reference,
  Resource,
  ServiceRequest,
} from '@medplum/fhirtypes';
import {
  CHRONIC_PREVALENCE,
  DIAGNOSES,
  type Diagnosis,
  departmentWeights,
  fits,
  FORMULARY,
  ICD10,
  type LabKey,
  LABS,
  LOINC,
  type MedicineKey,
  MEDICINES,
  referenceRange,
  UCUM,
} from './clinical.js';
import type { PatientProfile } from './patient.js';
import { at, type Rng } from './random.js';
import { type DeptKey, department, doctorDisplay, SNOMED, type StaffSpec, staffOf } from './staff.js';
import { addDays, istDateTime } from './time.js';

const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const OBS_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
const CONDITION_CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
const CONDITION_VERIFICATION = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';
const CONDITION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/condition-category';
const MEDREQ_CATEGORY = 'http://terminology.hl7.org/CodeSystem/medicationrequest-category';

export interface Entry {
  readonly fullUrl: string;
  readonly resource: Resource;
}

export interface HistoryContext {
  readonly today: string;
  readonly patientUrn: string;
  readonly uuid: () => string;
}

export interface History {
  readonly entries: Entry[];
  /** Department of the most recent visit (for follow-up appointments). */
  readonly lastDept: DeptKey;
  readonly lastDoctor: StaffSpec;
  readonly chronic: boolean;
}

export const AMB: Encounter['class'] = { system: ACT_CODE, code: 'AMB', display: 'ambulatory' };
const IMP: Encounter['class'] = { system: ACT_CODE, code: 'IMP', display: 'inpatient encounter' };

export function attender(doc: StaffSpec): NonNullable<Encounter['participant']>[number] {
  return {
    type: [{ coding: [{ system: PARTICIPATION, code: 'ATND', display: 'attender' }] }],
    individual: { reference: `Practitioner/${doc.id}`, display: doctorDisplay(doc) },
  };
}

function loinc(code: string, display: string): CodeableConcept {
  return { coding: [{ system: LOINC, code, display }], text: display };
}

function qty(value: number, unit: string, code: string): Quantity {
  return { value, unit, system: UCUM, code };
}

const VITALS_CATEGORY: CodeableConcept[] = [{ coding: [{ system: OBS_CATEGORY, code: 'vital-signs', display: 'Vital Signs' }] }];
const LAB_CATEGORY: CodeableConcept[] = [{ coding: [{ system: OBS_CATEGORY, code: 'laboratory', display: 'Laboratory' }] }];

const CHILD_FORMS: Partial<Record<MedicineKey, MedicineKey>> = { paracetamol: 'paracetamolSyrup', amoxicillin: 'amoxicillinSyrup' };

function diagnosisFor(code: string): Diagnosis {
  const d = DIAGNOSES.find((x) => x.code === code && x.chronic);
  if (!d) throw new Error(`no chronic diagnosis ${code}`);
  return d;
}

function weightFor(rng: Rng, ageYears: number, gender: string, adultBase: number): number {
  if (ageYears < 1) return rng.real(3.2, 9.5, 2);
  if (ageYears < 15) return rng.real(7 + 2.6 * ageYears, 10 + 3.2 * ageYears, 1);
  if (ageYears < 18) return rng.real(gender === 'female' ? 40 : 45, gender === 'female' ? 55 : 62, 1);
  return Math.round((adultBase + rng.real(-2, 2, 1)) * 10) / 10;
}

function heartRate(rng: Rng, age: number, fever: boolean): number {
  const [lo, hi] = age < 1 ? [110, 150] : age < 6 ? [90, 130] : age < 13 ? [75, 110] : [62, 96];
  return rng.int(lo, hi) + (fever ? rng.int(10, 20) : 0);
}

function labValue(rng: Rng, lab: LabKey, gender: string, age: number, abnormal: 'high' | 'low' | undefined): number {
  const dec = LABS[lab].decimals;
  const [lo, hi] = referenceRange(lab, gender, age);
  if (abnormal === undefined || rng.chance(0.15)) return rng.real(lo + (hi - lo) * 0.1, hi - (hi - lo) * 0.1, dec);
  switch (lab) {
    case 'glucose':
      return rng.real(160, 320, 0);
    case 'hba1c':
      return rng.real(6.8, 10.5, 1);
    case 'haemoglobin':
      return rng.real(7, lo - 0.8, 1);
    case 'platelets':
      return rng.real(35, 120, 0);
    case 'tsh':
      return rng.real(6, 18, 2);
    case 'creatinine':
      return rng.real(1.5, 3.2, 2);
  }
  return rng.real(lo, hi, dec);
}

function interpretation(value: number, lo: number, hi: number): CodeableConcept {
  const [code, display] = value < lo ? ['L', 'Low'] : value > hi ? ['H', 'High'] : ['N', 'Normal'];
  return { coding: [{ system: INTERPRETATION, code, display }] };
}

interface Visit {
  readonly daysAgo: number;
  readonly dx: Diagnosis;
  readonly admit: boolean;
  readonly stay: number;
  readonly doctor: StaffSpec;
  readonly startMinute: number;
}

export function buildHistory(rng: Rng, p: PatientProfile, ctx: HistoryContext): History {
  const entries: Entry[] = [];
  const subject: Reference<Patient> = { reference: ctx.patientUrn };
  const ageDays = Math.max(10, Math.round((Date.parse(`${ctx.today}T00:00:00Z`) - Date.parse(`${p.birthDate}T00:00:00Z`)) / 86_400_000));
  const gender = p.gender;
  const adultBase = gender === 'female' ? rng.real(42, 78, 1) : rng.real(50, 88, 1);

  // Long-term conditions this patient carries (recorded when a visit addresses them).
  const chronic: Diagnosis[] = [];
  for (const [code, chance] of CHRONIC_PREVALENCE) {
    const d = diagnosisFor(code);
    if (fits(d, p.age, gender) && chronic.length < 3 && rng.chance(chance)) chronic.push(d);
  }
  const hypertensive = chronic.some((d) => d.code === 'I10');

  // Visits, oldest first.
  const n = rng.weighted([
    [1, 35],
    [2, 30],
    [3, 20],
    [4, 15],
  ] as const);
  const lookback = Math.max(1, Math.min(1095, ageDays - 1));
  const agos = new Set<number>();
  for (let guard = 0; agos.size < n && guard < 50; guard++) agos.add(rng.int(1, lookback));
  const visits: Visit[] = [];
  for (const daysAgo of [...agos].sort((a, b) => b - a)) {
    const ageThen = Math.max(0, Math.floor((ageDays - daysAgo) / 365.25));
    let dx: Diagnosis | undefined;
    if (chronic.length > 0 && rng.chance(0.5)) {
      dx = rng.pick(chronic);
    } else {
      const deptKey = rng.weighted(departmentWeights(ageThen, gender).filter(([, w]) => w > 0));
      const pool = DIAGNOSES.filter((d) => !d.chronic && d.dept === deptKey && fits(d, ageThen, gender));
      const fallback = DIAGNOSES.filter(
        (d) => !d.chronic && (d.dept === 'medicine' || d.dept === 'paediatrics') && fits(d, ageThen, gender),
      );
      const candidates = pool.length > 0 ? pool : fallback;
      dx = rng.weighted(candidates.map((d) => [d, d.weight] as const));
    }
    const admit = rng.chance(dx.admit);
    const stay = admit ? rng.int(dx.stay[0], dx.stay[1]) : 0;
    visits.push({
      daysAgo: admit ? Math.max(daysAgo, stay + 1) : daysAgo,
      dx,
      admit,
      stay,
      doctor: rng.pick(staffOf(dx.dept)),
      startMinute: 540 + 15 * rng.int(0, 15),
    });
  }

  const chronicConditions = new Map<string, string>();
  const chronicPrescriptions = new Map<string, MedicationRequest[]>();
  const pathologist = rng.pick(staffOf('pathology'));

  for (const v of visits) {
    const day = addDays(ctx.today, -v.daysAgo);
    const ageThen = Math.max(0, Math.floor((ageDays - v.daysAgo) / 365.25));
    const dept = department(v.dx.dept);
    const start = istDateTime(day, v.startMinute);
    const end = v.admit ? istDateTime(addDays(day, v.stay), v.stay === 0 ? 17 * 60 : 11 * 60) : istDateTime(day, v.startMinute + 15);
    const encUrn = `urn:uuid:${ctx.uuid()}`;
    const encRef: Reference<Encounter> = { reference: encUrn };
    const doctorRef: Reference<Practitioner> = { reference: `Practitioner/${v.doctor.id}`, display: doctorDisplay(v.doctor) };

    // Diagnosis: one Condition per acute episode; one per long-term condition, reused.
    let condUrn = v.dx.chronic ? chronicConditions.get(v.dx.code) : undefined;
    const newCondition = condUrn === undefined;
    if (condUrn === undefined) {
      condUrn = `urn:uuid:${ctx.uuid()}`;
      if (v.dx.chronic) chronicConditions.set(v.dx.code, condUrn);
      const abatement = addDays(day, rng.int(5, 14));
      const resolved = !v.dx.chronic && abatement < ctx.today;
      const onset = v.dx.chronic
        ? addDays(day, -rng.int(0, Math.min(1500, Math.max(0, ageDays - v.daysAgo - v.dx.minAge * 365))))
        : addDays(day, -rng.int(0, 4));
      const condition: Condition = {
        resourceType: 'Condition',
        clinicalStatus: {
          coding: [{ system: CONDITION_CLINICAL, code: resolved ? 'resolved' : 'active', display: resolved ? 'Resolved' : 'Active' }],
        },
        verificationStatus: { coding: [{ system: CONDITION_VERIFICATION, code: 'confirmed', display: 'Confirmed' }] },
        category: [
          { coding: [{ system: CONDITION_CATEGORY, code: 'encounter-diagnosis', display: 'Encounter Diagnosis' }] },
          ...(v.dx.chronic ? [{ coding: [{ system: CONDITION_CATEGORY, code: 'problem-list-item', display: 'Problem List Item' }] }] : []),
        ],
        code: { coding: [{ system: ICD10, code: v.dx.code, display: v.dx.display }], text: v.dx.display },
        subject,
        encounter: encRef,
        // biome-ignore lint/complexity/useMathMinMax: ISO date strings compare as text; Math.max would turn them into NaN
        onsetDateTime: onset < p.birthDate ? p.birthDate : onset,
        ...(resolved ? { abatementDateTime: abatement } : {}),
        recordedDate: start,
        recorder: doctorRef,
        asserter: doctorRef,
      };
      entries.push({ fullUrl: condUrn, resource: condition });
    }

    const encounter: Encounter = {
      resourceType: 'Encounter',
      status: 'finished',
      class: v.admit ? IMP : AMB,
      type: [
        v.admit
          ? { coding: [{ system: SNOMED, code: '32485007', display: 'Hospital admission' }] }
          : { coding: [{ system: SNOMED, code: '11429006', display: 'Consultation' }] },
      ],
      subject,
      participant: [attender(v.doctor)],
      period: { start, end },
      diagnosis: [{ condition: { reference: condUrn }, rank: 1 }],
      ...(v.admit
        ? {
            hospitalization: {
              admitSource: {
                coding: [
                  v.dx.fever || v.dx.code === 'I21.9' || v.dx.code === 'S52.5'
                    ? {
                        system: 'http://terminology.hl7.org/CodeSystem/admit-source',
                        code: 'emd',
                        display: 'From accident/emergency department',
                      }
                    : { system: 'http://terminology.hl7.org/CodeSystem/admit-source', code: 'outp', display: 'From outpatient department' },
                ],
              },
              dischargeDisposition: {
                coding: [{ system: 'http://terminology.hl7.org/CodeSystem/discharge-disposition', code: 'home', display: 'Home' }],
              },
            },
          }
        : {}),
      location: [{ location: { reference: `Location/${v.admit ? dept.ward : dept.opd}` }, status: 'completed' }],
      serviceProvider: { reference: `Organization/${dept.id}` },
    };
    // The Encounter goes before its Condition only for readability; order does not matter.
    entries.splice(newCondition ? entries.length - 1 : entries.length, 0, { fullUrl: encUrn, resource: encounter });

    // Vital signs at triage.
    const vitalsAt = istDateTime(day, v.startMinute - 10);
    const fever = v.dx.fever === true && rng.chance(0.7);
    const vital = (code: string, display: string, rest: Partial<Observation>): void => {
      const obs: Observation = {
        resourceType: 'Observation',
        status: 'final',
        category: VITALS_CATEGORY,
        code: loinc(code, display),
        subject,
        encounter: encRef,
        effectiveDateTime: vitalsAt,
        ...rest,
      };
      entries.push({ fullUrl: `urn:uuid:${ctx.uuid()}`, resource: obs });
    };
    vital('8867-4', 'Heart rate', { valueQuantity: qty(heartRate(rng, ageThen, fever), 'beats/minute', '/min') });
    if (ageThen >= 3) {
      const [sys, dia] =
        ageThen < 13
          ? [rng.int(90, 110), rng.int(55, 70)]
          : hypertensive && ageThen >= 30
            ? [rng.int(138, 172), rng.int(86, 102)]
            : [rng.int(104, 134), rng.int(64, 86)];
      vital('85354-9', 'Blood pressure panel with all children optional', {
        component: [
          { code: loinc('8480-6', 'Systolic blood pressure'), valueQuantity: qty(sys, 'mmHg', 'mm[Hg]') },
          { code: loinc('8462-4', 'Diastolic blood pressure'), valueQuantity: qty(dia, 'mmHg', 'mm[Hg]') },
        ],
      });
    }
    vital('29463-7', 'Body weight', { valueQuantity: qty(weightFor(rng, ageThen, gender, adultBase), 'kg', 'kg') });
    vital('8310-5', 'Body temperature', { valueQuantity: qty(fever ? rng.real(38, 39.6, 1) : rng.real(36.4, 37.2, 1), '°C', 'Cel') });

    // Prescriptions.
    const meds = v.dx.meds.filter((_, i) => i === 0 || rng.chance(0.85));
    for (const key0 of meds) {
      const key = ageThen < 12 ? (CHILD_FORMS[key0] ?? key0) : key0;
      const med = MEDICINES[key];
      const days = 'days' in med ? med.days : 30;
      const finished = addDays(day, v.stay + days) < ctx.today;
      const mr: MedicationRequest = {
        resourceType: 'MedicationRequest',
        status: v.dx.chronic ? 'active' : finished ? 'completed' : 'active',
        intent: 'order',
        category: [
          v.admit
            ? { coding: [{ system: MEDREQ_CATEGORY, code: 'discharge', display: 'Discharge' }] }
            : { coding: [{ system: MEDREQ_CATEGORY, code: 'outpatient', display: 'Outpatient' }] },
        ],
        medicationCodeableConcept: { coding: [{ system: FORMULARY, code: med.code, display: med.display }], text: med.display },
        subject,
        encounter: encRef,
        authoredOn: end,
        requester: doctorRef,
        reasonReference: [{ reference: condUrn }],
        dosageInstruction: [{ text: med.dosage }],
        dispenseRequest: { expectedSupplyDuration: { value: days, unit: 'days', system: UCUM, code: 'd' } },
      };
      if (v.dx.chronic) {
        const list = chronicPrescriptions.get(med.code) ?? [];
        list.push(mr);
        chronicPrescriptions.set(med.code, list);
      }
      entries.push({ fullUrl: `urn:uuid:${ctx.uuid()}`, resource: mr });
    }

    // Laboratory orders and results.
    const labs = new Set<LabKey>(v.dx.labs.filter(() => rng.chance(0.9)));
    if (rng.chance(0.2)) labs.add('haemoglobin');
    for (const lab of labs) {
      const t = LABS[lab];
      const srUrn = `urn:uuid:${ctx.uuid()}`;
      const sr: ServiceRequest = {
        resourceType: 'ServiceRequest',
        status: 'completed',
        intent: 'order',
        category: [{ coding: [{ system: SNOMED, code: '108252007', display: 'Laboratory procedure' }] }],
        code: loinc(t.code, t.display),
        subject,
        encounter: encRef,
        authoredOn: start,
        requester: doctorRef,
        performer: [{ reference: 'Organization/dept-pathology' }],
        reasonReference: [{ reference: condUrn }],
      };
      entries.push({ fullUrl: srUrn, resource: sr });
      const [lo, hi, text] = referenceRange(lab, gender, ageThen);
      const value = labValue(rng, lab, gender, ageThen, v.dx.abnormal?.[lab]);
      const obs: Observation = {
        resourceType: 'Observation',
        basedOn: [{ reference: srUrn }],
        status: 'final',
        category: LAB_CATEGORY,
        code: loinc(t.code, t.display),
        subject,
        encounter: encRef,
        effectiveDateTime: istDateTime(day, v.startMinute + 30),
        issued: istDateTime(day, v.startMinute + 30 + 180),
        performer: [
          { reference: `Practitioner/${pathologist.id}`, display: doctorDisplay(pathologist) },
          { reference: 'Organization/dept-pathology' },
        ],
        valueQuantity: qty(value, t.unit, t.ucum),
        interpretation: [interpretation(value, lo, hi)],
        referenceRange: [{ low: qty(lo, t.unit, t.ucum), high: qty(hi, t.unit, t.ucum), text }],
      };
      entries.push({ fullUrl: `urn:uuid:${ctx.uuid()}`, resource: obs });
    }
  }

  // Only the latest prescription of a long-term medicine is still active.
  for (const list of chronicPrescriptions.values()) {
    for (const mr of list.slice(0, -1)) mr.status = 'completed';
  }

  const last = at(visits, visits.length - 1, 'visits');
  return { entries, lastDept: last.dx.dept, lastDoctor: last.doctor, chronic: chronic.length > 0 };
}
