/**
 * The policy matrix (issue 5): role x interaction x resource type x care relationship x label ->
 * allow or deny, for every staff role, through the HTTP API as signed-in staff (session cookie,
 * CSRF token, TOTP), on both databases.
 *
 * The expected answers come from the table below, written from the words and not from
 * the policy's own table (src/security/policy/roles.ts), so a change to either shows here.
 * Every read, every search, every `_include`/`_revinclude` and every write is checked; a search
 * must return exactly the resources the oracle allows: not one more (a leak), not one fewer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/http/app.js';
import { base32Decode, totp } from '../../src/security/identity/totp.js';
import { Browser } from '../support/browser.js';
import { testDbKinds } from '../support/db.js';
import { type IdentityHarness, OPERATOR, openIdentity, TENANT } from '../identity/helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
type Json = any;

type Reach = 'all' | 'care' | '-';
type Cat = 'demographics' | 'visit' | 'clinical' | 'laboratory' | 'medication' | 'billing';
/** [read, write] reach per category, from issue 5: "sees only what their work needs". */
const EXPECTED: Record<string, Record<Cat, [Reach, Reach]>> = {
  'front-desk': {
    demographics: ['all', 'all'],
    visit: ['all', 'all'],
    clinical: ['-', '-'],
    laboratory: ['-', '-'],
    medication: ['-', '-'],
    billing: ['-', '-'],
  },
  nurse: {
    demographics: ['all', '-'],
    visit: ['care', 'care'],
    clinical: ['care', 'care'],
    laboratory: ['care', '-'],
    medication: ['care', '-'],
    billing: ['-', '-'],
  },
  doctor: {
    demographics: ['all', '-'],
    visit: ['care', 'care'],
    clinical: ['care', 'care'],
    laboratory: ['care', 'care'],
    medication: ['care', 'care'],
    billing: ['-', '-'],
  },
  'lab-technician': {
    demographics: ['all', '-'],
    visit: ['-', '-'],
    clinical: ['-', '-'],
    laboratory: ['care', 'care'],
    medication: ['-', '-'],
    billing: ['-', '-'],
  },
  pharmacist: {
    demographics: ['all', '-'],
    visit: ['-', '-'],
    clinical: ['-', '-'],
    laboratory: ['-', '-'],
    medication: ['all', '-'],
    billing: ['-', '-'],
  },
  'billing-clerk': {
    demographics: ['all', '-'],
    visit: ['all', '-'],
    clinical: ['-', '-'],
    laboratory: ['-', '-'],
    medication: ['-', '-'],
    billing: ['all', 'all'],
  },
  'ward-manager': {
    demographics: ['all', '-'],
    visit: ['care', 'care'],
    clinical: ['-', '-'],
    laboratory: ['-', '-'],
    medication: ['-', '-'],
    billing: ['-', '-'],
  },
  'hospital-admin': none(),
  'security-officer': none(),
  auditor: none(),
  integration: none(),
};
function none(): Record<Cat, [Reach, Reach]> {
  return {
    demographics: ['-', '-'],
    visit: ['-', '-'],
    clinical: ['-', '-'],
    laboratory: ['-', '-'],
    medication: ['-', '-'],
    billing: ['-', '-'],
  };
}
/** Nurses record vital signs (Observation) though they do not write other laboratory data. */
const NURSE_WRITES_OBSERVATIONS = true;

const TYPES: Record<Cat, string> = {
  demographics: 'Patient',
  visit: 'Encounter',
  clinical: 'Condition',
  laboratory: 'Observation',
  medication: 'MedicationRequest',
  billing: 'Account',
};

/** Which departments each account works in; the doctor is also Practitioner/doc-in. */
const DEPARTMENTS: Record<string, string[]> = {
  'front-desk': ['dept-medicine'],
  nurse: ['dept-medicine'],
  doctor: [],
  'lab-technician': ['dept-pathology'],
  'ward-manager': ['dept-medicine'],
};

