/**
 * Staff sign-in through HTTP on both databases: the setup token, login -> new password -> TOTP
 * enrolment -> MFA with cookies and CSRF tokens as a browser holds them; cookie flags (and
 * `__Host-` + Secure behind TLS); CSRF 403; logout; a disabled account's session; cross-site
 * sign-in refused; anonymous callers get 401; audit records carry the user, role and session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/http/app.js';
import { recordOf } from '../../src/security/audit/record.js';
import { plainSealer } from '../../src/security/audit/record.js';
import { base32Decode, totp } from '../../src/security/identity/totp.js';
import { testDbKinds } from '../support/db.js';
import { Browser } from '../support/browser.js';
import { type IdentityHarness, openIdentity, TENANT } from './helpers.js';

describe.each(testDbKinds())('staff sign-in over HTTP on $name', (kind) => {
  let h: IdentityHarness;
  let url: string;
  let close: () => Promise<void>;
  const now = () => h.clock.now / 1000;
  /** Remote callers: a proxy header makes a loopback request someone else's. */
  const REMOTE = { 'x-forwarded-for': '198.51.100.77' };

  beforeAll(async () => {
    h = await openIdentity(kind);
    const config = loadConfig({ env: {}, flags: { port: 0, tenant: TENANT } });
    const app = await buildApp({ config, service: h.s.service, tenantId: h.s.tenantId, identity: h.s.identity });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    close = async () => {
      await app.close();
      await h.close();
    };
  });
  afterAll(async () => {
    await close?.();
  });

  /** Signs a browser in from scratch (initial password -> own password -> TOTP); returns the secret. */
  async function firstSignIn(b: Browser, username: string, initial: string, password: string): Promise<string> {
    let r = await b.call('POST', '/auth/login', { username, password: initial });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.stage).toBe('password');
    r = await b.call('POST', '/auth/password', { newPassword: password });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.stage).toBe('enrol');
    r = await b.call('POST', '/auth/totp/begin');
    expect(r.body.uri).toMatch(/^otpauth:\/\/totp\//);
    const secret = r.body.secret as string;
    h.clock.advance(30_000);
    r = await b.call('POST', '/auth/totp/confirm', { code: totp(base32Decode(secret), now()) });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.recoveryCodes).toHaveLength(10);
    expect(r.body.stage).toBe('active');
    return secret;
  }

  let admin: Browser;
  let adminSecret: string;

  it('creates the first administrator with the setup token, once; the administrator signs in with TOTP', async () => {
    const token = (await h.s.identity.issueSetupToken()) as string;
    const anon = new Browser(url, REMOTE);
    expect((await anon.call('GET', '/auth/setup')).body).toEqual({ setupNeeded: true });
    const input = { token, username: 'admin', displayName: 'Kavita Nair', password: 'neem tree by the old well' };
    expect((await anon.call('POST', '/auth/setup', { ...input, token: 'wrong' })).status).toBe(403);
    const made = await anon.call('POST', '/auth/setup', input);
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body.account.roles).toEqual(['hospital-admin']);
    expect((await anon.call('POST', '/auth/setup', input)).status).toBe(403);
    expect((await anon.call('GET', '/auth/setup')).body).toEqual({ setupNeeded: false });

    admin = new Browser(url, REMOTE);
    let r = await admin.call('POST', '/auth/login', { username: 'admin', password: input.password });
    expect(r.body.stage).toBe('enrol');
    r = await admin.call('POST', '/auth/totp/begin');
    adminSecret = r.body.secret;
    h.clock.advance(30_000);
    r = await admin.call('POST', '/auth/totp/confirm', { code: totp(base32Decode(adminSecret), now()) });
    expect(r.status).toBe(200);
    const me = await admin.call('GET', '/auth/session');
    expect(me.body.account.username).toBe('admin');
    expect(me.body.stage).toBe('active');
  });

  it('sets the session cookie HttpOnly, SameSite=Strict, Path=/, and changes it at every stage', async () => {
    const b = new Browser(url, REMOTE);
    await b.call('POST', '/auth/login', { username: 'admin', password: 'neem tree by the old well' });
    const cookie = b.lastSetCookies.find((c) => c.startsWith('sushruta-session='));
    expect(cookie).toBeDefined();
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Strict/i);
    expect(cookie).toMatch(/; Path=\//i);
    expect(cookie).not.toMatch(/; Secure/i); // plain HTTP on loopback
    expect(cookie).not.toMatch(/Max-Age|Expires/i);
    const before = b.jar.get('sushruta-session');
    // Before MFA the cookie opens nothing.
    expect((await b.call('GET', '/fhir/metadata')).status).toBe(401);
    h.clock.advance(30_000);
    const r = await b.call('POST', '/auth/mfa', { code: totp(base32Decode(adminSecret), now()) });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(b.jar.get('sushruta-session')).not.toBe(before);
    const device = b.lastSetCookies.find((c) => c.startsWith('sushruta-device='));
    expect(device).toMatch(/HttpOnly/i);
    expect(device).toMatch(/Max-Age=31536000/);
    // The old (pre-MFA) cookie is dead.
    const stale = new Browser(url, REMOTE);
    stale.jar.set('sushruta-session', before as string);
    expect((await stale.call('GET', '/auth/session')).status).toBe(401);
  });

  it('behind TLS (a trusted proxy saying https) uses __Host- cookies with Secure', async () => {
    const config = loadConfig({ env: {}, flags: { port: 0, tenant: TENANT, trustedProxies: ['loopback'] } });
    const app = await buildApp({ config, service: h.s.service, tenantId: h.s.tenantId, identity: h.s.identity });
    const tlsUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const b = new Browser(tlsUrl, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.78' });
      const r = await b.call('POST', '/auth/login', { username: 'admin', password: 'neem tree by the old well' });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const cookie = b.lastSetCookies.find((c) => c.startsWith('__Host-sushruta-session='));
      expect(cookie).toMatch(/; Secure/i);
      expect(cookie).toMatch(/; HttpOnly/i);
      expect(cookie).toMatch(/; SameSite=Strict/i);
    } finally {
      await app.close();
    }
  });

  it('answers 403 to a state-changing request without the CSRF token, and to cross-site sign-in', async () => {
    const noToken = { 'x-csrf-token': '' };
    const created = await admin.call('POST', '/admin/users', { username: 'x.y', displayName: 'X', roles: ['nurse'] }, noToken);
    expect(created.status).toBe(403);
    expect(JSON.stringify(created.body)).toMatch(/CSRF/);
    expect((await admin.call('POST', '/fhir/Patient', { resourceType: 'Patient' }, { 'x-csrf-token': 'forged' })).status).toBe(403);
    expect((await admin.call('POST', '/auth/logout', undefined, noToken)).status).toBe(403);
    const evil = new Browser(url, { ...REMOTE, origin: 'https://evil.example' });
    expect((await evil.call('POST', '/auth/login', { username: 'admin', password: 'neem tree by the old well' })).status).toBe(403);
    const crossSite = new Browser(url, { ...REMOTE, 'sec-fetch-site': 'cross-site' });
    expect((await crossSite.call('POST', '/auth/login', { username: 'admin', password: 'x' })).status).toBe(403);
    // A form post (not JSON) is refused outright.
    const form = await fetch(`${url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...REMOTE },
      body: 'username=admin&password=x',
    });
    expect(form.status).toBe(415);
  });

  it('lets the administrator create an account, the new user sign in, and records who, role and session', async () => {
    const created = await admin.call('POST', '/admin/users', {
      username: 'dr.pillai',
      displayName: 'Dr Suresh Pillai',
      roles: ['doctor'],
      departments: ['cardiology'],
      practitionerId: 'pr-17',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.initialPassword).toMatch(/^[a-z2-7]{5}(-[a-z2-7]{5}){3}$/);
    const doctor = new Browser(url, REMOTE);
    await firstSignIn(doctor, 'dr.pillai', created.body.initialPassword, 'cardamom hills after rain');
    // Signed in, the doctor reaches the policy: patient look-up is part of a doctor's work.
    const before = h.audit.entries.length;
    const read = await doctor.call('GET', '/fhir/Patient?name=sharma');
    expect(read.status).toBe(200);
    const entry = h.audit.entries.slice(before).find((e) => e.interaction === 'search-type');
    expect(entry).toBeDefined();
    const rec = recordOf(entry as NonNullable<typeof entry>, new Date(), plainSealer);
    const session = (await doctor.call('GET', '/auth/session')).body.session;
    expect(rec.who).toEqual({ kind: 'user', id: created.body.account.id, role: 'doctor', session, client: null });
    expect(rec.outcome.rule).toBe('role:doctor');
    // A doctor may not administer accounts, least of all raise their own role: 403, and on the record.
    expect((await doctor.call('GET', '/admin/users')).status).toBe(403);
    const n = h.audit.entries.length;
    const raise = await doctor.call('POST', `/admin/users/dr.pillai/roles`, { roles: ['doctor', 'hospital-admin'] });
    expect(raise.status).toBe(403);
    const denial = h.audit.entries.slice(n).find((e) => e.interaction === 'admin-users');
    expect(denial).toMatchObject({
      resourceType: 'User',
      id: created.body.account.id,
      query: 'set-roles:doctor,hospital-admin',
      outcome: { status: 403 },
    });
    expect(recordOf(denial as NonNullable<typeof denial>, new Date(), plainSealer).who).toMatchObject({
      kind: 'user',
      id: created.body.account.id,
    });
    // Nor may an administrator change their own roles; they may change the doctor's.
    const m = h.audit.entries.length;
    expect((await admin.call('POST', '/admin/users/admin/roles', { roles: ['hospital-admin', 'doctor'] })).status).toBe(403);
    expect(h.audit.entries.slice(m).find((e) => e.interaction === 'admin-users')?.outcome.rule).toBe('not-on-own-account');
    const changed = await admin.call('POST', '/admin/users/dr.pillai/roles', {
      roles: ['doctor', 'ward-manager'],
      departments: ['cardiology'],
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect((await doctor.call('GET', '/auth/session')).body.account.roles).toEqual(['doctor', 'ward-manager']);
    expect((await doctor.call('GET', '/fhir/metadata')).status).toBe(200);
  });

  it('rejects a disabled account’s session at once, and logout ends the session', async () => {
    const created = await admin.call('POST', '/admin/users', { username: 'fd.gupta', displayName: 'Rekha Gupta', roles: ['front-desk'] });
    const clerk = new Browser(url, REMOTE);
    await firstSignIn(clerk, 'fd.gupta', created.body.initialPassword, 'mustard fields in winter');
    expect((await clerk.call('GET', '/auth/session')).status).toBe(200);
    const off = await admin.call('POST', '/admin/users/fd.gupta/disable');
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect(off.body.status).toBe('disabled');
    expect((await clerk.call('GET', '/fhir/metadata')).status).toBe(401);
    expect((await clerk.call('GET', '/auth/session')).status).toBe(401);
    // The administrator cannot disable themselves.
    expect((await admin.call('POST', '/admin/users/admin/disable')).status).toBe(403);

    const other = new Browser(url, REMOTE);
    let r = await other.call('POST', '/auth/login', { username: 'admin', password: 'neem tree by the old well' });
    h.clock.advance(30_000);
    r = await other.call('POST', '/auth/mfa', { code: totp(base32Decode(adminSecret), now()) });
    expect(r.status).toBe(200);
    const out = await other.call('POST', '/auth/logout');
    expect(out.status, JSON.stringify(out.body)).toBe(200);
    expect(other.jar.has('sushruta-session')).toBe(false);
    expect((await other.call('GET', '/auth/session')).status).toBe(401);
    expect((await admin.call('GET', '/auth/session')).status).toBe(200);
  });

  it('gives anonymous remote callers 401 (but the CapabilityStatement), and the same answer for every failed sign-in', async () => {
    const anon = new Browser(url, REMOTE);
    expect((await anon.call('GET', '/fhir/Patient')).status).toBe(401);
    expect((await anon.call('GET', '/admin/users')).status).toBe(401);
    expect((await anon.call('GET', '/fhir/metadata')).status).toBe(200);
    expect((await anon.call('GET', '/fhir/Patient', undefined, { authorization: 'Bearer x' })).status).toBe(401);
    const unknown = await anon.call('POST', '/auth/login', { username: 'ghost', password: 'whatever whatever' });
    const wrong = await anon.call('POST', '/auth/login', { username: 'admin', password: 'whatever whatever' });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body.issue[0].diagnostics).toBe(wrong.body.issue[0].diagnostics);
    // The local operator (loopback, no proxy headers) is unchanged.
    expect((await fetch(`${url}/fhir/Patient`)).status).toBe(200);
  });
});
