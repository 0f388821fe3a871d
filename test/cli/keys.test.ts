/**
 * `sushruta keys` as an operator uses it: through a running server and without one, including
 * the way back from a lost key file and crypto-shredding.
 */
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli, startServerProcess, stop } from '../support/cli.js';

// Every test here starts `sushruta` processes (a cold TypeScript start each, and servers):
// slow on a busy 2-core machine, so more time than the suite's default.
vi.setConfig({ testTimeout: 240_000 });

const root = mkdtempSync(join(tmpdir(), 'sushruta-keys-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const dataDir = join(root, 'data');
const keyFile = join(root, 'data.keys', 'master.kek');
const passFile = join(root, 'pass.txt');
const backup = join(root, 'keys-backup.json');
const dir = ['--data-dir', dataDir];

async function createPatient(url: string): Promise<string> {
  const res = await fetch(`${url}/fhir/Patient`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Keyholder', given: ['Kavita'] }] }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

describe('sushruta keys', () => {
  let patientId = '';

  it('rotates through a running server, which re-encrypts in the background', async () => {
    writeFileSync(passFile, 'correct horse battery staple\n');
    const server = await startServerProcess(dir);
    try {
      expect(existsSync(keyFile)).toBe(true);
      patientId = await createPatient(server.url);
      const status = JSON.parse((await runCli(['keys', 'status', ...dir])).stdout);
      expect(status.data.active).toBe(1);
      expect(status.kekId).toMatch(/^[0-9a-f]{8,}/);

      const rotated = await runCli(['keys', 'rotate', '--data', '--index', ...dir]);
      expect(rotated.code).toBe(0);
      expect(JSON.parse(rotated.stdout).rotated).toEqual({ data: 2, index: 2 });
      let after = status;
      for (let i = 0; i < 60; i++) {
        after = JSON.parse((await runCli(['keys', 'status', ...dir])).stdout);
        if (after.job.state === 'idle' && after.pending.bodies === 0 && after.pending.indexRows === 0) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(after.pending).toEqual({ bodies: 0, indexRows: 0 });
      expect(after.data.versions.find((v: { version: number }) => v.version === 1).state).toBe('retired');

      const exp = await runCli(['keys', 'export', '--out', backup, '--passphrase-file', passFile, ...dir]);
      expect(exp.code).toBe(0);
      expect(existsSync(backup)).toBe(true);
      const found = await fetch(`${server.url}/fhir/Patient?family=keyhol`);
      expect(((await found.json()) as { entry: unknown[] }).entry).toHaveLength(1);
    } finally {
      await stop(server);
    }
  });

  it('verifies offline, and recovers from a lost key file with the key backup', async () => {
    const verify = await runCli(['keys', 'verify', ...dir]);
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout).problems).toEqual([]);

    renameSync(keyFile, `${keyFile}.lost`);
    const refused = await runCli(['serve', '--port', '0', ...dir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('missing, but the database holds');

    const wrongPass = join(root, 'wrong.txt');
    writeFileSync(wrongPass, 'not the passphrase at all');
    const bad = await runCli(['keys', 'import', backup, '--passphrase-file', wrongPass, ...dir]);
    expect(bad.code).toBe(2);

    const imp = await runCli(['keys', 'import', backup, '--passphrase-file', passFile, ...dir]);
    expect(imp.code).toBe(0);
    expect(JSON.parse(imp.stdout).createdKeyFile).toBe(true);
    const server = await startServerProcess(dir);
    try {
      const read = await fetch(`${server.url}/fhir/Patient/${patientId}`);
      expect(read.status).toBe(200);
      expect(((await read.json()) as { name: { family: string }[] }).name[0]?.family).toBe('Keyholder');
    } finally {
      await stop(server);
    }
  });

  it('shreds only with the hospital id repeated, and then nothing can be read', async () => {
    const wrong = await runCli(['keys', 'shred', '--confirm', 'some-other-hospital', ...dir]);
    expect(wrong.code).toBe(2);
    const shred = await runCli(['keys', 'shred', '--confirm', 'default', ...dir]);
    expect(shred.code).toBe(0);
    const server = await startServerProcess(dir);
    try {
      const read = await fetch(`${server.url}/fhir/Patient/${patientId}`);
      expect(read.status).toBe(410);
      expect(JSON.stringify(await read.json())).toContain('destroyed');
    } finally {
      await stop(server);
    }
  });
});
