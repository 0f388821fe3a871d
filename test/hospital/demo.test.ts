import type {
  Appointment,
  Bundle,
  BundleEntry,
  Condition,
  Encounter,
  MedicationRequest,
  Observation,
  Patient,
  Resource,
  ServiceRequest,
  Slot,
} from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { isValidAbhaAddress, isValidAbhaNumber, formatAbhaNumber } from '../../src/hospital/demo/abha.js';
import { DEMO_HOSPITAL, demoHospitalBundles, MAX_BUNDLE_ENTRIES, syntheticPatient } from '../../src/hospital/demo/index.js';
import { Rng } from '../../src/hospital/demo/random.js';
import { formatUhid, isValidUhid, luhnCheckDigit, luhnValid, parseUhid, UHID_SYSTEM } from '../../src/hospital/ids/uhid.js';
import { verhoeffCheckDigit, verhoeffValid } from '../../src/hospital/ids/verhoeff.js';
import { validateResource } from '../../src/fhir/validation/index.js';

const TODAY = new Date('2026-11-24T03:30:00Z'); // 09:00 IST
const bundles = demoHospitalBundles({ seed: 42, today: TODAY });
const entries = bundles.flatMap((b) => b.entry ?? []);
const resources = entries.map((e) => e.resource as Resource);
const patients = resources.filter((r): r is Patient => r.resourceType === 'Patient');

const ABHA_NUMBER = 'https://healthid.ndhm.gov.in';
const ABHA_ADDRESS = 'https://healthid.ndhm.gov.in/abha-address';

/** Every `reference` string anywhere in a value. */
function references(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) references(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else references(v, out);
    }
  }
  return out;
}

