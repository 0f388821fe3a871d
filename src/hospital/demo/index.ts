/**
 * A deterministic synthetic hospital: "Sushruta Demo Hospital, New Delhi", its departments,
 * locations, services, doctors, OPD schedules and slots, and a few hundred patients with a
 * clinical history, as FHIR R4 transaction Bundles ready to POST to the server's base URL.
 *
 * Same options, same bytes: everything is drawn from a seeded generator (random.ts), never
 * from Math.random or the clock (except `today` when it is not given).
 *
 * Loading order matters only in one way: the hospital's fixed resources (organisations, staff,
 * schedules, slots) come first, created with PUT at fixed ids ('Practitioner/dr-anjali-mehta'),
 * and later bundles reference them as 'Type/id'. Patients and their clinical resources are
 * created with POST and reference each other through urn:uuid fullUrls within their own Bundle.
 */
import type { Appointment, Bundle, BundleEntry, Encounter, Patient, Resource, Schedule, Slot } from '@medplum/fhirtypes';
import { AMB, attender, buildHistory, type Entry } from './history.js';
import { buildPatient, type PatientContext } from './patient.js';
import { at, Rng } from './random.js';
import {
  CLINICAL_DEPARTMENTS,
  DEPARTMENTS,
  type DeptKey,
  department,
  departmentOrganization,
  doctorDisplay,
  HOSPITAL_ID,
  HOSPITAL_NAME,
  healthcareService,
  hospitalOrganization,
  LOCATIONS,
  locationResource,
  practitioner,
  practitionerRole,
  STAFF,
  type StaffSpec,
  specialtyConcept,
  staffOf,
} from './staff.js';
import { addDays, istDate, istDateTime } from './time.js';

export { formatUhid, isValidUhid, luhnCheckDigit, parseUhid, UHID_SYSTEM } from '../ids/uhid.js';
export { verhoeffCheckDigit, verhoeffValid } from '../ids/verhoeff.js';
export { ABHA_ADDRESS_SYSTEM, ABHA_NUMBER_SYSTEM, formatAbhaNumber, isValidAbhaAddress, isValidAbhaNumber } from './abha.js';

export interface DemoOptions {
  seed?: number;
  /** Number of patients; default 200. */
  patients?: number;
  /** The day the demo is 'today' (OPD slots for it and the next 2 days); default new Date(). */
  today?: Date;
}

export const DEMO_HOSPITAL: { tenant: string; name: string; uhidPrefix: string } = {
  tenant: 'sushruta-demo',
  name: HOSPITAL_NAME,
  uhidPrefix: 'SDH',
};

/** The most entries a demo Bundle holds (the server's default limit per transaction). */
export const MAX_BUNDLE_ENTRIES = 500;
export const DEFAULT_SEED = 20221123;
export const DEFAULT_PATIENTS = 200;

/** What the generator knows about a patient besides the resource itself. */
export interface SyntheticPatient {
  readonly patient: Patient;
  readonly uhid: string;
  readonly age: number;
  readonly community: string;
}

/** Reference date and UHID year for syntheticPatient(): fixed, so output depends on (seed, index) only. */
const SYNTHETIC_TODAY = '2026-01-01';
const SYNTHETIC_UHID_YEAR = 2025;

/**
 * Fast generator for benchmarks: one Patient (no id) with identifiers, names, telecom, address.
 * Deterministic in (seed, index). Its UHIDs are of registration year 2025 ('SDH-2025-…'), and
 * ages are counted to 1 January 2026, so that the output never depends on the clock.
 */
export function syntheticPatient(seed: number, index: number): Patient {
  return syntheticPatientProfile(seed, index).patient;
}

export function syntheticPatientProfile(seed: number, index: number): SyntheticPatient {
  if (!Number.isSafeInteger(index) || index < 0) throw new Error(`index must be a non-negative integer, got ${index}`);
  const ctx: PatientContext = {
    today: SYNTHETIC_TODAY,
    uhidPrefix: DEMO_HOSPITAL.uhidPrefix,
    uhidYear: SYNTHETIC_UHID_YEAR,
    hospitalName: HOSPITAL_NAME,
  };
  const p = buildPatient(new Rng(seed, index, 0), index, ctx);
  return { patient: p.patient, uhid: p.uhid, age: p.age, community: p.community.id };
}

const OPD_START = 9 * 60;
const OPD_END = 13 * 60;
const SLOT_MINUTES = 15;
const V2_0276 = 'http://terminology.hl7.org/CodeSystem/v2-0276';

