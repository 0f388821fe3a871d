/**
 * OAuth 2.0 client credentials for integrations on both databases, over HTTP: a client created
 * by the administrator gets short-lived Ed25519-signed access tokens at the token endpoint named
 * by SMART discovery; a tampered, expired or revoked token gets 401; wrong secrets are generic and
 * throttled; audit records name the client and the token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/http/app.js';
import { plainSealer, recordOf } from '../../src/security/audit/record.js';
import { testDbKinds } from '../support/db.js';
import { type IdentityHarness, openIdentity, TENANT } from './helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
type Json = any;
const REMOTE = { 'x-forwarded-for': '198.51.100.200' };

describe.each(testDbKinds())('OAuth 2.0 client credentials on $name', (kind) => {
  let h: IdentityHarness;
  let url: string;
  let close: () => Promise<void>;
  let clientId: string;
  let clientSecret: string;

  beforeAll(async () => {
    h = await openIdentity(kind, {
      throttle: {
        address: { threshold: 50, windowMs: 900_000, baseMs: 1000, capMs: 900_000 },
        account: { threshold: 4, windowMs: 3_600_000, baseMs: 1000, capMs: 900_000 },
      },
    });
    const config = loadConfig({ env: {}, flags: { port: 0, tenant: TENANT } });
    const app = await buildApp({ config, service: h.s.service, tenantId: h.s.tenantId, identity: h.s.identity, clients: h.s.clients });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    close = async () => {
      await app.close();
      await h.close();
    };
  });
  afterAll(async () => {
    await close?.();
  });

  const token = (body: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...REMOTE, ...headers },
      body: new URLSearchParams(body).toString(),
    });
  const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });
  const fhir = (path: string, bearer: string) =>
    fetch(`${url}/fhir/${path}`, { headers: { authorization: `Bearer ${bearer}`, ...REMOTE } });

  it('creates a client with its secret shown once (only a hash stored), and advertises the token endpoint', async () => {
    const res = await fetch(`${url}/admin/clients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'lab analyser bridge', scopes: ['system/Observation.cruds', 'system/Patient.rs'] }),
    });
    expect(res.status).toBe(201);
    const out = (await res.json()) as Json;
    clientId = out.clientId;
    clientSecret = out.clientSecret;
    expect(clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const bad = await fetch(`${url}/admin/clients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', scopes: ['everything'] }),
    });
    expect(bad.status).toBe(400);
    const dump = await h.s.db.query<{ t: string }>('SELECT row_to_json(c)::text AS t FROM oauth_client c');
    expect(dump.rows.map((r) => r.t).join()).not.toContain(clientSecret);
    const conf = (await (await fetch(`${url}/fhir/.well-known/smart-configuration`, { headers: REMOTE })).json()) as Json;
    expect(conf.token_endpoint).toBe(`${url}/oauth2/token`);
    expect(conf.grant_types_supported).toContain('client_credentials');
    expect(conf.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post']);
  });

  it('issues a short-lived bearer token that authenticates the client; audit names client and token', async () => {
    const res = await token({ grant_type: 'client_credentials' }, basic(clientId, clientSecret));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const t = (await res.json()) as Json;
    expect(t).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'system/Observation.cruds system/Patient.rs' });
    const [header] = (t.access_token as string).split('.');
    expect(JSON.parse(Buffer.from(header as string, 'base64url').toString())).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    expect((await fhir('metadata', t.access_token)).status).toBe(200);
    const before = h.audit.entries.length;
    // The client's SMART scopes decide: Patient.rs allows the search, nothing allows Encounter.
    const read = await fhir('Patient', t.access_token);
    expect(read.status).toBe(200);
    const outside = await fhir('Encounter', t.access_token);
    expect(outside.status).toBe(403);
    expect(JSON.stringify(await outside.json())).toMatch(/rule 'client-scope'/);
    const entry = h.audit.entries.slice(before).find((e) => e.interaction === 'search-type');
    const rec = recordOf(entry as NonNullable<typeof entry>, new Date(), plainSealer);
    expect(rec.who).toMatchObject({ kind: 'client', id: clientId, role: 'integration', client: clientId });
    expect(rec.who.session).toMatch(/^[0-9a-f-]{36}$/);
    // client_secret_post and a narrower scope work too.
    const post = await token({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      scope: 'system/Patient.rs',
    });
    expect(((await post.json()) as Json).scope).toBe('system/Patient.rs');
    const wider = await token({ grant_type: 'client_credentials', scope: 'system/Patient.cruds' }, basic(clientId, clientSecret));
    expect(wider.status).toBe(400);
    expect(((await wider.json()) as Json).error).toBe('invalid_scope');
    expect((await token({ grant_type: 'password' }, basic(clientId, clientSecret))).status).toBe(400);
  });

  it('answers 401 to a tampered, expired or revoked token', async () => {
    const t = ((await (await token({ grant_type: 'client_credentials' }, basic(clientId, clientSecret))).json()) as Json)
      .access_token as string;
    const [hd, payload, sig] = t.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const raised = Buffer.from(JSON.stringify({ ...claims, scope: 'system/*.cruds' })).toString('base64url');
    const forged = await fhir('metadata', `${hd}.${raised}.${sig}`);
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toMatch(/invalid_token/);
    const c = sig.at(-10) as string;
    const flipped = `${hd}.${payload}.${sig.slice(0, -10)}${c === 'A' ? 'B' : 'A'}${sig.slice(-9)}`;
    expect((await fhir('metadata', flipped)).status).toBe(401);
    expect((await fhir('metadata', t)).status).toBe(200);
    h.clock.advance(301_000);
    expect((await fhir('metadata', t)).status).toBe(401);
    const fresh = ((await (await token({ grant_type: 'client_credentials' }, basic(clientId, clientSecret))).json()) as Json)
      .access_token as string;
    expect((await fhir('metadata', fresh)).status).toBe(200);
    const off = await fetch(`${url}/admin/clients/${clientId}/disable`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(off.status).toBe(200);
    expect((await fhir('metadata', fresh)).status).toBe(401);
    expect((await token({ grant_type: 'client_credentials' }, basic(clientId, clientSecret))).status).toBe(401);
    await fetch(`${url}/admin/clients/${clientId}/enable`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  });

  it('gives one answer to an unknown client and a wrong secret, and throttles guessing', async () => {
    const unknown = await token({ grant_type: 'client_credentials' }, basic('c-nobody', 'x'));
    const wrong = await token({ grant_type: 'client_credentials' }, basic(clientId, 'not the secret'));
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(await unknown.json()).toEqual(await wrong.json());
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/);
    let last = 0;
    for (let i = 0; i < 4; i++) last = (await token({ grant_type: 'client_credentials' }, basic(clientId, `guess ${i}`))).status;
    expect(last).toBe(429);
    // Even the right secret waits out the block.
    expect((await token({ grant_type: 'client_credentials' }, basic(clientId, clientSecret))).status).toBe(429);
    expect(h.audit.entries.filter((e) => e.interaction === 'auth-token').map((e) => e.outcome.rule)).toEqual(
      expect.arrayContaining(['token-issued', 'unknown-client', 'bad-secret', 'invalid-scope', 'client-disabled', 'throttle-account']),
    );
  });
});