interface PatientCase {
  readonly key: string;
  /** Which accounts have a care relationship with this patient. */
  readonly caredBy: readonly string[];
  readonly restricted: boolean;
}
const PATIENTS: readonly PatientCase[] = [
  // An OPD encounter in medicine, attended by the doctor: medicine staff and the doctor.
  { key: 'cared', caredBy: ['nurse', 'doctor', 'ward-manager', 'front-desk'], restricted: false },
  // An encounter in surgery: nobody here.
  { key: 'elsewhere', caredBy: [], restricted: false },
  // A laboratory order to pathology: the lab technician.
  { key: 'lab-order', caredBy: ['lab-technician'], restricted: false },
  // A VIP in medicine: cared for, but restricted.
  { key: 'vip', caredBy: ['nurse', 'doctor', 'ward-manager', 'front-desk'], restricted: true },
  // A relationship that ended 40 days ago (the window is 30): nobody.
  { key: 'long-ago', caredBy: [], restricted: false },
];

function expected(role: string, purpose: 'read' | 'write', cat: Cat, p: PatientCase, type: string): boolean {
  const [r, w] = EXPECTED[role]?.[cat] ?? ['-', '-'];
  let reach = purpose === 'read' ? r : w;
  if (role === 'nurse' && purpose === 'write' && type === 'Observation' && NURSE_WRITES_OBSERVATIONS) reach = 'care';
  if (reach === '-') return false;
  if (p.restricted) return false;
  return reach === 'all' || p.caredBy.includes(role);
}

