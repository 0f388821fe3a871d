/**
 * `sushruta users` and the setup token as an operator meets them: the first start prints a
 * one-time token that creates the first administrator; accounts are created, listed, disabled and
 * reset through a running server and without one; every change is in the audit log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli, startServerProcess, stop } from '../support/cli.js';

// Every test here starts `sushruta` processes (a cold TypeScript start each, and servers):
// slow on a busy 2-core machine, so more time than the suite's default.
vi.setConfig({ testTimeout: 240_000 });

const root = mkdtempSync(join(tmpdir(), 'sushruta-users-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dir = ['--data-dir', join(root, 'data')];

async function waitFor(read: () => string, re: RegExp, ms = 20_000): Promise<RegExpExecArray> {
  const until = Date.now() + ms;
  for (;;) {
    const m = re.exec(read());
    if (m) return m;
    if (Date.now() > until) throw new Error(`not seen: ${re}; got: ${read()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('sushruta users', () => {
  it('creates, lists, disables and resets accounts without a server, with an initial password printed once', async () => {
    const made = await runCli([
      'users',
      'create',
      '--username',
      'dr.joshi',
      '--name',
      'Dr Alka Joshi',
      '--role',
      'doctor',
      '--department',
      'ent',
      '--json',
      ...dir,
    ]);
    expect(made.code, made.stderr).toBe(0);
    const out = JSON.parse(made.stdout);
    expect(out.account).toMatchObject({
      username: 'dr.joshi',
      roles: ['doctor'],
      departments: ['ent'],
      status: 'active',
      passwordMustChange: true,
    });
    expect(out.initialPassword).toMatch(/^[a-z2-7]{5}(-[a-z2-7]{5}){3}$/);
    const human = await runCli([
      'users',
      'create',
      '--username',
      'nurse.lal',
      '--name',
      'Sister Lal',
      '--role',
      'nurse,ward-manager',
      ...dir,
    ]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/created nurse\.lal \(nurse, ward-manager\)/);
    expect(human.stdout).toMatch(/initial password for nurse\.lal .*shown once/);
    const bad = await runCli(['users', 'create', '--username', 'x1', '--name', 'X', '--role', 'surgeon', ...dir]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/unknown role surgeon/);
    const dup = await runCli(['users', 'create', '--username', 'dr.joshi', '--name', 'Again', '--role', 'doctor', ...dir]);
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toMatch(/already exists/);

    expect((await runCli(['users', 'disable', 'dr.joshi', ...dir])).code).toBe(0);
    const list = JSON.parse((await runCli(['users', 'list', '--json', ...dir])).stdout);
    expect(list.map((a: { username: string; status: string }) => [a.username, a.status])).toEqual([
      ['dr.joshi', 'disabled'],
      ['nurse.lal', 'active'],
    ]);
    const roles = await runCli(['users', 'set-roles', 'nurse.lal', '--role', 'nurse', '--department', 'medicine', ...dir]);
    expect(roles.code, roles.stderr).toBe(0);
    expect(JSON.parse(roles.stdout)).toMatchObject({ roles: ['nurse'], departments: ['medicine'] });
    const reset = await runCli(['users', 'reset-password', 'nurse.lal', ...dir]);
    expect(reset.stdout).toMatch(/initial password for nurse\.lal/);
    expect((await runCli(['users', 'reset-mfa', 'nobody', ...dir])).stderr).toMatch(/no account 'nobody'/);
  }, 300_000);

  it('creates an integration client (id and secret printed once as JSON) and an app with exact redirect URIs', async () => {
    const r = await runCli([
      'clients',
      'create',
      '--name',
      'lab bridge',
      '--scopes',
      'system/Observation.cruds',
      'system/Patient.rs',
      '--json',
      ...dir,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['clientId', 'clientSecret']);
    expect(out.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const bad = await runCli(['clients', 'create', '--name', 'x', '--scopes', 'all', ...dir]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/not a SMART scope/);
    // An app: exact redirect URIs, user/ scopes; a public one gets no secret.
    const app = await runCli([
      'clients',
      'create',
      '--name',
      'ward rounds',
      '--scopes',
      'user/Patient.rs offline_access',
      '--redirect-uri',
      'https://rounds.hospital.example/callback',
      '--redirect-uri',
      'in.hospital.rounds:/oauth',
      '--public',
      '--json',
      ...dir,
    ]);
    expect(app.code, app.stderr).toBe(0);
    expect(Object.keys(JSON.parse(app.stdout))).toEqual(['clientId']);
    const insecure = await runCli([
      'clients',
      'create',
      '--name',
      'x',
      '--scopes',
      'user/Patient.rs',
      '--redirect-uri',
      'http://rounds.example/cb',
      ...dir,
    ]);
    expect(insecure.code).not.toBe(0);
    expect(insecure.stderr).toMatch(/plain http is allowed only on loopback/);
  }, 180_000);

  it('goes through a running server; a first start prints the setup token, which creates the first administrator once', async () => {
    const fresh = ['--data-dir', join(root, 'fresh')];
    const server = await startServerProcess(fresh);
    try {
      const m = await waitFor(server.stderr, /one-time setup token[^\n]*\n[^\n]*\n\n {2}([A-Za-z0-9_-]{43})\n/);
      const token = m[1] as string;
      const body = { token, username: 'admin', displayName: 'Hospital Admin', password: 'jasmine by the temple tank' };
      const post = (b: unknown) =>
        fetch(`${server.url}/auth/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) });
      expect((await post({ ...body, password: 'admin12345678' })).status).toBe(400);
      expect((await post(body)).status).toBe(201);
      expect((await post({ ...body, username: 'second' })).status).toBe(403);

      const made = await runCli([
        'users',
        'create',
        '--username',
        'lab.rao',
        '--name',
        'Ravi Rao',
        '--role',
        'lab-technician',
        '--json',
        ...fresh,
      ]);
      expect(made.code, made.stderr).toBe(0);
      expect(made.stderr).toMatch(/through the running server/);
      expect(JSON.parse(made.stdout).account.username).toBe('lab.rao');
      const list = JSON.parse((await runCli(['users', 'list', '--json', ...fresh])).stdout);
      expect(list.map((a: { username: string }) => a.username)).toEqual(['admin', 'lab.rao']);
      expect((await runCli(['users', 'revoke-sessions', 'lab.rao', ...fresh])).code).toBe(0);
    } finally {
      await stop(server);
    }
    // A restart of a hospital that has accounts prints no token.
    const again = await startServerProcess(fresh);
    try {
      await new Promise((r) => setTimeout(r, 1500));
      expect(again.stderr()).not.toMatch(/setup token/);
      const verify = await runCli(['audit', 'verify', ...fresh]);
      expect(verify.stdout).toMatch(/OK/);
    } finally {
      await stop(again);
    }
  }, 300_000);
});
