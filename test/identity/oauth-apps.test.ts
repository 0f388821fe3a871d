/**
 * Apps acting for staff over HTTP, on both databases: SMART standalone launch with the
 * authorization code grant and PKCE (S256), a signed-in (TOTP) member of staff approving on the
 * consent page, rotating refresh tokens, RFC 7009 revocation, and the attacks each part exists
 * for: an intercepted code without the verifier, a code replayed, a refresh token stolen and used
 * after the app rotated it (the whole family dies, audited as a security event), a tampered or
 * expired token, a redirect URI the app never registered, a disabled account.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import type { RequestContext } from '../../src/fhir/context.js';
import { buildApp } from '../../src/http/app.js';
import { plainSealer, recordOf } from '../../src/security/audit/record.js';
import { base32Decode, totp } from '../../src/security/identity/totp.js';
import { testDbKinds } from '../support/db.js';
import { Browser, type Json } from '../support/browser.js';
import { type IdentityHarness, OPERATOR, openIdentity, TENANT } from './helpers.js';

const REMOTE = { 'x-forwarded-for': '198.51.100.90' };
const APP_CB = 'https://rounds.hospital.example/callback';
const CONF_CB = 'https://billing-portal.hospital.example/oauth/cb';

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

describe.each(testDbKinds())('SMART apps (authorization code + PKCE, refresh tokens) on $name', (kind) => {
  let h: IdentityHarness;
  let url: string;
  let fhirBase: string;
  let close: () => Promise<void>;
  let publicApp: string;
  let confApp: string;
  let confSecret: string;
  let integration: string;
  let integrationSecret: string;
  const now = () => h.clock.now / 1000;
  const op = (): RequestContext => ({ ...h.ctx('127.0.0.1'), actor: OPERATOR });

  beforeAll(async () => {
    h = await openIdentity(kind);
    const config = loadConfig({ env: {}, flags: { port: 0, tenant: TENANT } });
    const app = await buildApp({
      config,
      service: h.s.service,
      tenantId: h.s.tenantId,
      identity: h.s.identity,
      clients: h.s.clients,
      grants: h.s.grants,
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    fhirBase = `${url}/fhir`;
    close = async () => {
      await app.close();
      await h.close();
    };
    publicApp = (
      await h.s.clients.create(op(), {
        name: 'Ward rounds',
        scopes: ['user/Patient.rs', 'user/Observation.rs', 'offline_access'],
        redirectUris: [APP_CB, 'in.hospital.rounds:/oauth'],
        public: true,
      })
    ).client.clientId;
    const conf = await h.s.clients.create(op(), {
      name: 'Billing portal',
      scopes: ['user/*.rs', 'online_access'],
      redirectUris: [CONF_CB],
    });
    confApp = conf.client.clientId;
    confSecret = conf.clientSecret as string;
    const integ = await h.s.clients.create(op(), { name: 'lab bridge', scopes: ['system/Observation.cruds'] });
    integration = integ.client.clientId;
    integrationSecret = integ.clientSecret as string;
  });
  afterAll(async () => {
    await close?.();
  });

  /** A member of staff, signed in with password and TOTP in a browser. */
  async function staff(username: string, roles: string[]): Promise<{ browser: Browser; id: string; secret: string }> {
    const { account, initialPassword } = await h.s.identity.createAccount(op(), { username, displayName: `Staff ${username}`, roles });
    const b = new Browser(url, REMOTE);
    await b.call('POST', '/auth/login', { username, password: initialPassword });
    await b.call('POST', '/auth/password', { newPassword: `${username} crosses the godavari at dawn` });
    const { secret } = (await b.call('POST', '/auth/totp/begin')).body as { secret: string };
    h.clock.advance(30_000);
    const done = await b.call('POST', '/auth/totp/confirm', { code: totp(base32Decode(secret), now()) });
    expect(done.body.stage, JSON.stringify(done.body)).toBe('active');
    return { browser: b, id: account.id, secret };
  }

  function authorizeQuery(over: Record<string, string | null> = {}, challenge = pkce().challenge): string {
    const p: Record<string, string | null> = {
      response_type: 'code',
      client_id: publicApp,
      redirect_uri: APP_CB,
      scope: 'user/Patient.rs offline_access',
      state: 'st-1234567890',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      aud: fhirBase,
      ...over,
    };
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(p)) if (v !== null) q.set(k, v);
    return `/oauth2/authorize?${q}`;
  }

  /** The consent page's hidden fields, as the browser would submit them. */
  function consentForm(html: string, decision: 'approve' | 'deny'): URLSearchParams {
    const form = new URLSearchParams();
    for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
      form.set(
        m[1] as string,
        (m[2] as string).replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))),
      );
    }
    form.set('decision', decision);
    return form;
  }

  /** The whole front channel: authorize, consent, redirect back; returns the code. */
  async function approve(b: Browser, over: Record<string, string | null> = {}, challenge?: string): Promise<string> {
    const shown = await b.call('GET', authorizeQuery(over, challenge));
    expect(shown.status, String(shown.body)).toBe(200);
    const back = await b.call('POST', '/oauth2/authorize', consentForm(shown.body as string, 'approve'), { origin: url });
    expect(back.status).toBe(303);
    const loc = new URL(back.res.headers.get('location') as string);
    expect(loc.searchParams.get('state')).toBe(over.state ?? 'st-1234567890');
    expect(loc.searchParams.get('iss')).toBe(h.s.clients.issuer);
    return loc.searchParams.get('code') as string;
  }

  const token = async (body: Record<string, string>, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...REMOTE, ...headers },
      body: new URLSearchParams(body).toString(),
    });
    return { status: res.status, body: (await res.json()) as Json, res };
  };
  const exchange = (code: string, verifier: string, extra: Record<string, string> = {}) =>
    token({ grant_type: 'authorization_code', code, redirect_uri: APP_CB, code_verifier: verifier, client_id: publicApp, ...extra });
  const refresh = (rt: string, client = publicApp, extra: Record<string, string> = {}) =>
    token({ grant_type: 'refresh_token', refresh_token: rt, client_id: client, ...extra });
  const fhir = async (path: string, bearer: string) =>
    (await fetch(`${url}/fhir/${path}`, { headers: { authorization: `Bearer ${bearer}`, ...REMOTE } })).status;
  const revoke = (t: string, client = publicApp, extra: Record<string, string> = {}) =>
    fetch(`${url}/oauth2/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...REMOTE },
      body: new URLSearchParams({ token: t, client_id: client, ...extra }).toString(),
    });
  const rules = () => h.audit.entries.filter((e) => e.interaction === 'auth-token').map((e) => e.outcome.rule);

  let doctor: { browser: Browser; id: string; secret: string };

  it('advertises the authorization, token and revocation endpoints and what they support (SMART discovery)', async () => {
    const conf = (await (await fetch(`${url}/fhir/.well-known/smart-configuration`, { headers: REMOTE })).json()) as Json;
    expect(conf).toMatchObject({
      authorization_endpoint: `${url}/oauth2/authorize`,
      token_endpoint: `${url}/oauth2/token`,
      revocation_endpoint: `${url}/oauth2/revoke`,
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
    });
    expect(conf.grant_types_supported).toEqual(['authorization_code', 'refresh_token', 'client_credentials']);
    expect(conf.token_endpoint_auth_methods_supported).toContain('none');
    expect(conf.capabilities).toEqual(
      expect.arrayContaining([
        'launch-standalone',
        'client-public',
        'client-confidential-symmetric',
        'permission-v2',
        'permission-offline',
      ]),
    );
    expect(conf.capabilities).not.toContain('context-standalone-patient');
    expect(conf.capabilities).not.toContain('launch-ehr');
  });

  it('asks a browser without a session to sign in first, as a page or JSON', async () => {
    const anon = new Browser(url, REMOTE);
    const page = await anon.call('GET', authorizeQuery());
    expect(page.status).toBe(401);
    expect(page.res.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.body).toMatch(/Sign in to Sushruta first/);
    expect(page.body).toMatch(/Ward rounds/);
    expect(page.body).toMatch(/<a href="\/oauth2\/authorize\?/);
    const json = await anon.call('GET', authorizeQuery(), undefined, { accept: 'application/json' });
    expect(json.status).toBe(401);
    expect(json.body).toMatchObject({ error: 'login_required', sign_in: '/auth/login' });
  });

  it('runs the full PKCE flow: consent, code, tokens that authenticate as the member of staff with the granted scopes', async () => {
    doctor = await staff('dr.kulkarni', ['doctor']);
    const { verifier, challenge } = pkce();
    const shown = await doctor.browser.call(
      'GET',
      authorizeQuery({ scope: 'user/Patient.rs user/Encounter.rs openid offline_access' }, challenge),
    );
    expect(shown.status).toBe(200);
    expect(shown.body).toMatch(/Allow Ward rounds\?/);
    expect(shown.body).toMatch(/Staff dr\.kulkarni/);
    expect(shown.body).toMatch(/it is not registered for, which it will not get: <code>user\/Encounter.rs openid<\/code>/);
    const csp = shown.res.headers.get('content-security-policy') as string;
    expect(csp).toMatch(/form-action 'self' https:\/\/rounds\.hospital\.example/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    const back = await doctor.browser.call('POST', '/oauth2/authorize', consentForm(shown.body, 'approve'), { origin: url });
    expect(back.status).toBe(303);
    const loc = new URL(back.res.headers.get('location') as string);
    expect(`${loc.origin}${loc.pathname}`).toBe(APP_CB);
    const code = loc.searchParams.get('code') as string;
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const t = await exchange(code, verifier);
    expect(t.status, JSON.stringify(t.body)).toBe(200);
    expect(t.res.headers.get('cache-control')).toBe('no-store');
    expect(t.body).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'user/Patient.rs offline_access' });
    expect(t.body.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const claims = JSON.parse(Buffer.from((t.body.access_token as string).split('.')[1] as string, 'base64url').toString());
    expect(claims).toMatchObject({ sub: doctor.id, client_id: publicApp, scope: 'user/Patient.rs offline_access' });
    expect(claims.grant_id).toMatch(/^g-/);

    // The token is the doctor (UserActor with the scopes), through the same policy and audit as a session.
    expect(await h.s.grants.bearer(t.body.access_token)).toMatchObject({
      kind: 'user',
      id: doctor.id,
      username: 'dr.kulkarni',
      roles: ['doctor'],
      sessionId: claims.grant_id,
      scopes: ['user/Patient.rs', 'offline_access'],
    });
    expect(await fhir('metadata', t.body.access_token)).toBe(200);
    const before = h.audit.entries.length;
    // The policy allows what both the doctor's role and the token's scopes allow: Patient, not Encounter.
    expect(await fhir('Patient', t.body.access_token)).toBe(200);
    const entry = h.audit.entries.slice(before).find((e) => e.interaction === 'search-type');
    expect(await fhir('Encounter', t.body.access_token)).toBe(403);
    expect(h.audit.entries.at(-1)?.outcome.rule).toBe('token-scope');
    expect(recordOf(entry as NonNullable<typeof entry>, new Date(), plainSealer).who).toMatchObject({
      kind: 'user',
      id: doctor.id,
      session: claims.grant_id,
    });
    // An app's token opens the FHIR API only, never administration.
    const admin = await fetch(`${url}/admin/users`, { headers: { authorization: `Bearer ${t.body.access_token}`, ...REMOTE } });
    expect(admin.status).toBe(403);
    // Only hashes of the code and refresh token rest in the database.
    const dump = await h.s.db.query<{ t: string }>(
      "SELECT (SELECT string_agg(row_to_json(g)::text, '') FROM oauth_grant g) || (SELECT string_agg(row_to_json(r)::text, '') FROM oauth_refresh r) AS t",
    );
    expect(dump.rows[0]?.t).not.toContain(code);
    expect(dump.rows[0]?.t).not.toContain(t.body.refresh_token);
    expect(rules()).toEqual(expect.arrayContaining(['authorize-approved', 'token-issued']));
  });

  it('refuses a code with the wrong verifier (invalid_grant), and the code is spent', async () => {
    const { verifier, challenge } = pkce();
    const code = await approve(doctor.browser, {}, challenge);
    const wrong = await exchange(code, pkce().verifier);
    expect(wrong.status).toBe(400);
    expect(wrong.body).toEqual({
      error: 'invalid_grant',
      error_description: 'code_verifier does not match the code_challenge of the authorization request (PKCE S256)',
    });
    expect((await exchange(code, verifier)).body.error).toBe('invalid_grant');
    // No verifier at all, or a malformed one: invalid_request naming it.
    const code2 = await approve(doctor.browser);
    const none = await token({ grant_type: 'authorization_code', code: code2, redirect_uri: APP_CB, client_id: publicApp });
    expect(none.body).toMatchObject({ error: 'invalid_request', error_description: expect.stringMatching(/code_verifier is required/) });
    expect(rules()).toContain('pkce-failed');
  });

  it('revokes every token issued from a code that is presented twice', async () => {
    const { verifier, challenge } = pkce();
    const code = await approve(doctor.browser, {}, challenge);
    const first = await exchange(code, verifier);
    expect(first.status).toBe(200);
    expect(await fhir('metadata', first.body.access_token)).toBe(200);
    const again = await exchange(code, verifier);
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
    expect(again.body.error_description).toMatch(/already used; every token issued from it is now revoked/);
    expect(await fhir('metadata', first.body.access_token)).toBe(401);
    expect((await refresh(first.body.refresh_token)).body.error).toBe('invalid_grant');
    expect(rules()).toContain('code-reuse');
  });

  it('rotates refresh tokens; a rotated one used again revokes the whole family, newest tokens included, and is audited', async () => {
    const { verifier, challenge } = pkce();
    const first = await exchange(await approve(doctor.browser, {}, challenge), verifier);
    const r1 = first.body.refresh_token as string;
    const second = await refresh(r1);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    const r2 = second.body.refresh_token as string;
    expect(r2).not.toBe(r1);
    expect(second.body.access_token).not.toBe(first.body.access_token);
    const third = await refresh(r2, publicApp, { scope: 'user/Patient.r' });
    expect(third.status).toBe(200);
    expect(third.body.scope).toBe('user/Patient.r'); // narrowed
    const wider = await refresh(third.body.refresh_token, publicApp, { scope: 'user/Observation.rs' });
    expect(wider.body).toMatchObject({ error: 'invalid_scope', error_description: expect.stringMatching(/user\/Observation.rs/) });
    const r3 = third.body.refresh_token as string; // still unspent: the refusal spent nothing
    const access3 = third.body.access_token as string;
    expect(await fhir('metadata', access3)).toBe(200);

    // A thief replays r1, which the app already rotated away.
    const n = h.audit.entries.length;
    const stolen = await refresh(r1);
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe('invalid_grant');
    expect(stolen.body.error_description).toMatch(/already used once.*whole grant.*revoked/);
    // Everything of the family stops: the newest refresh token and the newest access token.
    expect((await refresh(r3)).body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/revoked/) });
    expect(await fhir('metadata', access3)).toBe(401);
    expect(await fhir('metadata', second.body.access_token)).toBe(401);
    const event = h.audit.entries.slice(n).find((e) => e.outcome.rule === 'refresh-token-reuse');
    expect(event).toMatchObject({ interaction: 'auth-token', resourceType: 'Client', id: publicApp, outcome: { status: 400 } });
    expect(event?.query).toMatch(/grant=g-.*&generation=1&family=revoked-now/);
    expect(recordOf(event as NonNullable<typeof event>, new Date(), plainSealer).who).toMatchObject({ kind: 'user', id: doctor.id });
  });

  it('answers 401 to a tampered or expired access token; the refresh token outlives the access token', async () => {
    const { verifier, challenge } = pkce();
    const t = await exchange(await approve(doctor.browser, {}, challenge), verifier);
    const [hd, payload, sig] = (t.body.access_token as string).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const raised = Buffer.from(JSON.stringify({ ...claims, scope: 'user/*.cruds' })).toString('base64url');
    expect(await fhir('metadata', `${hd}.${raised}.${sig}`)).toBe(401);
    const other = Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url');
    expect(await fhir('metadata', `${hd}.${other}.${sig}`)).toBe(401);
    const flipped = `${hd}.${payload}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    const res = await fetch(`${url}/fhir/metadata`, { headers: { authorization: `Bearer ${flipped}`, ...REMOTE } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/invalid_token/);
    expect(await fhir('metadata', t.body.access_token)).toBe(200);
    h.clock.advance(301_000);
    expect(await fhir('metadata', t.body.access_token)).toBe(401);
    const renewed = await refresh(t.body.refresh_token);
    expect(renewed.status).toBe(200);
    expect(await fhir('metadata', renewed.body.access_token)).toBe(200);
  });

  it('never redirects to an unknown redirect_uri or for an unknown client; other errors go back to the app with state', async () => {
    const b = doctor.browser;
    const evil = await b.call('GET', authorizeQuery({ redirect_uri: 'https://evil.example/steal' }));
    expect(evil.status).toBe(400);
    expect(evil.res.headers.get('location')).toBeNull();
    expect(evil.body).toMatch(/is not registered for this app/);
    const near = await b.call('GET', authorizeQuery({ redirect_uri: `${APP_CB}/` }), undefined, { accept: 'application/json' });
    expect(near.status).toBe(400);
    expect(near.res.headers.get('location')).toBeNull();
    expect(near.body.error).toBe('invalid_request');
    const ghost = await b.call('GET', authorizeQuery({ client_id: 'c-ghost' }));
    expect(ghost.status).toBe(400);
    expect(ghost.res.headers.get('location')).toBeNull();
    const viaIntegration = await b.call('GET', authorizeQuery({ client_id: integration }));
    expect(viaIntegration.status).toBe(400);
    expect(viaIntegration.res.headers.get('location')).toBeNull();
    // The same redirect_uri check on the consent form's POST.
    const shown = await b.call('GET', authorizeQuery());
    const tampered = consentForm(shown.body, 'approve');
    tampered.set('redirect_uri', 'https://evil.example/steal');
    const posted = await b.call('POST', '/oauth2/authorize', tampered, { origin: url });
    expect(posted.status).toBe(400);
    expect(posted.res.headers.get('location')).toBeNull();

    const errorOf = async (over: Record<string, string | null>) => {
      const r = await b.call('GET', authorizeQuery(over));
      expect(r.status).toBe(302);
      const loc = new URL(r.res.headers.get('location') as string);
      expect(`${loc.origin}${loc.pathname}`).toBe(APP_CB);
      return Object.fromEntries(loc.searchParams);
    };
    expect(await errorOf({ code_challenge_method: 'plain' })).toMatchObject({
      error: 'invalid_request',
      error_description: "code_challenge_method 'plain' is not accepted; use S256",
      state: 'st-1234567890',
    });
    expect((await errorOf({ code_challenge: null })).error_description).toMatch(/PKCE/);
    expect(await errorOf({ response_type: 'token' })).toMatchObject({ error: 'unsupported_response_type' });
    expect((await errorOf({ aud: 'https://other-ehr.example/fhir' })).error_description).toMatch(/not this server's FHIR base URL/);
    expect(await errorOf({ scope: 'system/*.rs' })).toMatchObject({ error: 'invalid_scope' });
    expect(await errorOf({ scope: 'user/Encounter.rs' })).toMatchObject({ error: 'invalid_scope' });
    const noState = await errorOf({ state: null });
    expect(noState.error_description).toMatch(/state is required/);
    expect(noState.state).toBeUndefined();
    expect(rules()).toEqual(
      expect.arrayContaining(['authorize-bad-redirect-uri', 'authorize-unknown-client', 'authorize-pkce', 'authorize-bad-aud']),
    );
  });

  it('takes the consent form only with the session CSRF token and from this site; Deny sends access_denied', async () => {
    const b = doctor.browser;
    const shown = await b.call('GET', authorizeQuery());
    const form = consentForm(shown.body, 'approve');
    const noCsrf = new URLSearchParams(form);
    noCsrf.delete('csrf_token');
    expect((await b.call('POST', '/oauth2/authorize', noCsrf, { origin: url })).status).toBe(403);
    expect((await b.call('POST', '/oauth2/authorize', form, { origin: 'https://evil.example' })).status).toBe(403);
    const anon = new Browser(url, REMOTE);
    expect((await anon.call('POST', '/oauth2/authorize', form)).status).toBe(401);
    const denied = await b.call('POST', '/oauth2/authorize', consentForm(shown.body, 'deny'), { origin: url });
    expect(denied.status).toBe(303);
    const loc = new URL(denied.res.headers.get('location') as string);
    expect(loc.searchParams.get('error')).toBe('access_denied');
    expect(loc.searchParams.get('state')).toBe('st-1234567890');
    expect(rules()).toContain('authorize-denied');
  });

  it('makes a confidential app authenticate, keeps integrations and apps to their own grants', async () => {
    const { verifier, challenge } = pkce();
    const code = await approve(
      doctor.browser,
      { client_id: confApp, redirect_uri: CONF_CB, scope: 'user/Patient.rs online_access' },
      challenge,
    );
    const body = { grant_type: 'authorization_code', code, redirect_uri: CONF_CB, code_verifier: verifier };
    const noSecret = await token({ ...body, client_id: confApp });
    expect(noSecret.status).toBe(401);
    expect(noSecret.body).toMatchObject({ error: 'invalid_client', error_description: expect.stringMatching(/confidential/) });
    const basic = { authorization: `Basic ${Buffer.from(`${confApp}:${confSecret}`).toString('base64')}` };
    const ok = await token(body, basic);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.scope).toBe('user/Patient.rs online_access');
    const rotated = await token({ grant_type: 'refresh_token', refresh_token: ok.body.refresh_token }, basic);
    expect(rotated.status).toBe(200);
    // Another client cannot use this app's refresh token.
    expect((await refresh(rotated.body.refresh_token)).body).toMatchObject({ error: 'invalid_grant' });
    // The apps cannot use client credentials, nor the integration the code grant.
    expect((await token({ grant_type: 'client_credentials' }, basic)).body.error).toBe('unauthorized_client');
    const integ = { authorization: `Basic ${Buffer.from(`${integration}:${integrationSecret}`).toString('base64')}` };
    expect((await token({ ...body, code: 'x' }, integ)).body.error).toBe('unauthorized_client');
    expect((await token({ grant_type: 'implicit' }, integ)).body.error).toBe('unsupported_grant_type');
    // online_access: when the session that approved it ends, so do its refresh tokens.
    expect((await doctor.browser.call('POST', '/auth/logout')).status).toBe(200);
    const after = await token({ grant_type: 'refresh_token', refresh_token: rotated.body.refresh_token }, basic);
    expect(after.body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/online_access/) });
    expect(await fhir('metadata', rotated.body.access_token)).toBe(401);
  });

  it('revokes through RFC 7009: a refresh token ends its grant, an access token itself, an unknown token is no error', async () => {
    const b = (await staff('nurse.thomas', ['nurse'])).browser;
    const issue = async () => {
      const { verifier, challenge } = pkce();
      return (await exchange(await approve(b, {}, challenge), verifier)).body;
    };
    const a = await issue();
    expect((await revoke(a.access_token)).status).toBe(200);
    expect(await fhir('metadata', a.access_token)).toBe(401);
    const renewed = await refresh(a.refresh_token);
    expect(renewed.status).toBe(200);
    expect(await fhir('metadata', renewed.body.access_token)).toBe(200);
    expect((await revoke(renewed.body.refresh_token, publicApp, { token_type_hint: 'refresh_token' })).status).toBe(200);
    expect((await refresh(renewed.body.refresh_token)).body.error).toBe('invalid_grant');
    expect(await fhir('metadata', renewed.body.access_token)).toBe(401);
    expect((await revoke('not-a-token')).status).toBe(200);
    const c = await issue();
    const foreign = await revoke(c.refresh_token, confApp, { client_secret: confSecret });
    expect(foreign.status).toBe(400);
    expect(((await foreign.json()) as Json).error).toBe('unauthorized_client');
    expect((await fetch(`${url}/oauth2/revoke`, { method: 'POST', headers: REMOTE, body: 'token=x' })).status).toBe(400);
    expect(rules()).toEqual(expect.arrayContaining(['token-revoked', 'revoke-unknown-token', 'revoke-wrong-client']));
  });

  it('ends an account’s refresh and access tokens when it is disabled, its sessions are revoked, or it logs out everywhere', async () => {
    const nurse = await staff('nurse.bose', ['nurse']);
    const issue = async (b: Browser) => {
      const { verifier, challenge } = pkce();
      return (await exchange(await approve(b, {}, challenge), verifier)).body;
    };
    const t1 = await issue(nurse.browser);
    expect(await fhir('metadata', t1.access_token)).toBe(200);
    await h.s.identity.setStatus(op(), 'nurse.bose', 'disabled');
    const refused = await refresh(t1.refresh_token);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/account disabled/) });
    expect(await fhir('metadata', t1.access_token)).toBe(401);
    await h.s.identity.setStatus(op(), 'nurse.bose', 'active'); // re-enabling revives no grant
    expect((await refresh(t1.refresh_token)).status).toBe(400);

    const ward = await staff('ward.iqbal', ['ward-manager']);
    const t2 = await issue(ward.browser);
    expect(await h.s.identity.revokeSessions(op(), 'ward.iqbal')).toMatchObject({ revoked: 1, appGrants: 1 });
    expect((await refresh(t2.refresh_token)).body.error).toBe('invalid_grant');
    expect(await fhir('metadata', t2.access_token)).toBe(401);

    const clerk = await staff('fd.menon', ['front-desk']);
    const t3 = await issue(clerk.browser);
    const out = await clerk.browser.call('POST', '/auth/logout-everywhere');
    expect(out.body).toMatchObject({ revoked: 1, appGrants: 1 });
    expect((await refresh(t3.refresh_token)).body.error).toBe('invalid_grant');
    expect(await fhir('metadata', t3.access_token)).toBe(401);
  });

  it('refuses a code past its 60 seconds, and a code redeemed at another redirect URI', async () => {
    const { verifier, challenge } = pkce();
    const nurse = await staff('nurse.rao', ['nurse']);
    const code = await approve(nurse.browser, {}, challenge);
    h.clock.advance(61_000);
    expect((await exchange(code, verifier)).body).toMatchObject({
      error: 'invalid_grant',
      error_description: expect.stringMatching(/expired/),
    });
    const p = pkce();
    const code2 = await approve(nurse.browser, {}, p.challenge);
    const moved = await exchange(code2, p.verifier, { redirect_uri: 'in.hospital.rounds:/oauth' });
    expect(moved.body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/redirect_uri/) });
  });
});
