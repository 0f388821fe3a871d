/**
 * `sushruta audit` as an operator and an auditor use it: verifying through a running server and
 * directly, with the published verifier key only, and after a database administrator has edited
 * a record behind the triggers' back; proving records and checkpoints, checked by hand.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { signerFromSeedBytes } from '../../src/security/audit/checkpoint.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../../src/security/audit/merkle.js';
import type { ConsistencyProof, InclusionProof } from '../../src/security/audit/prove.js';
import type { DbTarget } from '../../src/store/db.js';
import { openDb } from '../../src/store/open-db.js';
import { byHandToolsMissing, runByHand } from '../support/by-hand.js';
import { runCli, startServerProcess, stop } from '../support/cli.js';
import { freshTarget, testDbKinds } from '../support/db.js';

// Every test here starts `sushruta` processes (a cold TypeScript start each, and servers):
// slow on a busy 2-core machine, so more time than the suite's default.
vi.setConfig({ testTimeout: 240_000 });

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

/**
 * `audit prove` as an auditor uses it, on both databases: proofs the CLI prints verify with
 * merkle.ts, the files of `--out` pass the by-hand check exactly as docs/SECURITY.md writes it, a
 * changed file fails that check, requests that cannot be answered exit 2 with the reason, and a
 * log a DBA changed exits 1 without a proof.
 */
