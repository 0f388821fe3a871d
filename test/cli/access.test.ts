/**
 * `sushruta access` directly on a PGlite directory no server holds: a grant to an account, the
 * list, the revocation, and clear errors for a grant without an end or for an unknown account.
 * (The same service over HTTP, with the policy it feeds, is in test/policy/matrix.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../support/cli.js';

vi.setConfig({ testTimeout: 240_000 });

const root = mkdtempSync(join(tmpdir(), 'sushruta-access-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dir = ['--data-dir', join(root, 'data')];

describe('sushruta access', () => {
  it('grants, lists and revokes, and names what is wrong with a bad grant', async () => {
    const made = await runCli(['users', 'create', '--username', 'nurse.asha', '--name', 'Asha', '--role', 'nurse', '--json', ...dir]);
    expect(made.code, made.stderr).toBe(0);

    const noEnd = await runCli([
      'access',
      'grant',
      '--user',
      'nurse.asha',
      '--patient',
      'p-vip-1',
      '--reason',
      'treating team, VIP ward',
      ...dir,
    ]);
    expect(noEnd.code).toBe(2);
    expect(noEnd.stderr).toMatch(/--hours N or --until INSTANT/);
    const nobody = await runCli([
      'access',
      'grant',
      '--user',
      'nobody',
      '--patient',
      'p-vip-1',
      '--reason',
      'treating team, VIP ward',
      '--hours',
      '8',
      ...dir,
    ]);
    expect(nobody.code).toBe(2);
    expect(nobody.stderr).toMatch(/no staff account 'nobody'/);

    const granted = await runCli([
      'access',
      'grant',
      '--user',
      'nurse.asha',
      '--patient',
      'p-vip-1',
      '--reason',
      'treating team, VIP ward',
      '--hours',
      '8',
      '--json',
      ...dir,
    ]);
    expect(granted.code, granted.stderr).toBe(0);
    const [grant] = JSON.parse(granted.stdout);
    expect(grant).toMatchObject({ kind: 'grant', patientId: 'p-vip-1', reason: 'treating team, VIP ward', active: true });

    const listed = await runCli(['access', 'grants', '--active', ...dir]);
    expect(listed.stdout).toContain(grant.id);
    expect(listed.stdout).toContain('reason: treating team, VIP ward');

    const revoked = await runCli(['access', 'revoke', grant.id, '--json', ...dir]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(JSON.parse(revoked.stdout)[0].active).toBe(false);
    expect((await runCli(['access', 'grants', '--active', ...dir])).stdout).toMatch(/^none$/m);
  });
});
