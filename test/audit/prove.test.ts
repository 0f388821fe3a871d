/**
 * `audit prove` on both databases: every inclusion and consistency proof it builds from the
 * database (streaming leaf hashes in small pages, so page edges are crossed) equals the in-memory
 * RFC 6962 proof and verifies with merkle.ts against the signed roots, at the edges (first and
 * last record, power-of-two sizes, equal sizes); bad requests are refused with the problem named;
 * and a log changed behind the triggers yields `tampered`, never a proof.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signerFromSeedBytes, verifierFromVkey } from '../../src/security/audit/checkpoint.js';
import { AuditLog } from '../../src/security/audit/log.js';
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  type MerkleHash,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from '../../src/security/audit/merkle.js';
import {
  type AuditProof,
  AuditProofError,
  type ConsistencyProof,
  checkProof,
  type InclusionProof,
  type ProofRequest,
  proveAudit,
} from '../../src/security/audit/prove.js';
import type { UnplacedRecord } from '../../src/security/audit/record.js';
import { auditMigrations } from '../../src/security/audit/schema.js';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { testDbKinds } from '../support/db.js';

const ORIGIN = 'test.sushruta/audit';
const signer = signerFromSeedBytes(ORIGIN, randomBytes(32));
const verifier = verifierFromVkey(signer.vkey);
/** Checkpoints at these sizes: first record, powers of two and their neighbours, and the end (300). */
const SIZES = [1, 2, 3, 4, 5, 7, 8, 13, 16, 31, 32, 33, 64, 100, 127, 128, 129, 200, 256, 300];
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function record(i: number): UnplacedRecord {
  return {
    v: 1,
    time: new Date(Date.UTC(2026, 10, 25, 9, 0, 0, i)).toISOString(),
    tenant: 'test-hospital',
    request: `req-${i}`,
    who: { kind: 'local-operator', id: 'operator', role: null, session: null, client: null },
    what: {
      action: 'read',
      type: 'Patient',
      id: `p${i % 11}`,
      version: null,
      query: null,
      resources: [`Patient/p${i % 11}`],
      resourceCount: 1,
    },
    patients: [`p${i % 11}`],
    where: { peer: '127.0.0.1', forwarded: [], client: '127.0.0.1', agent: 'vitest' },
    why: { purpose: null, breakGlass: null },
    outcome: { status: 200, rule: 'local-operator', reason: null },
  };
}

const hex = (h: MerkleHash) => h.toString('hex');
const bytes = (h: readonly string[]) => h.map((x) => Buffer.from(x, 'hex'));

