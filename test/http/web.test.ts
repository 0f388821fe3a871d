/**
 * Serving the web app (src/http/web.ts) and the registration route (src/http/registration.ts):
 * files and client routes get the app with a strict CSP and no sign-in; API paths keep their
 * OperationOutcome answers and their authentication whatever the browser asks for.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/http/app.js';
import { WEB_CSP } from '../../src/http/web.js';
import { isValidUhid, UHID_SYSTEM } from '../../src/hospital/ids/uhid.js';
import { openSushruta, type Sushruta } from '../../src/runtime/open.js';
import { MemoryAuditSink } from '../../src/security/audit/memory-sink.js';
import { testDbKinds } from '../support/db.js';

const INDEX = '<!doctype html><title>Sushruta</title><div id="root"></div><script type="module" src="/assets/app-1a2b3c.js"></script>';
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
type Json = any;

const REMOTE = { 'x-forwarded-for': '198.51.100.20' };
const PAGE = { accept: 'text/html,application/xhtml+xml' };

describe('the web app and the registration route over HTTP', () => {
  let dir: string;
  let s: Sushruta;
  let app: FastifyInstance;
  let bare: FastifyInstance;
  let url: string;
  let bareUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sushruta-web-'));
    const web = join(dir, 'web');
    mkdirSync(join(web, 'assets'), { recursive: true });
    writeFileSync(join(web, 'index.html'), INDEX);
    writeFileSync(join(web, 'assets', 'app-1a2b3c.js'), 'console.log("app")');
    const config = loadConfig({
      env: {},
      flags: { port: 0, tenant: 'web-hospital', keyFile: join(dir, 'keys', 'master.kek'), uhidPrefix: 'WEB' },
    });
    const pglite = testDbKinds()[0];
    if (!pglite) throw new Error('no PGlite test database');
    s = await openSushruta(config, { db: await pglite.open(), audit: new MemoryAuditSink() });
    app = await buildApp({ config, service: s.service, tenantId: s.tenantId, identity: s.identity, webRoot: web });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    bare = await buildApp({ config, service: s.service, tenantId: s.tenantId, identity: s.identity, webRoot: join(dir, 'not-built') });
    bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await bare?.close();
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the app at / and at its own routes to anyone, with a CSP that allows no inline script', async () => {
    for (const path of ['/', '/register', '/register/new', '/patients/abc/conditions']) {
      const res = await fetch(`${url}${path}`, { headers: { ...PAGE, ...REMOTE } });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toBe(INDEX);
      expect(res.headers.get('content-security-policy')).toBe(WEB_CSP);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
    expect(WEB_CSP).toMatch(/script-src 'self'(;|$)/);
    expect(WEB_CSP).not.toMatch(/unsafe-inline|unsafe-eval/);
  });

  it('serves hashed assets as immutable, and a missing file as 404, not as the app', async () => {
    const js = await fetch(`${url}/assets/app-1a2b3c.js`, { headers: REMOTE });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const missing = await fetch(`${url}/assets/gone-000000.js`, { headers: { ...PAGE, ...REMOTE } });
    expect(missing.status).toBe(404);
    expect(await missing.text()).not.toContain('<div id="root">');
  });

  it('keeps API paths API: OperationOutcomes and authentication, never the app', async () => {
    for (const path of ['/admin/nothing-here', '/auth/nothing-here', '/hospital/nothing-here', '/oauth2/nothing-here']) {
      const res = await fetch(`${url}${path}`, { headers: PAGE });
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as Json).resourceType).toBe('OperationOutcome');
    }
    const anonymous = await fetch(`${url}/fhir/Patient`, { headers: { ...PAGE, ...REMOTE } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
    const register = await fetch(`${url}/hospital/registration`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', ...REMOTE },
      body: JSON.stringify({ resourceType: 'Patient' }),
    });
    expect(register.status).toBe(401);
  });

  it('registers a patient at POST /hospital/registration with a UHID of the configured prefix, and says where it is', async () => {
    const res = await fetch(`${url}/hospital/registration`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Patient',
        name: [{ text: 'Ira Bose', given: ['Ira'], family: 'Bose' }],
        gender: 'female',
        birthDate: '1988-11-02',
      }),
    });
    const body = (await res.json()) as Json;
    expect(res.status, JSON.stringify(body)).toBe(201);
    const uhid = body.identifier.find((i: { system: string }) => i.system === UHID_SYSTEM).value as string;
    expect(uhid).toMatch(/^WEB-\d{4}-000001-\d$/);
    expect(isValidUhid(uhid)).toBe(true);
    expect(res.headers.get('location')).toMatch(new RegExp(`/fhir/Patient/${body.id}/_history/1$`));
    const bad = await fetch(`${url}/hospital/registration`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', gender: 'female' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).issue[0].expression).toEqual(['Patient.birthDate']);
  });

  it('without a built app, / is a plain page and client routes are 404s', async () => {
    const root = await fetch(`${bareUrl}/`, { headers: PAGE });
    expect(root.status).toBe(200);
    expect(await root.text()).toContain('FHIR R4 server');
    expect((await fetch(`${bareUrl}/register`, { headers: PAGE })).status).toBe(404);
  });
});