function ageOn(birthDate: string, on: string): number {
  const [by, bm, bd] = birthDate.split('-').map(Number) as [number, number, number];
  const [y, m, d] = on.split('-').map(Number) as [number, number, number];
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

describe('Verhoeff', () => {
  it('computes known check digits', () => {
    expect(verhoeffCheckDigit('236')).toBe(3);
    expect(verhoeffCheckDigit('12345')).toBe(1);
    expect(verhoeffCheckDigit('142857')).toBe(0);
    expect(verhoeffCheckDigit('123456789012')).toBe(0);
    expect(verhoeffCheckDigit('8473643095483728456789')).toBe(2);
  });
  it('validates and rejects', () => {
    expect(verhoeffValid('2363')).toBe(true);
    expect(verhoeffValid('123451')).toBe(true);
    expect(verhoeffValid('2364')).toBe(false);
    expect(verhoeffValid('3263')).toBe(false); // adjacent transposition
    expect(verhoeffValid('')).toBe(false);
    expect(verhoeffValid('12a4')).toBe(false);
    expect(() => verhoeffCheckDigit('')).toThrow();
  });
  it('catches every single-digit error and adjacent transposition of a 14-digit number', () => {
    const rng = new Rng(7);
    for (let n = 0; n < 50; n++) {
      const body = rng.digits(13, true);
      const full = `${body}${verhoeffCheckDigit(body)}`;
      expect(verhoeffValid(full)).toBe(true);
      for (let i = 0; i < full.length; i++) {
        for (let d = 0; d <= 9; d++) {
          if (String(d) === full[i]) continue;
          expect(verhoeffValid(full.slice(0, i) + d + full.slice(i + 1))).toBe(false);
        }
        if (i + 1 < full.length && full[i] !== full[i + 1]) {
          expect(verhoeffValid(full.slice(0, i) + full[i + 1] + full[i] + full.slice(i + 2))).toBe(false);
        }
      }
    }
  });
});

describe('UHID', () => {
  it('formats with a Luhn check digit over year and sequence', () => {
    expect(luhnCheckDigit('7992739871')).toBe(3); // the classic Luhn example
    expect(luhnValid('79927398713')).toBe(true);
    expect(formatUhid('SDH', 2026, 123)).toBe(`SDH-2026-000123-${luhnCheckDigit('2026000123')}`);
    // Luhn over '2026000123': doubled from the right 3->6, 1->2, 0, 6->3, 0 plus 2, 0, 0, 2, 2 = 17 -> 3.
    expect(formatUhid('SDH', 2026, 123)).toBe('SDH-2026-000123-3');
    expect(formatUhid('SDH', 2026, 4_000_001)).toMatch(/^SDH-2026-4000001-[0-9]$/);
  });
  it('parses and rejects', () => {
    expect(parseUhid('SDH-2026-000123-3')).toEqual({ prefix: 'SDH', year: 2026, sequence: 123 });
    expect(isValidUhid('SDH-2026-000123-7')).toBe(false);
    expect(isValidUhid('SDH-2026-000132-3')).toBe(false);
    expect(isValidUhid('SDH-2026-123-3')).toBe(false);
    expect(parseUhid('SDH-2026-4000001-' + luhnCheckDigit('20264000001'))?.sequence).toBe(4_000_001);
    expect(() => formatUhid('sdh', 2026, 1)).toThrow();
    expect(() => formatUhid('SDH', 2026, 0)).toThrow();
  });
});

describe('ABHA', () => {
  it('formats and checks ABHA numbers', () => {
    const body = '9123456789012';
    const n = formatAbhaNumber(`${body}${verhoeffCheckDigit(body)}`);
    expect(n).toMatch(/^\d{2}-\d{4}-\d{4}-\d{4}$/);
    expect(isValidAbhaNumber(n)).toBe(true);
    expect(isValidAbhaNumber(n.replace(/-/g, ''))).toBe(true);
    const last = Number(n.slice(-1));
    expect(isValidAbhaNumber(n.slice(0, -1) + ((last + 1) % 10))).toBe(false);
  });
  it('checks ABHA addresses', () => {
    expect(isValidAbhaAddress('priya.1234@abdm')).toBe(true);
    expect(isValidAbhaAddress('ab@abdm')).toBe(false);
    expect(isValidAbhaAddress('priya..1234@abdm')).toBe(false);
  });
});

describe('demoHospitalBundles', () => {
  it('is deterministic: same options, same bytes', () => {
    const again = demoHospitalBundles({ seed: 42, today: TODAY });
    expect(JSON.stringify(again)).toBe(JSON.stringify(bundles));
    const other = demoHospitalBundles({ seed: 43, today: TODAY });
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(bundles));
  });

  it('produces transaction bundles of at most 500 entries, each with a request', () => {
    expect(bundles.length).toBeGreaterThan(1);
    for (const b of bundles) {
      expect(b.resourceType).toBe('Bundle');
      expect(b.type).toBe('transaction');
      expect(b.entry?.length ?? 0).toBeGreaterThan(0);
      expect(b.entry!.length).toBeLessThanOrEqual(MAX_BUNDLE_ENTRIES);
      for (const e of b.entry!) {
        expect(e.request).toBeDefined();
        expect(e.resource).toBeDefined();
        const r = e.resource!;
        if (e.request!.method === 'PUT') {
          expect(e.request!.url).toBe(`${r.resourceType}/${r.id}`);
        } else {
          expect(e.request!.method).toBe('POST');
          expect(e.request!.url).toBe(r.resourceType);
          expect(e.fullUrl).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
          expect(r.id).toBeUndefined();
        }
      }
    }
  });

  it('every reference points to a urn in the same bundle or a resource PUT in an earlier or the same bundle', () => {
    const put = new Set<string>();
    const urns = new Set<string>();
    for (const b of bundles) {
      const local = new Set<string>();
      for (const e of b.entry!) {
        if (e.request!.method === 'PUT') put.add(e.request!.url);
        if (e.fullUrl) {
          expect(urns.has(e.fullUrl)).toBe(false); // unique across the whole demo
          urns.add(e.fullUrl);
          local.add(e.fullUrl);
        }
      }
      for (const e of b.entry!) {
        for (const ref of references(e.resource)) {
          if (ref.startsWith('urn:uuid:')) expect(local.has(ref), ref).toBe(true);
          else expect(put.has(ref), ref).toBe(true);
        }
      }
    }
  });

  it('puts the hospital, its departments and staff first', () => {
    const first = bundles[0]!.entry!.map((e) => e.resource!);
    const hospital = first.find((r) => r.resourceType === 'Organization' && r.id === 'hospital');
    expect(hospital).toMatchObject({ name: DEMO_HOSPITAL.name });
    const depts = first.filter((r) => r.resourceType === 'Organization' && r.id !== 'hospital');
    expect(depts.map((d) => (d as { name?: string }).name)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('General Medicine'),
        expect.stringContaining('Pathology'),
        expect.stringContaining('Obstetrics'),
      ]),
    );
    expect(first.filter((r) => r.resourceType === 'Practitioner')).toHaveLength(16);
    expect(first.filter((r) => r.resourceType === 'PractitionerRole')).toHaveLength(16);
    // Patient bundles hold no fixed resources.
    const firstPatientBundle = bundles.findIndex((b) => b.entry!.some((e) => e.request!.method === 'POST'));
    for (const b of bundles.slice(firstPatientBundle)) for (const e of b.entry!) expect(e.request!.method).toBe('POST');
  });

  it('generates 200 patients by default, with valid identifiers', () => {
    expect(patients).toHaveLength(200);
    const uhids = new Set<string>();
    let abha = 0;
    let abhaAddress = 0;
    for (const p of patients) {
      const uhid = p.identifier?.find((i) => i.system === UHID_SYSTEM)?.value;
      expect(uhid).toMatch(/^SDH-2026-\d{6}-\d$/);
      expect(isValidUhid(uhid!)).toBe(true);
      uhids.add(uhid!);
      const number = p.identifier?.find((i) => i.system === ABHA_NUMBER)?.value;
      if (number) {
        abha++;
        expect(number).toMatch(/^\d{2}-\d{4}-\d{4}-\d{4}$/);
        expect(verhoeffValid(number.replace(/-/g, ''))).toBe(true);
      }
      const address = p.identifier?.find((i) => i.system === ABHA_ADDRESS)?.value;
      if (address) {
        abhaAddress++;
        expect(isValidAbhaAddress(address)).toBe(true);
      }
      expect(p.telecom?.[0]?.value).toMatch(/^\+91[6-9]\d{9}$/);
      const a = p.address?.[0];
      expect(a?.postalCode).toMatch(/^[1-9]\d{5}$/);
      expect(a?.country).toBe('IN');
      expect(a?.city && a.district && a.state && a.line?.length).toBeTruthy();
      expect(['male', 'female', 'other']).toContain(p.gender);
    }
    expect(uhids.size).toBe(200);
    expect(abha / 200).toBeGreaterThan(0.45);
    expect(abha / 200).toBeLessThan(0.75);
    expect(abhaAddress).toBeGreaterThan(10);
  });

  it('includes minors, each with a parent as guardian, and the elderly', () => {
    const ages = patients.map((p) => ageOn(p.birthDate!, '2026-11-24'));
    expect(Math.min(...ages)).toBe(0);
    expect(Math.max(...ages)).toBeLessThanOrEqual(90);
    expect(Math.max(...ages)).toBeGreaterThanOrEqual(70);
    const minors = patients.filter((p) => ageOn(p.birthDate!, '2026-11-24') < 18);
    expect(minors.length).toBeGreaterThan(20);
    for (const m of minors) {
      const c = m.contact?.[0];
      expect(c).toBeDefined();
      const codes = c!.relationship!.flatMap((r) => r.coding ?? []).map((x) => x.code);
      expect(codes).toContain('N');
      expect(codes).toContain('PRN');
      expect(c!.name?.family || c!.name?.given?.length).toBeTruthy();
      expect(c!.telecom?.[0]?.value).toMatch(/^\+91[6-9]\d{9}$/);
    }
  });

  it('writes names in several scripts (Devanagari among them) for about 30% of patients', () => {
    const scripts: Record<string, RegExp> = {
      Devanagari: /\p{Script=Devanagari}/u,
      Bengali: /\p{Script=Bengali}/u,
      Tamil: /\p{Script=Tamil}/u,
      Gurmukhi: /\p{Script=Gurmukhi}/u,
      Telugu: /\p{Script=Telugu}/u,
      Arabic: /\p{Script=Arabic}/u,
    };
    const texts = patients.flatMap((p) => (p.name ?? []).map((n) => n.text ?? ''));
    const found = Object.entries(scripts)
      .filter(([, re]) => texts.some((t) => re.test(t)))
      .map(([k]) => k);
    expect(found).toContain('Devanagari');
    expect(found.length).toBeGreaterThanOrEqual(4);
    const withNative = patients.filter((p) => (p.name?.length ?? 0) > 1).length;
    expect(withNative / patients.length).toBeGreaterThan(0.2);
    expect(withNative / patients.length).toBeLessThan(0.42);
    // Every native-script name says which language it is in.
    for (const p of patients) for (const n of (p.name ?? []).slice(1)) expect(n.extension?.[0]?.valueCode).toMatch(/^[a-z]{2}$/);
    // Doctors too.
    const doctorNames = resources
      .filter((r) => r.resourceType === 'Practitioner')
      .flatMap((r) => (r as { name?: { text?: string }[] }).name ?? []);
    expect(doctorNames.some((n) => scripts.Devanagari!.test(n.text ?? ''))).toBe(true);
  });

  it('carries spelling variants of the same names across patients', () => {
    const words = new Set(patients.flatMap((p) => [...(p.name?.[0]?.given ?? []), p.name?.[0]?.family ?? '']));
    for (const w of [
      'Mohammad',
      'Muhammad',
      'Mohd',
      'Lakshmi',
      'Laxmi',
      'Choudhary',
      'Chaudhary',
      'Chaudhari',
      'Chowdhury',
      'Sharma',
      'Sarma',
    ]) {
      expect(words.has(w), w).toBe(true);
    }
  });

  it('records history: encounters, vitals, ICD-10 conditions, prescriptions, labs', () => {
    const byType = <T extends Resource>(t: T['resourceType']) => resources.filter((r): r is T => r.resourceType === t);
    const code0 = (c: { coding?: { code?: string }[] } | undefined) => c?.coding?.[0]?.code;
    const encounters = byType<Encounter>('Encounter');
    expect(encounters.some((e) => e.class.code === 'AMB')).toBe(true);
    const admissions = encounters.filter((e) => e.class.code === 'IMP');
    expect(admissions.length).toBeGreaterThan(0);
    for (const e of admissions) expect((e.period?.end ?? '') > (e.period?.start ?? '')).toBe(true);
    for (const e of encounters) expect(e.period?.start).toMatch(/\+05:30$/);

    const obs = byType<Observation>('Observation');
    const codes = new Set(obs.map((o) => code0(o.code)));
    for (const c of ['8867-4', '85354-9', '29463-7', '8310-5', '2345-7', '718-7']) expect(codes.has(c), c).toBe(true);
    const bp = obs.find((o) => code0(o.code) === '85354-9');
    expect(bp?.component?.map((c) => code0(c.code))).toEqual(['8480-6', '8462-4']);
    expect(bp?.component?.[0]?.valueQuantity).toMatchObject({ system: 'http://unitsofmeasure.org', code: 'mm[Hg]' });
    expect(code0(bp?.category?.[0])).toBe('vital-signs');
    const glucose = obs.find((o) => code0(o.code) === '2345-7');
    expect(glucose?.referenceRange?.[0]?.low?.value).toBeDefined();
    expect(glucose?.basedOn?.[0]?.reference).toMatch(/^urn:uuid:/);

    const conditions = byType<Condition>('Condition');
    const icd = new Set(conditions.map((c) => code0(c.code)));
    for (const c of ['E11.9', 'I10', 'J06.9']) expect(icd.has(c), c).toBe(true);
    for (const c of conditions) expect(c.code?.coding?.[0]).toMatchObject({ system: 'http://hl7.org/fhir/sid/icd-10' });

    const meds = byType<MedicationRequest>('MedicationRequest');
    expect(meds.some((m) => m.medicationCodeableConcept?.coding?.[0]?.display === 'Metformin 500 mg tablet')).toBe(true);
    for (const m of meds) expect(m.dosageInstruction?.[0]?.text).toBeTruthy();
    expect(byType<ServiceRequest>('ServiceRequest').length).toBeGreaterThan(0);

    // Every patient has 1-4 past encounters (plus possibly today's arrival).
    const finished = encounters.filter((e) => e.status === 'finished');
    const perPatient = new Map<string, number>();
    for (const e of finished) perPatient.set(e.subject?.reference ?? '', (perPatient.get(e.subject?.reference ?? '') ?? 0) + 1);
    expect(perPatient.size).toBe(200);
    for (const n of perPatient.values()) expect(n >= 1 && n <= 4).toBe(true);
    // Nothing in the past is dated today or later.
    for (const e of finished) expect((e.period?.end ?? '').slice(0, 10) < '2026-11-24').toBe(true);
  });

  it('has OPD slots for today and the next two days, busy exactly where an appointment is booked', () => {
    const slots = resources.filter((r): r is Slot => r.resourceType === 'Slot');
    const days = new Set(slots.map((s) => s.start.slice(0, 10)));
    expect([...days].sort()).toEqual(['2026-11-24', '2026-11-25', '2026-11-26']);
    for (const s of slots) expect(s.start).toMatch(/T(09|10|11|12):(00|15|30|45):00\+05:30$/);
    const appointments = resources.filter((r): r is Appointment => r.resourceType === 'Appointment');
    expect(appointments.length).toBeGreaterThan(0);
    expect(appointments.some((a) => a.status === 'arrived')).toBe(true);
    expect(appointments.some((a) => a.status === 'booked' && a.start?.startsWith('2026-11-24'))).toBe(true);
    const booked = new Set(appointments.map((a) => a.slot?.[0]?.reference ?? ''));
    expect(booked.size).toBe(appointments.length);
    for (const s of slots) expect(s.status).toBe(booked.has(`Slot/${s.id}`) ? 'busy' : 'free');
    for (const a of appointments) {
      const slot = slots.find((s) => `Slot/${s.id}` === a.slot?.[0]?.reference);
      expect(a.start).toBe(slot?.start);
      expect(a.end).toBe(slot?.end);
    }
  });

  it('respects the patient count and handles zero', () => {
    const small = demoHospitalBundles({ seed: 1, patients: 5, today: TODAY });
    expect(small.flatMap((b) => b.entry!).filter((e) => e.resource?.resourceType === 'Patient')).toHaveLength(5);
    const none = demoHospitalBundles({ seed: 1, patients: 0, today: TODAY });
    expect(none.flatMap((b) => b.entry!).every((e) => e.request!.method === 'PUT')).toBe(true);
    expect(() => demoHospitalBundles({ patients: -1 })).toThrow();
  });

  it('handles larger hospitals within the bundle limit', () => {
    const big = demoHospitalBundles({ seed: 9, patients: 1000, today: TODAY });
    for (const b of big) expect(b.entry!.length).toBeLessThanOrEqual(MAX_BUNDLE_ENTRIES);
    expect(big.flatMap((b) => b.entry!).filter((e) => e.resource?.resourceType === 'Patient')).toHaveLength(1000);
  });
});