describe.each(testDbKinds())('audit prove on $name', (kind) => {
  let db: Db;
  let file: string;
  /** Leaf hashes of records 1..300 as logged, read back independently of the prover. */
  let leaves: MerkleHash[];

  // Pages of 7 leaf hashes: every proof crosses many page edges.
  const prove = (req: ProofRequest) => db.unlimited((q) => proveAudit(q, req, { verifier, checkpointFile: file, batch: 7 }));
  const refusal = (req: ProofRequest) => refused(prove(req));

  /**
   * Runs SQL as a database administrator would, with the append-only triggers switched off, then
   * `fn` on the changed log, all in one transaction that is rolled back: the next test sees the log intact.
   */
  async function tampered(changes: [string, unknown[]?][], fn: (p: (req: ProofRequest) => Promise<AuditProof>) => Promise<void>) {
    const undo = new Error('roll back');
    await db
      .transaction(async (tx) => {
        await tx.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
        await tx.query('ALTER TABLE audit_checkpoint DISABLE TRIGGER USER');
        for (const [sql, params] of changes) await tx.query(sql, (params ?? []) as never);
        await fn((req) => proveAudit(tx, req, { verifier, checkpointFile: file, batch: 7 }));
        throw undo;
      })
      .catch((err: unknown) => {
        if (err !== undo) throw err;
      });
  }
  const refused = async (p: Promise<AuditProof>): Promise<AuditProofError> => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AuditProofError);
    return err as AuditProofError;
  };

  beforeAll(async () => {
    db = await kind.open();
    await migrate(db, [auditMigrations]);
    // Before any record: the empty log is named as such.
    for (const req of [{ seq: 1 }, { from: 1, to: 1 }] as ProofRequest[]) {
      expect(await refusal(req)).toMatchObject({ reason: 'not-found', message: 'the audit log is empty: there is nothing to prove' });
    }
    const dir = mkdtempSync(join(tmpdir(), 'sushruta-prove-'));
    dirs.push(dir);
    file = join(dir, 'checkpoints.jsonl');
    const log = await AuditLog.open(db, { signer, checkpointEvery: 1_000_000, checkpointSeconds: 0, checkpointFile: file, maxBatch: 50 });
    let n = 0;
    for (const size of SIZES) {
      const batch: Promise<number>[] = [];
      while (n < size) batch.push(log.append(record(++n)));
      await Promise.all(batch);
      await log.checkpoint();
    }
    await log.close();
    const rows = await db.query<{ entry: string }>('SELECT entry FROM audit_log ORDER BY seq');
    leaves = rows.rows.map((r) => leafHash(Buffer.from(r.entry, 'utf8')));
    const cps = await db.query<{ size: string | number }>('SELECT size FROM audit_checkpoint ORDER BY size');
    expect(cps.rows.map((r) => Number(r.size))).toEqual(SIZES);
  });

  afterAll(async () => {
    await db?.close();
  });

  it('proves records at the edges of every checkpointed tree, as RFC 6962 computes them in memory', async () => {
    let checked = 0;
    for (const size of SIZES) {
      const tree = leaves.slice(0, size);
      const root = rootOf(tree);
      for (const seq of new Set([1, 2, Math.ceil(size / 2), size - 1, size].filter((s) => s >= 1 && s <= size))) {
        const p = (await prove({ seq, size })) as InclusionProof;
        expect(p).toMatchObject({ type: 'inclusion', seq, leafIndex: seq - 1, treeSize: size, root: hex(root) });
        expect(p.leafHash).toBe(hex(leafHash(Buffer.from(p.entry, 'utf8'))));
        expect(JSON.parse(p.entry).seq).toBe(seq);
        expect(p.path, `record ${seq} in ${size}`).toEqual(inclusionProof(tree, seq - 1).map(hex));
        expect(verifyInclusion(leafHash(Buffer.from(p.entry, 'utf8')), seq - 1, size, bytes(p.path), root)).toBe(true);
        expect(verifier.open(p.checkpoint)).toMatchObject({ ok: true, checkpoint: { size } });
        expect(checkProof(p, verifier)).toEqual({ ok: true });
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(80);
  });

  it('proves against the latest signed checkpoint when no size is given', async () => {
    const p = (await prove({ seq: 300 })) as InclusionProof;
    expect(p).toMatchObject({ treeSize: 300, leafIndex: 299 });
    expect(checkProof(p, verifier)).toEqual({ ok: true });
  });

  it('proves every checkpoint consistent with every later one, and with itself', async () => {
    let checked = 0;
    for (const size1 of SIZES) {
      for (const size2 of SIZES.filter((s) => s >= size1)) {
        const p = (await prove({ from: size1, to: size2 })) as ConsistencyProof;
        const root1 = rootOf(leaves.slice(0, size1));
        const root2 = rootOf(leaves.slice(0, size2));
        expect(p).toMatchObject({ type: 'consistency', size1, size2, root1: hex(root1), root2: hex(root2) });
        expect(p.proof, `${size1} -> ${size2}`).toEqual(consistencyProof(leaves.slice(0, size2), size1).map(hex));
        if (size1 === size2) expect(p.proof).toEqual([]);
        expect(verifyConsistency(size1, size2, root1, root2, bytes(p.proof))).toBe(true);
        expect(checkProof(p, verifier)).toEqual({ ok: true });
        checked += 1;
      }
    }
    expect(checked).toBe((SIZES.length * (SIZES.length + 1)) / 2);
  });

  it('refuses what cannot be proven, naming the problem', async () => {
    expect((await refusal({ seq: 0 })).message).toMatch(/the record number must be a whole number from 1, got 0/);
    expect(await refusal({ seq: 301 })).toMatchObject({
      reason: 'invalid',
      message: expect.stringMatching(/record 301 does not exist: the log holds records 1\.\.300/),
    });
    expect(await refusal({ seq: 9, size: 8 })).toMatchObject({
      reason: 'invalid',
      message: expect.stringMatching(/record 9 is not in the tree of size 8/),
    });
    expect(await refusal({ seq: 5, size: 6 })).toMatchObject({
      reason: 'not-found',
      message: 'there is no signed checkpoint at size 6; the nearest are at 5 and 7',
    });
    expect(await refusal({ from: 6, to: 8 })).toMatchObject({
      reason: 'not-found',
      message: expect.stringMatching(/no signed checkpoint at size 6/),
    });
    expect(await refusal({ from: 8, to: 4 })).toMatchObject({
      reason: 'invalid',
      message: expect.stringMatching(/must not be larger than the second/),
    });
    expect(await refusal({ from: 300, to: 400 })).toMatchObject({
      reason: 'not-found',
      message: 'there is no signed checkpoint at size 400; the nearest are at 300',
    });
  });

  it('finds a checkpoint that is only in the checkpoint file', async () => {
    await tampered([['DELETE FROM audit_checkpoint WHERE size = 100']], async (p) => {
      expect(checkProof(await p({ seq: 42, size: 100 }), verifier)).toEqual({ ok: true });
    });
  });

  it('answers `tampered` instead of a proof when the log was changed behind the triggers', async () => {
    const original = (await db.query<{ entry: string }>('SELECT entry FROM audit_log WHERE seq = 5')).rows[0]?.entry as string;
    const changed = original.replace('"status":200', '"status":404');
    expect(changed).not.toBe(original);
    await tampered([['UPDATE audit_log SET entry = $1 WHERE seq = 5', [changed]]], async (p) => {
      expect(await refused(p({ seq: 5, size: 8 }))).toMatchObject({
        reason: 'tampered',
        message: expect.stringMatching(/record 5: its entry was changed after it was written/),
      });
    });
    // ...and with its leaf hash recomputed: the signed roots no longer match, for it and its neighbours.
    const rehashed: [string, unknown[]] = [
      'UPDATE audit_log SET entry = $1, leaf_hash = $2 WHERE seq = 5',
      [changed, leafHash(Buffer.from(changed, 'utf8'))],
    ];
    await tampered([rehashed], async (p) => {
      for (const req of [{ seq: 5, size: 8 }, { seq: 6 }, { from: 4, to: 8 }, { from: 5, to: 300 }] as ProofRequest[]) {
        expect(await refused(p(req)), JSON.stringify(req)).toMatchObject({
          reason: 'tampered',
          message: expect.stringMatching(/are not the ones the signed checkpoint at size \d+ covers/),
        });
      }
      // A consistency proof from a power-of-two tree needs none of its leaves: it stays valid, as it should.
      expect(checkProof(await p({ from: 8, to: 16 }), verifier)).toEqual({ ok: true });
    });
    await tampered([['DELETE FROM audit_log WHERE seq = 200']], async (p) => {
      expect(await refused(p({ seq: 150, size: 256 }))).toMatchObject({
        reason: 'tampered',
        message: expect.stringMatching(/record 200 is missing \(deleted\): the log goes from record 199 to record 201/),
      });
      expect(await refused(p({ seq: 200, size: 256 }))).toMatchObject({
        reason: 'tampered',
        message: expect.stringMatching(/record 200 is missing/),
      });
    });
    await tampered([['DELETE FROM audit_log WHERE seq > 250']], async (p) => {
      expect(await refused(p({ from: 200, to: 300 }))).toMatchObject({
        reason: 'tampered',
        message: expect.stringMatching(/records 251\.\.300 are missing, though a signed checkpoint covers them/),
      });
    });
    await tampered([["UPDATE audit_checkpoint SET note = replace(note, E'\\n64\\n', E'\\n65\\n') WHERE size = 64"]], async (p) => {
      expect(await refused(p({ seq: 3, size: 64 }))).toMatchObject({
        reason: 'tampered',
        message: expect.stringMatching(/the checkpoint at size 64 does not verify: the signature does not verify/),
      });
    });
    // The log is whole again after the roll-backs.
    expect(checkProof(await prove({ seq: 200, size: 256 }), verifier)).toEqual({ ok: true });
  });

  it('a proof whose parts were altered in transit does not check', async () => {
    const p = (await prove({ seq: 13, size: 100 })) as InclusionProof;
    const alter = (q: Partial<InclusionProof>) => checkProof({ ...p, ...q } as AuditProof, verifier);
    expect(alter({ entry: p.entry.replace('"status":200', '"status":201') })).toMatchObject({ ok: false, problem: /does not hash/ });
    expect(alter({ path: [...p.path.slice(0, -1), hex(leafHash(Buffer.from('x')))] })).toMatchObject({
      ok: false,
      problem: /does not lead/,
    });
    expect(alter({ root: hex(leafHash(Buffer.from('x'))) })).toMatchObject({ ok: false, problem: /states another root/ });
    expect(alter({ checkpoint: p.checkpoint.replace('\n100\n', '\n101\n') })).toMatchObject({ ok: false });
    const other = verifierFromVkey(signerFromSeedBytes(ORIGIN, randomBytes(32)).vkey);
    expect(checkProof(p, other)).toMatchObject({ ok: false, problem: /no signature by the audit key/ });
  });
});