describe.each(testDbKinds())('policy matrix over HTTP on $name', (kind) => {
  let h: IdentityHarness;
  let url: string;
  let close: () => Promise<void>;
  const operator = () => new Browser(url);
  const users = new Map<string, Browser>();
  /** patient key -> category -> Type/id */
  const ids = new Map<string, Record<Cat, string>>();
  const REMOTE = { 'x-forwarded-for': '198.51.100.90' };
  const refOf = (key: string, cat: Cat): string => {
    const r = ids.get(key)?.[cat];
    if (!r) throw new Error(`no ${cat} fixture for ${key}`);
    return r;
  };
  const patientIdOf = (key: string): string => refOf(key, 'demographics').split('/')[1] as string;
  const day = 86_400_000;

  beforeAll(async () => {
    // Sessions outlive the test's clock jumps (a break-glass hour); idle expiry is tested in test/identity.
    h = await openIdentity(kind, { idleMs: 24 * 3_600_000, maxMs: 24 * 3_600_000 });
    const config = loadConfig({ env: {}, flags: { port: 0, tenant: TENANT } });
    const app = await buildApp({ config, service: h.s.service, tenantId: h.s.tenantId, identity: h.s.identity, access: h.s.access });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    close = async () => {
      await app.close();
      await h.close();
    };

    // The fixture, written by the operator on the server (loopback, no proxy: the local operator).
    const op = operator();
    const now = h.clock.now;
    const iso = (t: number) => new Date(t).toISOString();
    const post = async (body: Json) => {
      const r = await op.call('POST', `/fhir/${body.resourceType}`, body, { 'content-type': 'application/fhir+json' });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.id as string;
    };
    for (const p of PATIENTS) {
      const pid = await post({
        resourceType: 'Patient',
        name: [{ family: `Matrix-${p.key}`, given: ['Asha'] }],
        ...(p.restricted
          ? { meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] } }
          : {}),
      });
      const subject = { reference: `Patient/${pid}` };
      const when = p.key === 'long-ago' ? now - 40 * day : now - 3_600_000;
      const encounter = await post({
        resourceType: 'Encounter',
        status: p.key === 'long-ago' ? 'finished' : 'in-progress',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject,
        serviceProvider: { reference: `Organization/${p.key === 'elsewhere' || p.key === 'lab-order' ? 'dept-surgery' : 'dept-medicine'}` },
        participant: p.key === 'elsewhere' || p.key === 'lab-order' ? [] : [{ individual: { reference: 'Practitioner/doc-in' } }],
        period: { start: iso(when), ...(p.key === 'long-ago' ? { end: iso(when + 3_600_000) } : {}) },
      });
      if (p.key === 'lab-order') {
        await post({
          resourceType: 'ServiceRequest',
          status: 'active',
          intent: 'order',
          code: { text: 'Haemoglobin' },
          subject,
          authoredOn: iso(now - 3_600_000),
          performer: [{ reference: 'Organization/dept-pathology' }],
        });
      }
      ids.set(p.key, {
        demographics: `Patient/${pid}`,
        visit: `Encounter/${encounter}`,
        clinical: `Condition/${await post({ resourceType: 'Condition', subject, code: { text: 'Type 2 diabetes' } })}`,
        laboratory: `Observation/${await post({ resourceType: 'Observation', status: 'final', code: { text: 'HbA1c' }, subject, valueString: '7.9%' })}`,
        medication: `MedicationRequest/${await post({
          resourceType: 'MedicationRequest',
          status: 'active',
          intent: 'order',
          medicationCodeableConcept: { text: 'Metformin 500 mg' },
          subject,
        })}`,
        billing: `Account/${await post({ resourceType: 'Account', status: 'active', subject: [subject] })}`,
      });
    }

    // One account per role, signed in through HTTP from a remote address (password change, TOTP).
    const opCtx = { ...h.ctx(), actor: OPERATOR };
    for (const role of Object.keys(EXPECTED)) {
      const username = `matrix.${role}`;
      const made = await h.s.identity.createAccount(opCtx, {
        username,
        displayName: `Matrix ${role}`,
        roles: [role],
        departments: DEPARTMENTS[role] ?? [],
        ...(role === 'doctor' ? { practitionerId: 'doc-in' } : {}),
      });
      const b = new Browser(url, REMOTE);
      let r = await b.call('POST', '/auth/login', { username, password: made.initialPassword });
      expect(r.body.stage).toBe('password');
      r = await b.call('POST', '/auth/password', { newPassword: `correct horse ${role} staple` });
      r = await b.call('POST', '/auth/totp/begin');
      const secret = r.body.secret as string;
      h.clock.advance(30_000);
      r = await b.call('POST', '/auth/totp/confirm', { code: totp(base32Decode(secret), h.clock.now / 1000) });
      expect(r.body.stage, JSON.stringify(r.body)).toBe('active');
      users.set(role, b);
    }
  }, 240_000);
  afterAll(async () => {
    await close?.();
  });

  it('answers every read as the matrix says, naming the rule of a denial and nothing of the record', async () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const [role, b] of users) {
      for (const p of PATIENTS) {
        for (const cat of Object.keys(TYPES) as Cat[]) {
          const ref = ids.get(p.key)?.[cat] as string;
          const r = await b.call('GET', `/fhir/${ref}`);
          checked += 1;
          const want = expected(role, 'read', cat, p, TYPES[cat]);
          if ((r.status === 200) !== want) wrong.push(`${role} read ${cat} of ${p.key}: got ${r.status}, want ${want ? 200 : 403}`);
          if (r.status === 403) {
            const text = JSON.stringify(r.body);
            if (!/access denied by rule '[a-z-:]+'/.test(text)) wrong.push(`${role} ${cat} ${p.key}: denial names no rule: ${text}`);
            if (/Matrix-|Asha|diabetes|Metformin|HbA1c/.test(text)) wrong.push(`${role} ${cat} ${p.key}: denial leaks data: ${text}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBe(Object.keys(EXPECTED).length * PATIENTS.length * 6);
  });

  it('returns exactly the allowed resources from searches, _include and _revinclude (no leak, no loss)', async () => {
    const wrong: string[] = [];
    const allPatients = PATIENTS.map((p) => patientIdOf(p.key)).join(',');
    for (const [role, b] of users) {
      for (const cat of Object.keys(TYPES) as Cat[]) {
        const type = TYPES[cat];
        const query =
          cat === 'demographics'
            ? `Patient?_id=${allPatients}&_revinclude=Condition:subject&_revinclude=Encounter:subject&_count=100`
            : cat === 'billing'
              ? `Account?_count=100&_include=Account:subject`
              : `${type}?patient=${allPatients}&_include=${type}:patient&_count=100`;
        const r = await b.call('GET', `/fhir/${query}`);
        const canSearch = (EXPECTED[role] as Record<Cat, [Reach, Reach]>)[cat][0] !== '-';
        if (!canSearch) {
          if (r.status !== 403) wrong.push(`${role} search ${type}: got ${r.status}, want 403`);
          continue;
        }
        if (r.status !== 200) {
          wrong.push(`${role} search ${type}: got ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
          continue;
        }
        if (r.body.total !== undefined) wrong.push(`${role} search ${type}: a screened search gave a total`);
        const got = new Set<string>(
          (r.body.entry ?? [])
            .filter((e: Json) => e.resource?.resourceType !== 'OperationOutcome')
            .map((e: Json) => `${e.resource.resourceType}/${e.resource.id}`),
        );
        // Every returned resource must be one the oracle allows this role to read.
        for (const ref of got) {
          const found = [...ids].flatMap(([key, m]) =>
            Object.entries(m)
              .filter(([, v]) => v === ref)
              .map(([c]) => [key, c as Cat] as const),
          )[0];
          if (!found) continue; // fixture resources only (e.g. the ServiceRequest is not in the matrix)
          const p = PATIENTS.find((x) => x.key === found[0]) as PatientCase;
          if (!expected(role, 'read', found[1], p, TYPES[found[1]]))
            wrong.push(`${role} search ${type}: LEAKED ${found[1]} of ${p.key} (${ref})`);
        }
        // And every resource of the searched type it may read must be there.
        for (const p of PATIENTS) {
          const ref = ids.get(p.key)?.[cat] as string;
          if (expected(role, 'read', cat, p, type) && !got.has(ref)) wrong.push(`${role} search ${type}: missing ${cat} of ${p.key}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('allows and refuses writes as the matrix says', async () => {
    const wrong: string[] = [];
    for (const [role, b] of users) {
      for (const p of PATIENTS) {
        const pid = patientIdOf(p.key);
        const subject = { reference: `Patient/${pid}` };
        const bodies: Record<Cat, Json> = {
          demographics: { resourceType: 'Patient', name: [{ family: 'New', given: ['Patient'] }] },
          visit: {
            resourceType: 'Encounter',
            status: 'planned',
            class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
            subject,
            serviceProvider: { reference: 'Organization/dept-orthopaedics' },
          },
          clinical: { resourceType: 'Condition', subject, code: { text: 'Hypertension' } },
          laboratory: { resourceType: 'Observation', status: 'final', code: { text: 'Pulse' }, subject, valueString: '72/min' },
          medication: {
            resourceType: 'MedicationRequest',
            status: 'active',
            intent: 'order',
            medicationCodeableConcept: { text: 'Amlodipine' },
            subject,
          },
          billing: { resourceType: 'Account', status: 'active', subject: [subject] },
        };
        for (const cat of Object.keys(TYPES) as Cat[]) {
          if (cat === 'demographics') continue; // a new Patient belongs to no existing patient: below
          const r = await b.call('POST', `/fhir/${TYPES[cat]}`, bodies[cat]);
          const want = expected(role, 'write', cat, p, TYPES[cat]);
          if ((r.status === 201) !== want) wrong.push(`${role} create ${cat} for ${p.key}: got ${r.status}, want ${want ? 201 : 403}`);
        }
        // Updating the patient's own record (demographics).
        const current = await operator().call('GET', `/fhir/Patient/${pid}`);
        const r = await b.call('PUT', `/fhir/Patient/${pid}`, current.body);
        const want = expected(role, 'write', 'demographics', p, 'Patient');
        if ((r.status === 200) !== want) wrong.push(`${role} update demographics of ${p.key}: got ${r.status}, want ${want ? 200 : 403}`);
      }
      const made = await b.call('POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Walk-in' }] });
      const want = (EXPECTED[role] as Record<Cat, [Reach, Reach]>).demographics[1] !== '-';
      if ((made.status === 201) !== want) wrong.push(`${role} register a new patient: got ${made.status}, want ${want ? 201 : 403}`);
    }
    expect(wrong).toEqual([]);
  });

  it('records the deciding rule in the audit, for denials and for allowed reads', async () => {
    const doctor = users.get('doctor') as Browser;
    const denied = ids.get('elsewhere')?.clinical as string;
    expect((await doctor.call('GET', `/fhir/${denied}`)).status).toBe(403);
    const rec = h.audit.entries
      .filter((e) => e.ctx.actor.kind === 'user' && e.ctx.actor.username === 'matrix.doctor' && `${e.resourceType}/${e.id}` === denied)
      .at(-1);
    expect(rec?.outcome.status).toBe(403);
    expect(rec?.outcome.rule).toBe('care-relationship');
    expect(rec?.patients).toEqual([ids.get('elsewhere')?.demographics.split('/')[1]]);
    const allowed = ids.get('cared')?.clinical as string;
    expect((await doctor.call('GET', `/fhir/${allowed}`)).status).toBe(200);
    const ok = h.audit.entries
      .filter((e) => e.ctx.actor.kind === 'user' && e.ctx.actor.username === 'matrix.doctor' && `${e.resourceType}/${e.id}` === allowed)
      .at(-1);
    expect(ok?.outcome.rule).toBe('role:doctor; care-relationship');
  });

  it('break-glass: a doctor opens a record outside their care with a reason, time-boxed, and the security officer sees it', async () => {
    const doctor = users.get('doctor') as Browser;
    const pid = patientIdOf('elsewhere');
    const condition = ids.get('elsewhere')?.clinical as string;
    expect((await doctor.call('GET', `/fhir/${condition}`)).status).toBe(403);
    const params = (reason: string) => ({ resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: reason }] });
    const short = await doctor.call('POST', `/fhir/Patient/${pid}/$break-glass`, params('urgent'));
    expect(short.status).toBe(400);
    expect(JSON.stringify(short.body)).toMatch(/at least 10 characters/);
    // Roles without break-glass cannot use it.
    expect(
      (await users.get('front-desk')?.call('POST', `/fhir/Patient/${pid}/$break-glass`, params('collapsed in the waiting hall')))?.status,
    ).toBe(403);
    const opened = await doctor.call('POST', `/fhir/Patient/${pid}/$break-glass`, params('collapsed in the waiting hall, unresponsive'));
    expect(opened.status, JSON.stringify(opened.body)).toBe(200);
    const expires = opened.body.parameter.find((x: Json) => x.name === 'expires').valueInstant;
    expect(Date.parse(expires) - h.clock.now).toBe(60 * 60_000);
    expect((await doctor.call('GET', `/fhir/${condition}`)).status).toBe(200);
    const rec = h.audit.entries
      .filter((e) => e.ctx.actor.kind === 'user' && e.ctx.actor.username === 'matrix.doctor' && `${e.resourceType}/${e.id}` === condition)
      .at(-1);
    expect(rec?.outcome.rule).toBe('role:doctor; break-glass');

    // The security officer's report: who, which patient, the reason.
    const report = await users.get('security-officer')?.call('GET', '/admin/access/break-glass');
    expect(report?.status).toBe(200);
    const mine = ((report?.body ?? []) as Json[]).find((g) => g.patientId === pid);
    expect(mine).toMatchObject({ kind: 'break-glass', reason: 'collapsed in the waiting hall, unresponsive', active: true });
    // Nobody else reads the report.
    expect((await users.get('hospital-admin')?.call('GET', '/admin/access/break-glass'))?.status).toBe(403);
    expect((await doctor.call('GET', '/admin/access/break-glass')).status).toBe(403);

    // An hour later it is over.
    h.clock.advance(61 * 60_000);
    expect((await doctor.call('GET', `/fhir/${condition}`)).status).toBe(403);
  });

  it("a restricted patient needs the security officer's grant; the grant can be revoked; nobody grants to themselves", async () => {
    const nurse = users.get('nurse') as Browser;
    const officer = users.get('security-officer') as Browser;
    const vip = ids.get('vip') as Record<Cat, string>;
    const pid = vip.demographics.split('/')[1];
    const denied = await nurse.call('GET', `/fhir/${vip.clinical}`);
    expect(denied.status).toBe(403);
    expect(JSON.stringify(denied.body)).toMatch(/rule 'restricted-patient'/);
    // Searches do not reveal the restricted patient at all.
    const found = await nurse.call('GET', '/fhir/Patient?family=Matrix-vip');
    expect(found.status).toBe(200);
    expect(found.body.entry ?? []).toEqual([]);

    const bad = await officer.call('POST', '/admin/access/grants', { user: 'matrix.nurse', patient: pid, reason: 'too short', hours: 8 });
    expect(bad.status).toBe(400);
    const noEnd = await officer.call('POST', '/admin/access/grants', {
      user: 'matrix.nurse',
      patient: pid,
      reason: 'treating team of the VIP ward',
    });
    expect(noEnd.status).toBe(400);
    expect(JSON.stringify(noEnd.body)).toMatch(/hours/);
    const self = await officer.call('POST', '/admin/access/grants', {
      user: 'matrix.security-officer',
      patient: pid,
      reason: 'curious about the VIP',
      hours: 1,
    });
    expect(self.status).toBe(403);
    expect(
      (
        await users
          .get('hospital-admin')
          ?.call('POST', '/admin/access/grants', { user: 'matrix.nurse', patient: pid, reason: 'treating team of the VIP ward', hours: 8 })
      )?.status,
    ).toBe(403);

    const granted = await officer.call('POST', '/admin/access/grants', {
      user: 'matrix.nurse',
      patient: pid,
      reason: 'treating team of the VIP ward',
      hours: 8,
    });
    expect(granted.status, JSON.stringify(granted.body)).toBe(201);
    expect((await nurse.call('GET', `/fhir/${vip.clinical}`)).status).toBe(200);
    expect((await nurse.call('GET', `/fhir/${vip.demographics}`)).status).toBe(200);
    // The grant lifts the restriction, not the role: a nurse still bills nothing.
    expect((await nurse.call('GET', `/fhir/${vip.billing}`)).status).toBe(403);
    const listed = await officer.call('GET', '/admin/access/grants?active=true');
    expect((listed.body as Json[]).map((g) => g.id)).toContain(granted.body.id);

    const revoked = await officer.call('POST', `/admin/access/grants/${granted.body.id}/revoke`, {});
    expect(revoked.status).toBe(200);
    expect(revoked.body.active).toBe(false);
    expect((await nurse.call('GET', `/fhir/${vip.clinical}`)).status).toBe(403);
    expect((await officer.call('POST', `/admin/access/grants/${granted.body.id}/revoke`, {})).status).toBe(409);
  });

  it('a restriction label takes effect with the write that sets it, though the decision was cached a moment ago', async () => {
    const doctor = users.get('doctor') as Browser;
    const condition = refOf('cared', 'clinical');
    expect((await doctor.call('GET', `/fhir/${condition}`)).status).toBe(200);
    const op = operator();
    const pid = patientIdOf('cared');
    const patient = (await op.call('GET', `/fhir/Patient/${pid}`)).body;
    const label = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };
    const put = (body: Json) => op.call('PUT', `/fhir/Patient/${pid}`, body, { 'content-type': 'application/fhir+json' });
    expect((await put({ ...patient, meta: { security: [label] } })).status).toBe(200);
    const denied = await doctor.call('GET', `/fhir/${condition}`);
    expect(denied.status).toBe(403);
    expect(JSON.stringify(denied.body)).toMatch(/rule 'restricted-patient'/);
    const labelled = (await op.call('GET', `/fhir/Patient/${pid}`)).body;
    expect((await put({ ...labelled, meta: { security: [] } })).status).toBe(200);
    expect((await doctor.call('GET', `/fhir/${condition}`)).status).toBe(200);
  });

  it('separation of duties: the administrator, the security officer and the auditor read no clinical data', async () => {
    const cared = ids.get('cared') as Record<Cat, string>;
    for (const role of ['hospital-admin', 'security-officer', 'auditor']) {
      const b = users.get(role) as Browser;
      for (const ref of Object.values(cared)) {
        const r = await b.call('GET', `/fhir/${ref}`);
        expect(r.status, `${role} ${ref}`).toBe(403);
        expect(JSON.stringify(r.body)).toMatch(/rule 'role-category'/);
      }
    }
    // The administrator manages accounts; the security officer and the auditor do not.
    expect((await users.get('hospital-admin')?.call('GET', '/admin/users'))?.status).toBe(200);
    expect((await users.get('auditor')?.call('GET', '/admin/users'))?.status).toBe(403);
    expect((await users.get('security-officer')?.call('GET', '/admin/users'))?.status).toBe(403);
  });
});
