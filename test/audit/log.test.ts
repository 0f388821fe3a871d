/**
 * The audit log on both databases: appends are chained and checkpointed, the tables refuse
 * UPDATE/DELETE/TRUNCATE, and every kind of tampering a database administrator could do with the
 * triggers switched off is found by `verifyAuditLog`, which names the right record.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { signerFromSeedBytes, verifierFromVkey } from '../../src/security/audit/checkpoint.js';
import { AuditLog } from '../../src/security/audit/log.js';
import { leafHash } from '../../src/security/audit/merkle.js';
import { decodeRecord, GENESIS_PREV, type UnplacedRecord } from '../../src/security/audit/record.js';
import { auditMigrations } from '../../src/security/audit/schema.js';
import { verifyAuditLog } from '../../src/security/audit/verify.js';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { testDbKinds } from '../support/db.js';

const ORIGIN = 'test.sushruta/audit';
const signer = signerFromSeedBytes(ORIGIN, randomBytes(32));
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function record(i: number): UnplacedRecord {
  return {
    v: 1,
    time: new Date(Date.UTC(2026, 10, 24, 9, 0, 0, i)).toISOString(),
    tenant: 'test-hospital',
    request: `req-${i}`,
    who: { kind: 'local-operator', id: 'operator', role: null, session: null, client: null },
    what: {
      action: i % 3 === 0 ? 'search-type' : 'read',
      type: 'Patient',
      id: i % 3 === 0 ? null : `p${i % 17}`,
      version: null,
      query: i % 3 === 0 ? { plain: `name=x${i}` } : null,
      resources: [`Patient/p${i % 17}`],
      resourceCount: 1,
    },
    patients: [`p${i % 17}`],
    where: { peer: '127.0.0.1', forwarded: [], client: '127.0.0.1', agent: 'vitest' },
    why: { purpose: null, breakGlass: null },
    outcome: { status: 200, rule: 'local-operator', reason: null },
  };
}

describe.each(testDbKinds())('audit log on $name', (kind) => {
  let db: Db;
  let opened = false;
  let file: string;
  let log: AuditLog;

  /** A fresh database with 250 records, written in batches of 10 and checkpointed every 100 (and at close: 250). */
  async function fresh(): Promise<void> {
    if (opened) await db.close();
    db = await kind.open();
    opened = true;
    await migrate(db, [auditMigrations]);
    const dir = mkdtempSync(join(tmpdir(), 'sushruta-audit-'));
    dirs.push(dir);
    file = join(dir, 'checkpoints.jsonl');
    log = await AuditLog.open(db, { signer, checkpointEvery: 100, checkpointSeconds: 0, checkpointFile: file, maxBatch: 10 });
    const seqs = await Promise.all(Array.from({ length: 250 }, (_, i) => log.append(record(i + 1))));
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    await log.close();
  }

  const verify = (checkpointFile: string | undefined = file) =>
    db.unlimited((q) => verifyAuditLog(q, { verifier: signer, ...(checkpointFile ? { checkpointFile } : {}) }));

  /** Runs SQL as a database administrator would, with the append-only triggers switched off. */
  async function asDba(sql: string, params: unknown[] = []): Promise<void> {
    await db.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
    await db.query('ALTER TABLE audit_checkpoint DISABLE TRIGGER USER');
    try {
      await db.query(sql, params as never);
    } finally {
      await db.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
      await db.query('ALTER TABLE audit_checkpoint ENABLE TRIGGER USER');
    }
  }

  async function entryOf(seq: number): Promise<string> {
    const r = await db.query<{ entry: string }>('SELECT entry FROM audit_log WHERE seq = $1', [seq]);
    return r.rows[0]?.entry as string;
  }

  beforeEach(async () => {
    await fresh();
  });

  afterAll(async () => {
    if (opened) await db.close();
  });

  it('chains every record to its predecessor, checkpoints every 100 and at close, and verifies', async () => {
    const first = decodeRecord(await entryOf(1));
    expect(first.prev).toBe(GENESIS_PREV);
    const second = decodeRecord(await entryOf(2));
    expect(second.prev).toBe(leafHash(Buffer.from(await entryOf(1), 'utf8')).toString('hex'));
    const cps = await db.query<{ size: string | number }>('SELECT size FROM audit_checkpoint ORDER BY size');
    expect(cps.rows.map((r) => Number(r.size))).toEqual([100, 200, 250]);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).size)).toEqual([100, 200, 250]);
    // The published verifier key alone (no secret) verifies the notes.
    const verifier = verifierFromVkey(signer.vkey);
    expect(verifier.open(JSON.parse(lines[2] as string).note)).toMatchObject({ ok: true, checkpoint: { size: 250 } });

    const report = await verify();
    expect(report).toMatchObject({ ok: true, records: 250, checkpoints: { database: 3, file: 3, verifiedRoots: 3 } });
    expect(report.problems).toEqual([]);

    // Reopening continues the chain where it ended.
    const again = await AuditLog.open(db, { signer, checkpointEvery: 100, checkpointSeconds: 0, checkpointFile: file });
    expect(again.size).toBe(250);
    expect(await again.append(record(251))).toBe(251);
    await again.close();
    expect(decodeRecord(await entryOf(251)).prev).toBe(leafHash(Buffer.from(await entryOf(250), 'utf8')).toString('hex'));
    expect((await verify()).ok).toBe(true);
  });

  it('keeps one chain when two app servers and write transactions append at the same time', async () => {
    // Two logs on one database stand for two app servers; appendWithin stands for the records that
    // writes commit in their own transactions. Each places records after what it knows of, so each
    // must notice the others' records and place its batch again after them.
    const a = await AuditLog.open(db, { signer, checkpointEvery: 60, checkpointSeconds: 0, checkpointFile: file, maxBatch: 7 });
    const b = await AuditLog.open(db, { signer, checkpointEvery: 60, checkpointSeconds: 0, checkpointFile: file, maxBatch: 5 });
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 120; i++) {
      const n = 1000 + i;
      if (i % 10 === 9) work.push(db.transaction((tx) => a.appendWithin(tx, record(n))));
      else work.push((i % 2 === 0 ? a : b).append(record(n)));
    }
    const seqs = (await Promise.all(work)) as number[];
    await a.close();
    await b.close();
    expect(new Set(seqs).size).toBe(120);
    expect(Math.min(...seqs)).toBe(251);
    expect(Math.max(...seqs)).toBe(370);
    const report = await verify();
    expect(report.problems).toEqual([]);
    expect(report.records).toBe(370);
  });

  it('refuses UPDATE, DELETE and TRUNCATE on the audit tables', async () => {
    for (const sql of [
      'UPDATE audit_log SET outcome = 404 WHERE seq = 5',
      'DELETE FROM audit_log WHERE seq = 5',
      'TRUNCATE audit_log',
      "UPDATE audit_checkpoint SET note = 'x' WHERE size = 100",
      'DELETE FROM audit_checkpoint WHERE size = 100',
      'TRUNCATE audit_checkpoint',
    ]) {
      await expect(db.query(sql), sql).rejects.toThrow(/the audit log is append-only/);
    }
    expect((await verify()).ok).toBe(true);
  });

  it('finds a changed field and names its record', async () => {
    await asDba(`UPDATE audit_log SET entry = replace(entry, '"status":200', '"status":403') WHERE seq = 37`);
    const r = await verify();
    expect(r.ok).toBe(false);
    expect(r.firstBad).toMatchObject({ seq: 37, what: 'record' });
    expect(r.firstBad?.problem).toMatch(/record 37: its entry was changed after it was written/);
  });

  it('finds a changed field whose leaf hash was recomputed, through the next record', async () => {
    const entry = (await entryOf(37)).replace('"id":"operator"', '"id":"someone-else"');
    await asDba('UPDATE audit_log SET entry = $1, leaf_hash = $2, agent = $3 WHERE seq = 37', [
      entry,
      leafHash(Buffer.from(entry, 'utf8')),
      'local-operator:someone-else',
    ]);
    const r = await verify();
    expect(r.firstBad).toMatchObject({ seq: 37 });
    expect(r.firstBad?.problem).toMatch(/record 37 was changed after it was written: record 38 names a different hash/);
  });

  it('finds a changed searchable column', async () => {
    await asDba(`UPDATE audit_log SET patients = ARRAY['someone-else'] WHERE seq = 42`);
    const r = await verify();
    expect(r.firstBad).toMatchObject({ seq: 42 });
    expect(r.firstBad?.problem).toMatch(/record 42: the patients column was changed/);
  });

  it('names every searchable column that was changed, and reads times in any session time zone', async () => {
    const changes: [number, string, string][] = [
      [60, 'tenant_id', `tenant_id = 'other-hospital'`],
      [61, 'recorded_at', `recorded_at = recorded_at + interval '1 second'`],
      [62, 'request_id', `request_id = 'req-x'`],
      [63, 'action', `action = 'delete'`],
      [64, 'resource_type', 'resource_type = NULL'],
      [65, 'resource_id', `resource_id = 'p-other'`],
      [66, 'outcome', 'outcome = 500'],
      [67, 'agent', `agent = 'job:someone'`],
      [68, 'patients', `patients = ARRAY['p1', 'p2']`],
    ];
    for (const [seq, , set] of changes) await asDba(`UPDATE audit_log SET ${set} WHERE seq = ${seq}`);
    const r = await verify();
    expect(r.problems.map((p) => p.problem)).toEqual(
      changes.map(([seq, column]) => expect.stringMatching(new RegExp(`^record ${seq}: the ${column} column was changed`))),
    );
    // Unchanged rows verify whatever time zone the session renders timestamps in.
    await fresh();
    const zoned = await db.unlimited(async (q) => {
      await q.query(`SET LOCAL TIME ZONE 'Asia/Kolkata'`);
      return verifyAuditLog(q, { verifier: signer, checkpointFile: file });
    });
    expect(zoned).toMatchObject({ ok: true, records: 250 });
  });

  it('finds a deleted row', async () => {
    await asDba('DELETE FROM audit_log WHERE seq = 57');
    const r = await verify();
    expect(r.firstBad).toMatchObject({ seq: 57 });
    expect(r.firstBad?.problem).toMatch(/record 57 is missing \(deleted\)/);
  });

  it('finds reordered rows', async () => {
    // Swap everything but the position between rows 60 and 61.
    await asDba(`
      UPDATE audit_log a SET entry = b.entry, leaf_hash = b.leaf_hash, recorded_at = b.recorded_at, request_id = b.request_id,
        action = b.action, resource_type = b.resource_type, resource_id = b.resource_id, outcome = b.outcome, agent = b.agent, patients = b.patients
      FROM (SELECT * FROM audit_log WHERE seq IN (60, 61)) b
      WHERE a.seq IN (60, 61) AND b.seq = 121 - a.seq`);
    const r = await verify();
    expect(r.firstBad).toMatchObject({ seq: 60 });
    expect(r.firstBad?.problem).toMatch(/record 60: the row holds the entry written as record 61/);
  });

  it('finds a truncated tail from the checkpoint file, even when the database checkpoints were cut too', async () => {
    await asDba('DELETE FROM audit_log WHERE seq > 180');
    await asDba('DELETE FROM audit_checkpoint WHERE size > 180');
    const r = await verify();
    expect(r.firstBad).toMatchObject({ seq: 181 });
    expect(r.firstBad?.problem).toMatch(
      /the log ends at record 180, but a signed checkpoint \(checkpoint file\) covers 250 records: records 181\.\.250 were removed/,
    );
    // Without the file, the cut is invisible to the database alone: that is why the file (and a witness) exist,
    // and why the report says when it found none.
    const blind = await verify(join(tmpdir(), 'no-such-checkpoint-file.jsonl'));
    expect(blind.ok).toBe(true);
    expect(blind.checkpointFile.found).toBe(false);
  });

  it('finds a forged checkpoint: another key, or an altered root', async () => {
    const forger = signerFromSeedBytes(ORIGIN, randomBytes(32));
    const forged = forger.sign({ origin: ORIGIN, size: 200, root: randomBytes(32) });
    await asDba('UPDATE audit_checkpoint SET note = $1 WHERE size = 200', [forged]);
    let r = await verify();
    expect(r.firstBad).toMatchObject({ seq: 200, what: 'checkpoint' });
    expect(r.firstBad?.problem).toMatch(/checkpoint at size 200 in the database: no signature by the audit key/);

    await fresh();
    const note = (await db.query<{ note: string }>('SELECT note FROM audit_checkpoint WHERE size = 100')).rows[0]?.note as string;
    const lines = note.split('\n');
    lines[2] = randomBytes(32).toString('base64'); // the root line, signature kept
    await asDba('UPDATE audit_checkpoint SET note = $1 WHERE size = 100', [lines.join('\n')]);
    r = await verify();
    expect(r.firstBad).toMatchObject({ seq: 100, what: 'checkpoint' });
    expect(r.firstBad?.problem).toMatch(/checkpoint at size 100 in the database: the signature does not verify/);
  });

  it('finds a rewritten chain (every later record re-hashed) at the first checkpoint that covers it', async () => {
    // Change record 150, then re-link and re-hash every record after it, as a careful forger would.
    let prev = leafHash(Buffer.from(await entryOf(149), 'utf8')).toString('hex');
    const rows = await db.query<{ seq: string | number; entry: string }>('SELECT seq, entry FROM audit_log WHERE seq >= 150 ORDER BY seq');
    await db.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
    try {
      for (const row of rows.rows) {
        const rec = JSON.parse(row.entry);
        rec.prev = prev;
        if (Number(row.seq) === 150) rec.outcome.status = 403;
        const entry = JSON.stringify(rec);
        const leaf = leafHash(Buffer.from(entry, 'utf8'));
        await db.query('UPDATE audit_log SET entry = $1, leaf_hash = $2, outcome = $3 WHERE seq = $4', [
          entry,
          leaf,
          rec.outcome.status,
          row.seq,
        ]);
        prev = leaf.toString('hex');
      }
    } finally {
      await db.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
    }
    const r = await verify();
    expect(r.firstBad).toMatchObject({ seq: 101 });
    expect(r.firstBad?.problem).toMatch(/the records 101\.\.200 are not the ones the checkpoint at size 200 .* signed/);
  });
});
