/**
 * TLS (issue 5, item 7): beyond loopback only with a certificate; HTTPS with HSTS and the
 * security headers; `__Host-` Secure session cookies; no operator path on the public listener
 * (even from loopback), which the operator and the CLI reach through a loopback-only listener.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { lockHolder } from '../../src/runtime/lock.js';
import { type RunningServer, startServer } from '../../src/runtime/server.js';

const root = mkdtempSync(join(tmpdir(), 'sushruta-tls-'));
const cert = join(root, 'cert.pem');
const key = join(root, 'key.pem');

function get(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    if (init.body) req.write(init.body);
    req.end();
  });
}

describe('TLS', () => {
  let server: RunningServer;

  beforeAll(async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        '/CN=ehospital.test',
        '-addext',
        'subjectAltName=DNS:ehospital.test,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const config = loadConfig({
      env: {},
      flags: { host: '0.0.0.0', port: 0, dataDir: join(root, 'data'), tls: { certFile: cert, keyFile: key } },
    });
    server = await startServer(config);
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses to listen beyond loopback without TLS, and half a TLS configuration', () => {
    expect(() => loadConfig({ env: {}, flags: { host: '0.0.0.0' } })).toThrow(
      /not a loopback address: to listen beyond loopback configure TLS/,
    );
    expect(() => loadConfig({ env: {}, flags: { tls: { certFile: cert } } })).toThrow(/both tls.certFile and tls.keyFile/);
    expect(() => loadConfig({ env: {}, flags: { tls: { certFile: join(root, 'nope.pem'), keyFile: key } } })).toThrow(/does not exist/);
  });

  it('serves HTTPS with HSTS and security headers, and no operator path even from loopback', async () => {
    expect(server.url).toMatch(/^https:\/\/[0-9.]+:\d+$/);
    const base = server.url.replace('0.0.0.0', '127.0.0.1');
    const anon = await get(`${base}/fhir/Patient`);
    expect(anon.status).toBe(401);
    expect(anon.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(anon.headers['x-frame-options']).toBe('DENY');
    expect(anon.headers['content-security-policy']).toMatch(/default-src 'none'; frame-ancestors 'none'/);
    expect(anon.headers['referrer-policy']).toBe('no-referrer');
    expect(anon.headers['x-content-type-options']).toBe('nosniff');
    expect((await get(`${base}/fhir/metadata`)).status).toBe(200);
  });

  it('gives the operator a loopback-only plain listener, published for the CLI', async () => {
    expect(server.operatorUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(lockHolder(join(root, 'data'))?.url).toBe(server.operatorUrl);
    const res = await fetch(`${server.operatorUrl}/fhir/Patient`);
    expect(res.status).toBe(200);
    expect(res.headers.get('strict-transport-security')).toBeNull();
  });

  it('sets __Host- Secure session cookies over HTTPS', async () => {
    const token = server.setupToken as string;
    const base = server.url.replace('0.0.0.0', '127.0.0.1');
    const body = JSON.stringify({ token, username: 'admin', displayName: 'Admin', password: 'coconut palms on the malabar coast' });
    const made = await get(`${base}/auth/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(made.status, made.body).toBe(201);
    const login = await get(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'coconut palms on the malabar coast' }),
    });
    expect(login.status, login.body).toBe(200);
    const cookie = ([] as string[]).concat(login.headers['set-cookie'] ?? []).find((c) => c.startsWith('__Host-sushruta-session='));
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).toMatch(/; Path=\//);
  });
});