describe('syntheticPatient', () => {
  it('is deterministic in (seed, index) and has no id', () => {
    const a = syntheticPatient(5, 1234);
    expect(JSON.stringify(syntheticPatient(5, 1234))).toBe(JSON.stringify(a));
    expect(JSON.stringify(syntheticPatient(5, 1235))).not.toBe(JSON.stringify(a));
    expect(JSON.stringify(syntheticPatient(6, 1234))).not.toBe(JSON.stringify(a));
    expect(a.id).toBeUndefined();
    expect(a.resourceType).toBe('Patient');
    expect(a.name?.[0]?.family).toBeTruthy();
    expect(a.telecom?.[0]?.value).toMatch(/^\+91[6-9]\d{9}$/);
    expect(a.address?.[0]?.postalCode).toMatch(/^\d{6}$/);
    const uhid = a.identifier?.find((i) => i.system === UHID_SYSTEM)?.value;
    expect(uhid).toBe(formatUhid('SDH', 2025, 1235));
  });
  it('gives distinct patients for distinct indexes (benchmarks rely on unique identifiers)', () => {
    const uhids = new Set(Array.from({ length: 5_000 }, (_, i) => syntheticPatient(1, i).identifier?.[0]?.value));
    expect(uhids.size).toBe(5_000);
  });
});

describe('R4 validation (src/fhir/validation)', () => {
  it('accepts every generated resource', () => {
    const failures: string[] = [];
    const all: BundleEntry[] = [...entries, ...Array.from({ length: 50 }, (_, i) => ({ resource: syntheticPatient(3, i) }))];
    for (const e of all) {
      try {
        validateResource(e.resource, e.resource!.resourceType);
      } catch (err) {
        const detail = (err as { outcome?: unknown }).outcome ?? (err as Error).message;
        failures.push(`${e.resource!.resourceType}/${e.resource!.id ?? e.fullUrl}: ${JSON.stringify(detail)}`);
      }
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });
  it('is a live check (rejects a broken resource), so the test above is not vacuous', () => {
    const bad = JSON.parse(JSON.stringify(patients[0])) as Record<string, unknown>;
    bad.gender = 'unknown-gender-code';
    expect(() => validateResource(bad, 'Patient')).toThrow();
    expect(() => validateResource({ resourceType: 'Observation', code: { text: 'x' } }, 'Observation')).toThrow();
  });
  it('accepts the bundles themselves', () => {
    for (const b of bundles) validateResource(b as Bundle, 'Bundle');
  });
});