interface SlotPlan {
  readonly id: string;
  readonly doctor: StaffSpec;
  readonly day: string;
  readonly minute: number;
  busy: boolean;
}

function compactDate(isoDate: string): string {
  return isoDate.replace(/-/g, '');
}

function putEntry(resource: Resource & { id?: string }): BundleEntry {
  if (!resource.id) throw new Error(`${resource.resourceType} needs a fixed id`);
  return { resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } };
}

function postEntry(e: Entry): BundleEntry {
  return { fullUrl: e.fullUrl, resource: e.resource, request: { method: 'POST', url: e.resource.resourceType } };
}

function transaction(entry: BundleEntry[]): Bundle {
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Transaction Bundles (each at most 500 entries) that together load the demo hospital. Load
 * them in order: the first ones PUT the hospital's fixed resources, the rest POST patients.
 */
export function demoHospitalBundles(opts: DemoOptions = {}): Bundle[] {
  const seed = opts.seed ?? DEFAULT_SEED;
  const count = opts.patients ?? DEFAULT_PATIENTS;
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  if (!Number.isSafeInteger(count) || count < 0) throw new Error(`patients must be a non-negative integer, got ${count}`);
  const today = istDate(opts.today ?? new Date());
  const year = Number(today.slice(0, 4));
  const days = [today, addDays(today, 1), addDays(today, 2)];

  // OPD slots: every clinical doctor, today and the next two days, 09:00-13:00 IST.
  const doctors = STAFF.filter((s) => s.dept !== 'pathology');
  const slots = new Map<string, SlotPlan[]>(); // key: doctor|day
  for (const doctor of doctors) {
    for (const day of days) {
      const list: SlotPlan[] = [];
      for (let m = OPD_START; m < OPD_END; m += SLOT_MINUTES) {
        const hhmm = `${String(Math.floor(m / 60)).padStart(2, '0')}${String(m % 60).padStart(2, '0')}`;
        list.push({ id: `slot-${doctor.id}-${compactDate(day)}-${hhmm}`, doctor, day, minute: m, busy: false });
      }
      slots.set(`${doctor.id}|${day}`, list);
    }
  }

  // Patients, their history and their appointments.
  const ctx: PatientContext = { today, uhidPrefix: DEMO_HOSPITAL.uhidPrefix, uhidYear: year, hospitalName: HOSPITAL_NAME };
  const patientGroups: BundleEntry[][] = [];
  for (let i = 0; i < count; i++) {
    const profile = buildPatient(new Rng(seed, i, 0), i, ctx);
    const rng = new Rng(seed, i, 1);
    const ids = new Rng(seed, i, 2);
    const uuid = () => ids.uuid();
    const patientUrn = `urn:uuid:${uuid()}`;
    const patient: Patient = {
      ...profile.patient,
      managingOrganization: { reference: `Organization/${HOSPITAL_ID}`, display: HOSPITAL_NAME },
    };
    const history = buildHistory(rng, profile, { today, patientUrn, uuid });
    const entries: Entry[] = [{ fullUrl: patientUrn, resource: patient }, ...history.entries];

    if (rng.chance(history.chronic ? 0.25 : 0.12)) {
      const dayIndex = rng.weighted([
        [0, 60],
        [1, 25],
        [2, 15],
      ] as const);
      const day = at(days, dayIndex, 'days');
      const deptKey: DeptKey = history.lastDept;
      const candidates = [history.lastDoctor, ...staffOf(deptKey).filter((d) => d.id !== history.lastDoctor.id)];
      const from = rng.int(0, (OPD_END - OPD_START) / SLOT_MINUTES - 1);
      let chosen: SlotPlan | undefined;
      for (const doc of candidates) {
        const list = slots.get(`${doc.id}|${day}`) ?? [];
        for (let k = 0; k < list.length && !chosen; k++) {
          const s = at(list, (from + k) % list.length, 'slots');
          if (!s.busy) chosen = s;
        }
        if (chosen) break;
      }
      if (chosen) {
        chosen.busy = true;
        const dept = department(deptKey);
        const arrived = dayIndex === 0 && chosen.minute < 11 * 60;
        const start = istDateTime(chosen.day, chosen.minute);
        const end = istDateTime(chosen.day, chosen.minute + SLOT_MINUTES);
        const apptUrn = `urn:uuid:${uuid()}`;
        const appointment: Appointment = {
          resourceType: 'Appointment',
          status: arrived ? 'arrived' : 'booked',
          serviceType: [{ text: `${dept.name} OPD consultation` }],
          specialty: [specialtyConcept(dept)],
          appointmentType: { coding: [{ system: V2_0276, code: 'FOLLOWUP', display: 'A follow up visit from a previous appointment' }] },
          description: `Follow-up, ${dept.name} OPD`,
          start,
          end,
          minutesDuration: SLOT_MINUTES,
          slot: [{ reference: `Slot/${chosen.id}` }],
          created: addDays(today, -rng.int(1, 14)),
          participant: [
            { actor: { reference: patientUrn, display: patient.name?.[0]?.text ?? '' }, required: 'required', status: 'accepted' },
            {
              actor: { reference: `Practitioner/${chosen.doctor.id}`, display: doctorDisplay(chosen.doctor) },
              required: 'required',
              status: 'accepted',
            },
            { actor: { reference: `Location/${dept.opd}` }, required: 'information-only', status: 'accepted' },
          ],
        };
        entries.push({ fullUrl: apptUrn, resource: appointment });
        if (arrived) {
          const visit: Encounter = {
            resourceType: 'Encounter',
            status: 'arrived',
            class: AMB,
            subject: { reference: patientUrn },
            participant: [attender(chosen.doctor)],
            appointment: [{ reference: apptUrn }],
            period: { start },
            location: [{ location: { reference: `Location/${dept.opd}` }, status: 'active' }],
            serviceProvider: { reference: `Organization/${dept.id}` },
          };
          entries.push({ fullUrl: `urn:uuid:${uuid()}`, resource: visit });
        }
      }
    }
    patientGroups.push(entries.map(postEntry));
  }

  // The hospital's fixed resources.
  const fixed: BundleEntry[] = [
    putEntry(hospitalOrganization(DEMO_HOSPITAL.tenant)),
    ...DEPARTMENTS.map((d) => putEntry(departmentOrganization(d))),
    ...LOCATIONS.map((l) => putEntry(locationResource(l))),
    ...DEPARTMENTS.map((d) => putEntry(healthcareService(d))),
    ...STAFF.map((s, i) => putEntry(practitioner(s, i))),
    ...STAFF.map((s) => putEntry(practitionerRole(s))),
  ];
  for (const doctor of doctors) {
    const dept = department(doctor.dept);
    const schedule: Schedule = {
      resourceType: 'Schedule',
      id: `schedule-${doctor.id}`,
      active: true,
      serviceType: [{ text: `${dept.name} OPD consultation` }],
      specialty: [specialtyConcept(dept)],
      actor: [
        { reference: `Practitioner/${doctor.id}`, display: doctorDisplay(doctor) },
        { reference: `PractitionerRole/role-${doctor.id}` },
        { reference: `Location/${dept.opd}` },
      ],
      planningHorizon: { start: istDateTime(at(days, 0, 'days'), OPD_START), end: istDateTime(at(days, 2, 'days'), OPD_END) },
      comment: 'OPD 09:00-13:00 IST, 15-minute slots',
    };
    fixed.push(putEntry(schedule));
  }
  for (const doctor of doctors) {
    const dept = department(doctor.dept);
    for (const day of days) {
      for (const s of slots.get(`${doctor.id}|${day}`) ?? []) {
        const slot: Slot = {
          resourceType: 'Slot',
          id: s.id,
          serviceType: [{ text: `${dept.name} OPD consultation` }],
          specialty: [specialtyConcept(dept)],
          appointmentType: { coding: [{ system: V2_0276, code: 'ROUTINE', display: 'Routine appointment - default if not valued' }] },
          schedule: { reference: `Schedule/schedule-${doctor.id}` },
          status: s.busy ? 'busy' : 'free',
          start: istDateTime(day, s.minute),
          end: istDateTime(day, s.minute + SLOT_MINUTES),
        };
        fixed.push(putEntry(slot));
      }
    }
  }

  const bundles = chunk(fixed, MAX_BUNDLE_ENTRIES).map(transaction);
  // Pack whole patients (a patient's urn references must stay within one Bundle).
  let current: BundleEntry[] = [];
  for (const group of patientGroups) {
    if (group.length > MAX_BUNDLE_ENTRIES) throw new Error(`a patient needs ${group.length} entries, more than ${MAX_BUNDLE_ENTRIES}`);
    if (current.length + group.length > MAX_BUNDLE_ENTRIES) {
      bundles.push(transaction(current));
      current = [];
    }
    current.push(...group);
  }
  if (current.length > 0) bundles.push(transaction(current));
  return bundles;
}

/** The departments offering OPD consultations (for demos and UI pickers). */
export const DEMO_CLINICAL_DEPARTMENTS = CLINICAL_DEPARTMENTS.map((d) => ({ id: d.id, name: d.name, serviceId: d.serviceId }));
