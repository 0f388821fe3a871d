/** The `sushruta` command as an operator meets it. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli, startServerProcess, stop } from '../support/cli.js';

// Every test here starts `sushruta` processes (a cold TypeScript start each, and servers):
// slow on a busy 2-core machine, so more time than the suite's default.
vi.setConfig({ testTimeout: 240_000 });

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'sushruta-cli-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('sushruta CLI', () => {
  it('documents every command in --help', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['serve', 'seed', 'import', 'migrate', 'config']) expect(r.stdout).toContain(cmd);
    const serve = await runCli(['serve', '--help']);
    expect(serve.stdout).toContain('--data-dir');
    expect(serve.stdout).toContain('--demo');
  });

  it('refuses to listen beyond loopback until staff sign-in exists', async () => {
    const r = await runCli(['serve', '--host', '0.0.0.0', '--data-dir', tempDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('0.0.0.0 is not a loopback address');
  });

  it('names a bad configuration value', async () => {
    const r = await runCli(['config'], { SUSHRUTA_MAX_COUNT: 'lots' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/limits\.maxCount/);
    const dir = tempDir();
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{"port": 80, "colour": "blue"}');
    const f = await runCli(['config', '--config', file]);
    expect(f.code).toBe(2);
    expect(f.stderr).toContain('colour');
  });

  it('with a server running, a second server stops with a clear message and import goes through the server', async () => {
    const dataDir = tempDir();
    const server = await startServerProcess(['--data-dir', dataDir]);
    try {
      expect(server.stderr()).toContain('loopback only');
      const second = await runCli(['serve', '--port', '0', '--data-dir', dataDir]);
      expect(second.code).toBe(2);
      expect(second.stderr).toContain(`in use by process ${server.child.pid}`);

      const file = join(dataDir, 'p.json');
      writeFileSync(file, JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Imported' }] }));
      const imp = await runCli(['import', file, '--data-dir', dataDir]);
      expect(imp.code).toBe(0);
      const created = JSON.parse(imp.stdout);
      const read = await fetch(`${server.url}/fhir/Patient/${created.id}`);
      expect(read.status).toBe(200);
    } finally {
      await stop(server);
    }
    // With the server stopped the same command opens the directory itself.
    const file = join(dataDir, 'q.json');
    writeFileSync(file, JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Offline' }] }));
    const offline = await runCli(['import', file, '--data-dir', dataDir]);
    expect(offline.code).toBe(0);
    expect(JSON.parse(offline.stdout).name[0].family).toBe('Offline');
    const bad = join(dataDir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ resourceType: 'Patient', gender: 'banana' }));
    const refused = await runCli(['import', bad, '--data-dir', dataDir]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('Patient.gender');
  });
});
