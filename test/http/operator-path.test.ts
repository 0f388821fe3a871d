/**
 * The operator path (no sign-in for programs on the server machine) is closed to web browsers:
 * a page a browser there loads from anywhere could otherwise read every record through
 * 127.0.0.1 (DNS rebinding sends the attacker's host name; browsers send Origin and
 * Sec-Fetch-Site). Node's fetch, which the CLI uses, sends neither.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDbKinds } from '../support/db.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('the operator path', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(testDbKinds()[0] as NonNullable<ReturnType<typeof testDbKinds>[0]>);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('serves a program on this machine without sign-in', async () => {
    expect((await s.fhir('GET', 'Patient')).status).toBe(200);
  });

  it.each([
    ['a page of another site (Origin)', { origin: 'https://evil.example' }],
    ['a browser navigation (Sec-Fetch-Site)', { 'sec-fetch-site': 'none' }],
    ['a rebound host name (Host)', { host: 'evil.example:8080' }],
  ])('refuses %s: 401, not the operator', async (_what, headers) => {
    // node:http, because fetch will not send a Host header of the caller's choosing.
    const u = new URL(`${s.base}/Patient`);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const r = request({ host: u.hostname, port: u.port, path: u.pathname, headers }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      r.on('error', reject);
      r.end();
    });
    expect(status).toBe(401);
  });
});