describe.each(testDbKinds().map((k) => k.name))('sushruta audit prove on %s', (kind) => {
  const base = join(root, `prove-${kind}`);
  let args: string[] = [];
  let target: DbTarget;
  let key = '';
  let sizes: number[] = [];
  const missing = byHandToolsMissing();

  const prove = async (extra: string[]) => {
    const r = await runCli(['audit', 'prove', '--key', key, ...extra, ...args]);
    return { ...r, json: r.code === 0 && extra.includes('--json') ? JSON.parse(r.stdout) : undefined };
  };
  const checkpointSizes = () =>
    readFileSync(`${base}.keys/audit-checkpoints.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).size as number);

  beforeAll(async () => {
    target = await freshTarget(kind, base);
    args = ['--data-dir', base, ...(target.kind === 'postgres' ? ['--database-url', target.url] : [])];
    // A checkpoint after every batch: sizes 3, 4, 5, ... (the two writes are signed with the first read).
    const server = await startServerProcess(args, { SUSHRUTA_AUDIT_CHECKPOINT_EVERY: '1' });
    try {
      const ids: string[] = [];
      for (const family of ['Iyer', 'Banerjee']) {
        const res = await fetch(`${server.url}/fhir/Patient`, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json' },
          body: JSON.stringify({ resourceType: 'Patient', name: [{ family }] }),
        });
        expect(res.status).toBe(201);
        ids.push(((await res.json()) as { id: string }).id);
      }
      for (let i = 0; i < 38; i++) expect((await fetch(`${server.url}/fhir/Patient/${ids[i % 2]}`)).status).toBe(200);
      key = (await runCli(['audit', 'key', ...args])).stdout.trim();
      if (kind === 'pglite') {
        // The server holds the data directory: the proof comes from it, and is checked here.
        const viaServer = await prove(['--seq', '1']);
        expect(viaServer.code, viaServer.stderr).toBe(0);
        expect(viaServer.stdout).toMatch(/^inclusion proof: record 1 is in the signed audit log of \d+ records/);
        expect(viaServer.stdout).toMatch(/OK \(proven by the running server at http:.*\): checked with sushruta\/audit\+/);
        const refused = await prove(['--seq', '100000']);
        expect(refused.code).toBe(2);
        expect(refused.stderr).toMatch(/the server refused \(400\): record 100000 does not exist: the log holds records 1\.\.\d+/);
      }
    } finally {
      await stop(server);
    }
    sizes = checkpointSizes();
    expect(sizes).toEqual(expect.arrayContaining([3, 4, 8, 16, 32]));
  });

  it('gives inclusion proofs that verify with merkle.ts and by hand, first and last record and power-of-two trees', async () => {
    const last = sizes[sizes.length - 1] as number;
    const pairs: [number, number | undefined][] = [
      [1, 3],
      [1, 16],
      [16, 16],
      [17, 32],
      [5, 33],
      [last, undefined],
    ];
    for (const [seq, size] of pairs) {
      const out = join(base, `inclusion-${seq}-${size ?? 'latest'}`);
      const r = await prove(['--seq', String(seq), ...(size ? ['--size', String(size)] : []), '--json', '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      const p = r.json as InclusionProof;
      expect(p).toMatchObject({ type: 'inclusion', seq, leafIndex: seq - 1, treeSize: size ?? last });
      expect(readFileSync(join(out, 'entry.json'), 'utf8')).toBe(p.entry);
      const leaf = leafHash(readFileSync(join(out, 'entry.json')));
      expect(verifyInclusion(leaf, seq - 1, p.treeSize, p.path.map(unhex), unhex(p.root))).toBe(true);
      if (missing) continue;
      const hand = runByHand(out, 'inclusion', key);
      expect(hand.out).toContain('Signature Verified Successfully');
      expect(hand.out).toContain(`OK: record ${seq} is in the signed log of ${p.treeSize} records`);
      expect(hand.code, hand.out).toBe(0);
    }
    const human = await prove(['--seq', '2', '--size', '4']);
    expect(human.stdout).toMatch(/leaf index {3}1\n {2}tree size {4}4\n/);
    expect(human.stdout).toMatch(/OK \((PGlite data directory|PostgreSQL)/);
  });

  it('gives consistency proofs that verify with merkle.ts and by hand, including equal sizes', async () => {
    const last = sizes[sizes.length - 1] as number;
    for (const [from, to] of [
      [3, 4],
      [4, 16],
      [8, 8],
      [5, 32],
      [7, last],
      [16, last],
    ] as [number, number][]) {
      const out = join(base, `consistency-${from}-${to}`);
      const r = await prove(['--from', String(from), '--to', String(to), '--json', '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      const p = r.json as ConsistencyProof;
      expect(p).toMatchObject({ type: 'consistency', size1: from, size2: to });
      expect(verifyConsistency(from, to, unhex(p.root1), unhex(p.root2), p.proof.map(unhex))).toBe(true);
      if (missing) continue;
      const hand = runByHand(out, 'consistency', key);
      expect(hand.out).toContain(`OK: the signed log of ${to} records extends the signed log of ${from} records`);
      expect(hand.code, hand.out).toBe(0);
    }
  });

  it.skipIf(missing !== undefined)('the by-hand check fails on a changed entry, path hash, size or note', async () => {
    const good = join(base, 'inclusion-17-32');
    const variant = (name: string, file: string, change: (text: string) => string) => {
      const dir = join(base, `bad-${name}`);
      cpSync(good, dir, { recursive: true });
      const text = readFileSync(join(dir, file), 'utf8');
      const changed = change(text);
      expect(changed).not.toBe(text);
      writeFileSync(join(dir, file), changed);
      return runByHand(dir, 'inclusion', key);
    };
    const entry = variant('entry', 'entry.json', (t) => t.replace('"status":200', '"status":204'));
    expect(entry.code).not.toBe(0);
    expect(entry.out).toContain('FAIL: the path does not lead to the signed root');
    const path = variant('path', 'inclusion.txt', (t) => {
      const lines = t.split('\n');
      const h = lines[2] as string;
      lines[2] = `${h[0] === '0' ? '1' : '0'}${h.slice(1)}`;
      return lines.join('\n');
    });
    expect(path.code).not.toBe(0);
    const size = variant('size', 'inclusion.txt', (t) => t.replace(/^16\n32\n/, '16\n33\n'));
    expect(size.out).toContain('FAIL: the checkpoint is not for size 33');
    const note = variant('note', 'checkpoint.note', (t) =>
      t.replace(/^(.*\n32\n)(.)/, (_m, head: string, c: string) => `${head}${c === 'A' ? 'B' : 'A'}`),
    );
    expect(note.code).not.toBe(0);
    expect(note.out).toMatch(/Signature Verification Failure|FAIL: checkpoint\.note is not signed/);
    const other = runByHand(good, 'inclusion', someOtherVkey());
    expect(other.code).not.toBe(0);
  });

  it('names what cannot be proven and exits 2', async () => {
    const last = sizes[sizes.length - 1] as number;
    const cases: [string[], RegExp][] = [
      [['--seq', '0'], /--seq must be a whole number from 1, got '0'/],
      [['--seq', String(last + 1)], new RegExp(`record ${last + 1} does not exist: the log holds records 1\\.\\.${last}`)],
      [['--seq', '5', '--size', '4'], /record 5 is not in the tree of size 4/],
      [['--from', '2', '--to', '4'], /there is no signed checkpoint at size 2; the nearest are at 3/],
      [['--from', '8', '--to', '4'], /the first tree \(8\) must not be larger than the second \(4\)/],
      [['--seq', '3', '--from', '3', '--to', '4'], /give either --seq \(with --size\) or --from and --to/],
    ];
    for (const [extra, message] of cases) {
      const r = await prove(extra);
      expect(r.code, `${extra.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('refuses a proof from a log a DBA changed: TAMPERED, exit 1', async () => {
    const db = await openDb(target);
    try {
      await db.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
      await db.query(`UPDATE audit_log SET entry = replace(entry, '"status":200', '"status":204') WHERE seq = 10`);
      await db.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
    } finally {
      await db.close();
    }
    const r = await prove(['--seq', '10']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/TAMPERED: record 10: its entry was changed after it was written/);
    expect(r.stdout).toBe('');
  });
});

const unhex = (h: string) => Buffer.from(h, 'hex');
/** A verifier key of some other log with the same name: its signature check must fail. */
function someOtherVkey(): string {
  return signerFromSeedBytes('sushruta/audit', randomBytes(32)).vkey;
}
