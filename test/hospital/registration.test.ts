/**
 * Registering patients (hospital/registration) on both databases: UHIDs continue after those
 * already taken in the year, never repeat under concurrent registrations (the sequence counter's
 * row lock on PostgreSQL), skip a number someone holds, and are not spent on refused callers; the
 * desk's rules (ABHA check digit, a guardian for a minor, no UHID from the client) answer 400
 * naming each element, and every refusal is on the audit record.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Basic, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import type { RequestContext } from '../../src/fhir/context.js';
import { FhirError } from '../../src/fhir/outcome.js';
import { TenantId } from '../../src/fhir/types.js';
import { formatAbhaNumber } from '../../src/hospital/ids/abha.js';
import { formatUhid, isValidUhid, UHID_SYSTEM } from '../../src/hospital/ids/uhid.js';
import { verhoeffCheckDigit } from '../../src/hospital/ids/verhoeff.js';
import { PatientRegistration } from '../../src/hospital/registration/register.js';
import { counterId, SEQUENCE_BASE_EXTENSION } from '../../src/hospital/registration/uhid-sequence.js';
import { openSushruta, type Sushruta } from '../../src/runtime/open.js';
import { MemoryAuditSink } from '../../src/security/audit/memory-sink.js';
import { testDbKinds } from '../support/db.js';

const TENANT = 'registration-hospital';
const NOW = new Date('2026-07-15T06:30:00Z');
const YEAR = 2026;

function ctx(actor: RequestContext['actor'], n: number): RequestContext {
  return {
    requestId: `registration-test-${n}`,
    tenantId: TenantId(TENANT),
    actor,
    provenance: { peerAddress: '203.0.113.9', clientAddress: '203.0.113.9', forwardedChain: [], userAgent: 'vitest' },
    baseUrl: 'http://127.0.0.1/fhir',
    lenient: false,
  };
}

const OPERATOR: RequestContext['actor'] = { kind: 'local-operator', description: 'registration test' };
const AUDITOR: RequestContext['actor'] = {
  kind: 'user',
  id: 'u-auditor',
  username: 'audit.asha',
  roles: ['auditor'],
  departments: [],
  practitionerId: null,
  practitionerRoleIds: [],
  sessionId: 's-auditor',
};

function walkIn(given: string, extra: Partial<Patient> = {}): Patient {
  return {
    resourceType: 'Patient',
    name: [{ use: 'official', text: `${given} Verma`, given: [given], family: 'Verma' }],
    gender: 'female',
    birthDate: '1990-05-01',
    address: [{ line: ['12 Ring Road'], city: 'New Delhi', state: 'Delhi', postalCode: '110024', country: 'IN' }],
    ...extra,
  };
}

const uhidOf = (p: Patient) => p.identifier?.find((i) => i.system === UHID_SYSTEM)?.value;

describe.each(testDbKinds())('patient registration on $name', (kind) => {
  let s: Sushruta;
  let audit: MemoryAuditSink;
  let reg: PatientRegistration;
  let keyDir: string;
  let n = 0;
  const op = () => ctx(OPERATOR, ++n);

  beforeAll(async () => {
    keyDir = mkdtempSync(join(tmpdir(), 'sushruta-registration-'));
    const config = loadConfig({ env: {}, flags: { port: 0, tenant: TENANT, keyFile: join(keyDir, 'master.kek') } });
    audit = new MemoryAuditSink();
    s = await openSushruta(config, { db: await kind.open(), audit });
    reg = new PatientRegistration({ service: s.service, uhidPrefix: 'SDH', hospitalName: 'Test Hospital', now: () => NOW });
    // Patients imported with UHIDs 1-5 of the year (as the demo hospital's are).
    for (let i = 1; i <= 5; i++) {
      const p = walkIn(`Imported${i}`, { identifier: [{ system: UHID_SYSTEM, value: formatUhid('SDH', YEAR, i) }] });
      const res = await s.service.handle(op(), { method: 'POST', path: 'Patient', rawQuery: '', query: [], body: p });
      expect(res.status).toBe(201);
    }
  });
  afterAll(async () => {
    await s?.close();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('gives the first registration of the year the UHID after those already taken, and creates the patient as the caller', async () => {
    const before = audit.entries.length;
    const out = await reg.register(op(), walkIn('Anita'));
    expect(out.uhid).toBe(formatUhid('SDH', YEAR, 6));
    expect(isValidUhid(out.uhid)).toBe(true);
    expect(uhidOf(out.patient)).toBe(out.uhid);
    expect(out.patient.identifier?.[0]).toMatchObject({ use: 'usual', type: { text: 'UHID' }, assigner: { display: 'Test Hospital' } });
    expect(out.headers.ETag).toBe('W/"1"');
    // The counter is written by the system job; the patient by the caller.
    const entries = audit.entries.slice(before);
    expect(entries.find((e) => e.resourceType === 'Basic' && e.interaction === 'update')?.ctx.actor).toEqual({
      kind: 'system',
      job: 'registration',
    });
    expect(entries.find((e) => e.resourceType === 'Patient' && e.interaction === 'create')?.ctx.actor).toEqual(OPERATOR);
    const counter = await s.service.handle(op(), { method: 'GET', path: `Basic/${counterId('SDH', YEAR)}`, rawQuery: '', query: [] });
    expect((counter.body as Basic).extension?.find((x) => x.url === SEQUENCE_BASE_EXTENSION)?.valueInteger).toBe(5);
  });

  it('never gives two concurrent registrations the same UHID', async () => {
    const out = await Promise.all(Array.from({ length: 8 }, (_, i) => reg.register(op(), walkIn(`Concurrent${i}`))));
    const uhids = out.map((o) => o.uhid);
    expect(new Set(uhids).size).toBe(8);
    const seqs = uhids.map((u) => Number(u.split('-')[2])).sort((a, b) => a - b);
    expect(seqs).toEqual([7, 8, 9, 10, 11, 12, 13, 14]);
  });

  it('skips a number a patient already holds (imported after the counter began)', async () => {
    const held = formatUhid('SDH', YEAR, 15);
    const p = walkIn('Imported15', { identifier: [{ system: UHID_SYSTEM, value: held }] });
    expect((await s.service.handle(op(), { method: 'POST', path: 'Patient', rawQuery: '', query: [], body: p })).status).toBe(201);
    const out = await reg.register(op(), walkIn('Bhavna'));
    expect(out.uhid).toBe(formatUhid('SDH', YEAR, 16));
  });

  it('answers 400 naming each element that breaks a desk rule, spends no number, and records the refusal', async () => {
    const body = '9123456789012';
    const wrongAbha = formatAbhaNumber(`${body}${(verhoeffCheckDigit(body) + 1) % 10}`);
    const before = audit.entries.length;
    const err = await reg
      .register(
        op(),
        walkIn('Chhaya', {
          birthDate: '2019-02-03',
          identifier: [
            { system: 'https://healthid.ndhm.gov.in', value: wrongAbha },
            { system: UHID_SYSTEM, value: 'SDH-2026-000999-1' },
          ],
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FhirError);
    const fe = err as FhirError;
    expect(fe.status).toBe(400);
    const byPath = Object.fromEntries(fe.issues.map((i) => [i.expression?.[0], i.diagnostics]));
    expect(byPath['Patient.identifier[0].value']).toMatch(/check digit/);
    expect(byPath['Patient.identifier[1]']).toMatch(/UHID is given by the hospital/);
    expect(byPath['Patient.contact']).toMatch(/under 18 needs a parent or guardian/);
    expect(audit.entries.slice(before)).toEqual([
      expect.objectContaining({
        interaction: 'create',
        resourceType: 'Patient',
        outcome: expect.objectContaining({ status: 400, rule: 'registration-rules' }),
      }),
    ]);
    // A minor with a guardian, and the ABHA number typed without dashes, is registered (in its dashed form).
    const good = formatAbhaNumber(`${body}${verhoeffCheckDigit(body)}`);
    const out = await reg.register(
      op(),
      walkIn('Chhaya', {
        birthDate: '2019-02-03',
        identifier: [{ system: 'https://healthid.ndhm.gov.in', value: good.replace(/-/g, '') }],
        contact: [{ name: { text: 'Rekha Verma' }, relationship: [{ text: 'Mother' }] }],
      }),
    );
    expect(out.uhid).toBe(formatUhid('SDH', YEAR, 17));
    expect(out.patient.identifier?.[1]?.value).toBe(good);
  });

  it('refuses a caller the access policy refuses, with its rule, without spending a number', async () => {
    const before = audit.entries.length;
    const err = (await reg.register(ctx(AUDITOR, ++n), walkIn('Devika')).catch((e: unknown) => e)) as FhirError;
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/access denied by rule '/);
    const recorded = audit.entries.slice(before);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ interaction: 'create', resourceType: 'Patient', outcome: { status: 403 } });
    expect((await reg.register(op(), walkIn('Esha'))).uhid).toBe(formatUhid('SDH', YEAR, 18));
  });

  it('answers 400 to a body that is not a Patient, and to FHIR-invalid content before any number is spent', async () => {
    for (const body of [null, [], { resourceType: 'Practitioner' }, 'Patient']) {
      expect(((await reg.register(op(), body).catch((e: unknown) => e)) as FhirError).status).toBe(400);
    }
    const invalid = (await reg
      .register(op(), walkIn('Farah', { gender: 'femme' as Patient['gender'] }))
      .catch((e: unknown) => e)) as FhirError;
    expect(invalid.status).toBe(400);
    expect((await reg.register(op(), walkIn('Gauri'))).uhid).toBe(formatUhid('SDH', YEAR, 19));
  });
});
