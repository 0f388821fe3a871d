/**
 * `sushruta audit` as an operator and an auditor use it: verifying through a running server and
 * directly, with the published verifier key only, and after a database administrator has edited
 * a record behind the triggers' back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/store/open-db.js';
import { runCli, startServerProcess, stop } from '../support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'sushruta-audit-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dataDir = join(root, 'data');
const dir = ['--data-dir', dataDir];

describe('sushruta audit', () => {
  let vkey = '';

  it('verifies through the running server and prints the verifier key', async () => {
    const server = await startServerProcess(dir);
    try {
      expect(server.stderr()).toMatch(/created the key-encryption key .*master\.kek \(mode 0600\)\. Back it up/);
      expect(server.stderr()).toMatch(/created the audit signing key .*audit-signing\.key/);
      for (const family of ['Auditee', 'Witness']) {
        const res = await fetch(`${server.url}/fhir/Patient`, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json' },
          body: JSON.stringify({ resourceType: 'Patient', name: [{ family }] }),
        });
        expect(res.status).toBe(201);
      }
      expect((await fetch(`${server.url}/fhir/Patient?family=audit`)).status).toBe(200);
      const key = await runCli(['audit', 'key', ...dir]);
      expect(key.code).toBe(0);
      vkey = key.stdout.trim();
      expect(vkey).toMatch(/^sushruta\/audit\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/);
      const v = await runCli(['audit', 'verify', ...dir]);
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout).toMatch(/verified by the running server/);
      expect(v.stdout).toMatch(/OK: every record, link, tree head and signature verifies/);
    } finally {
      await stop(server);
    }
  });

  it('verifies directly with only the published key, and names a record a DBA edited', async () => {
    const ok = await runCli(['audit', 'verify', '--key', vkey, '--json', ...dir]);
    expect(ok.code, ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout);
    expect(report.ok).toBe(true);
    expect(report.records).toBeGreaterThanOrEqual(3);
    expect(report.checkpoints.file).toBeGreaterThanOrEqual(1);
    expect(report.checkpointFile.found).toBe(true);

    const db = await openDb({ kind: 'pglite', dataDir });
    try {
      await db.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
      await db.query(`UPDATE audit_log SET entry = replace(entry, '"status":201', '"status":200') WHERE seq = 2`);
      await db.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
    } finally {
      await db.close();
    }
    const bad = await runCli(['audit', 'verify', '--key', vkey, ...dir]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/TAMPERED: record 2: its entry was changed after it was written/);

    const noFile = await runCli(['audit', 'verify', '--key', vkey, '--checkpoint-file', join(root, 'no-such.jsonl'), ...dir]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toMatch(/--checkpoint-file: .*no-such\.jsonl does not exist/);

    const wrongKey = await runCli(['audit', 'verify', '--key', 'not-a-key', ...dir]);
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toMatch(/--key: not a signed-note verifier key/);
  });
});
