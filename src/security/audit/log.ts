/**
 * The append-only, hash-chained, Merkle-checkpointed audit log (DESIGN.md invariant 3).
 *
 * `append` resolves only when the record is committed in the database, which is what lets the FHIR
 * operation layer hold every response until its audit record is durable (fail closed). Appends are
 * group-committed: records that arrive while a batch is being written go together in the next
 * transaction, so one fsync carries many requests.
 *
 * Placing records: each batch is placed after the records this process knows of (the next `seq`,
 * and the leaf hash of its predecessor as `prev`) and inserted by one statement that inserts nothing
 * if any record came after them. On PostgreSQL that statement runs under a transaction-scoped
 * advisory lock, which write transactions take too (`appendWithin`), so several app servers on one
 * database keep one chain; on PGlite one session runs one statement at a time and the data
 * directory admits one process, so the batch is that one statement. When records did come in
 * between (a write's record, another server's batch), the batch reads them and is placed again
 * after them. The in-memory Merkle frontier and chain head change only after the commit. Per batch
 * that is three round trips on PostgreSQL (BEGIN with the lock, INSERT, COMMIT) and one INSERT on PGlite (measured against the
 * earlier read-then-insert: docs/BENCHMARKS.md, audit on / off).
 *
 * Checkpoints: after every `checkpointEvery` records, and every `checkpointSeconds` when records
 * arrived, the tree head is signed (checkpoint.ts) and stored in `audit_checkpoint` in the same
 * transaction as the records it covers; after the commit it is appended (fsynced) to the checkpoint
 * file outside the database and sent to the witness when one is configured. A copy of the database
 * whose tail was cut off is then caught by a signed checkpoint that covers more records than remain.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Db, lockWithinSchema, type Queryable, type SqlValue } from '../../store/db.js';
import type { CheckpointSigner } from './checkpoint.js';
import { leafHash, MerkleFrontier } from './merkle.js';
import { agentOf, encodeRecord, GENESIS_PREV, type UnplacedRecord } from './record.js';

/** Advisory lock key of the audit chain ("SUAD"). */
const AUDIT_LOCK = 0x5355_4144;
/**
 * Casts of the audit_log columns in insert order. Every one is spelled out: in the guarded insert
 * (INSERT ... SELECT FROM (VALUES ...)) a parameter takes its type from its cast, not from the column.
 */
const CASTS: readonly string[] = [
  '::bigint',
  '::text',
  '::timestamptz',
  '::text',
  '::text',
  '::text',
  '::text',
  '::integer',
  '::text',
  '::text[]',
  '::text',
  '::bytea',
];

export interface AuditLogOptions {
  readonly signer: CheckpointSigner;
  /** Sign a checkpoint after this many records (default 1000). */
  readonly checkpointEvery?: number;
  /** ...and this often, in seconds, when records arrived since the last one (default 10; 0 = only by count). */
  readonly checkpointSeconds?: number;
  /** JSON Lines file outside the database that every checkpoint is appended to. */
  readonly checkpointFile?: string;
  /** Sends each checkpoint to an external witness; a failure is reported, not fatal. */
  readonly witness?: (note: string) => Promise<void>;
  /** Told about failures after a commit (checkpoint file, witness, timer). */
  readonly onError?: (err: unknown) => void;
  /** Most records in one transaction (default 500). */
  readonly maxBatch?: number;
}

interface Placed {
  readonly record: UnplacedRecord;
  readonly seq: number;
  readonly entry: string;
  readonly leaf: Buffer;
}

interface Pending {
  readonly record: UnplacedRecord;
  resolve(seq: number): void;
  reject(err: unknown): void;
}

export interface CheckpointRow {
  readonly size: number;
  readonly root: Buffer;
  readonly createdAt: Date;
  readonly note: string;
}

export class AuditLog {
  #frontier = new MerkleFrontier();
  #lastLeaf: Buffer | undefined;
  #checkpointed = 0;
  #queue: Pending[] = [];
  #work: Promise<void> = Promise.resolve();
  #scheduled = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #every: number;
  readonly #maxBatch: number;
  /**
   * PGlite: one session runs one statement at a time and the data-directory lock keeps every other
   * process out, so nothing can interleave with an append and the chain's advisory lock is not taken.
   */
  readonly #singleSession: boolean;

  private constructor(
    private readonly db: Db,
    private readonly opts: AuditLogOptions,
  ) {
    this.#every = Math.max(1, Math.trunc(opts.checkpointEvery ?? 1000));
    this.#maxBatch = Math.max(1, Math.trunc(opts.maxBatch ?? 500));
    this.#singleSession = db.kind === 'pglite';
  }

  /** Opens the log: rebuilds the Merkle frontier from the stored leaf hashes (one pass) and starts the checkpoint timer. */
  static async open(db: Db, opts: AuditLogOptions): Promise<AuditLog> {
    const log = new AuditLog(db, opts);
    await db.unlimited(async (q) => {
      await log.#catchUp(q, log.#frontier, (leaf) => {
        log.#lastLeaf = leaf;
      });
      log.#checkpointed = await lastCheckpointSize(q);
    });
    const seconds = opts.checkpointSeconds ?? 10;
    if (seconds > 0) {
      // Always look: records appended within write transactions reach the frontier only here.
      log.#timer = setInterval(() => {
        void log.#enqueueWork(() => log.#write([], true));
      }, seconds * 1000);
      log.#timer.unref();
    }
    return log;
  }

  /** Records in the log as this process last saw it. */
  get size(): number {
    return this.#frontier.size;
  }

  /** Size of the last checkpoint this process knows of. */
  get checkpointedSize(): number {
    return this.#checkpointed;
  }

  /** Appends a record; resolves with its seq once it is committed. */
  append(record: UnplacedRecord): Promise<number> {
    if (this.#closed) return Promise.reject(new Error('the audit log is closed'));
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ record, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        this.#enqueueWork(async () => {
          this.#scheduled = false;
          while (this.#queue.length > 0) await this.#write(this.#queue.splice(0, this.#maxBatch), false);
        });
      }
    });
  }

  /**
   * Appends a record inside the caller's open transaction (a write and its audit record commit
   * together). Takes the chain's advisory lock until that transaction ends, and places the record
   * after the last stored one; the next batch of `append` reads it into the frontier, and the next
   * checkpoint covers it.
   */
  async appendWithin(tx: Queryable, record: UnplacedRecord): Promise<number> {
    if (this.#closed) throw new Error('the audit log is closed');
    if (!this.#singleSession) await lockWithinSchema(tx, AUDIT_LOCK);
    const head = await tx.query<{ seq: string | number; leaf_hash: Uint8Array }>(
      'SELECT seq, leaf_hash FROM audit_log ORDER BY seq DESC LIMIT 1',
    );
    const last = head.rows[0];
    const seq = last ? Number(last.seq) + 1 : 1;
    const entry = encodeRecord(record, seq, last ? Buffer.from(last.leaf_hash).toString('hex') : GENESIS_PREV);
    await this.#insert(tx, [{ record, seq, entry, leaf: leafHash(Buffer.from(entry, 'utf8')) }], undefined);
    return seq;
  }

  /** Signs a checkpoint now if records arrived since the last one; resolves when it is stored. */
  checkpoint(): Promise<void> {
    return this.#enqueueWork(() => this.#write([], true));
  }

  /** Writes what is queued, signs a final checkpoint and stops the timer. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.checkpoint();
    this.#closed = true;
    await this.#work;
  }

  #enqueueWork(fn: () => Promise<void>): Promise<void> {
    const run = this.#work.then(fn);
    this.#work = run.catch((err) => this.opts.onError?.(err));
    return run;
  }

  /** Appends the leaf hashes of records after `frontier.size` (written by another server, or all of them at open). */
  async #catchUp(q: Queryable, frontier: MerkleFrontier, onLeaf: (leaf: Buffer) => void): Promise<void> {
    for (;;) {
      const res = await q.query<{ seq: string | number; leaf_hash: Uint8Array }>(
        'SELECT seq, leaf_hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 50000',
        [frontier.size],
      );
      for (const row of res.rows) {
        const seq = Number(row.seq);
        if (seq !== frontier.size + 1)
          throw new Error(
            `audit log: record ${frontier.size + 1} is missing (the next stored record is ${seq}); run \`sushruta audit verify\``,
          );
        const leaf = Buffer.from(row.leaf_hash);
        frontier.append(leaf);
        onLeaf(leaf);
      }
      if (res.rows.length < 50000) return;
    }
  }

  async #write(batch: Pending[], forceCheckpoint: boolean): Promise<void> {
    if (batch.length === 0 && !forceCheckpoint) return;
    const base = { frontier: this.#frontier, lastLeaf: this.#lastLeaf };
    let head = base;
    let checkpoint: CheckpointRow | undefined;
    let checkpointed = this.#checkpointed;
    const seqs: number[] = [];
    const dueAfter = (size: number) => size - checkpointed >= this.#every || (forceCheckpoint && size > checkpointed);
    try {
      // The common case in one statement: the batch placed after the records this process knows
      // of, inserted only if no record came after them (one guarded INSERT). On PGlite that
      // statement needs no transaction: one session runs it alone and one process holds the data.
      let placed = batch.length > 0 ? place(base, batch) : undefined;
      let tried = false;
      if (placed && this.#singleSession && !dueAfter(placed.head.frontier.size)) {
        tried = true;
        if (await this.#insert(this.db, placed.rows, base.frontier.size)) head = placed.head;
      }
      if (head === base) {
        await this.db.transaction(
          async (tx) => {
            let current = base;
            const inserted = placed !== undefined && !tried && (await this.#insert(tx, placed.rows, base.frontier.size));
            if (!inserted) {
              // Records were appended since (by a write transaction, or another app server): read
              // them into a copy of the frontier and place the batch after them.
              const frontier = base.frontier.clone();
              let lastLeaf = base.lastLeaf;
              await this.#catchUp(tx, frontier, (leaf) => {
                lastLeaf = leaf;
              });
              current = { frontier, lastLeaf };
              placed = batch.length > 0 ? place(current, batch) : undefined;
              if (placed) await this.#insert(tx, placed.rows, undefined);
            }
            head = placed?.head ?? current;
            if (dueAfter(head.frontier.size)) {
              checkpointed = Math.max(checkpointed, await lastCheckpointSize(tx));
              if (head.frontier.size > checkpointed) {
                const size = head.frontier.size;
                const root = head.frontier.root();
                const note = this.opts.signer.sign({ origin: this.opts.signer.name, size, root });
                const createdAt = new Date();
                await tx.query(
                  'INSERT INTO audit_checkpoint (size, root, created_at, note) VALUES ($1, $2, $3::timestamptz, $4) ON CONFLICT (size) DO NOTHING',
                  [size, root, createdAt.toISOString(), note],
                );
                checkpoint = { size, root, createdAt, note };
                checkpointed = size;
              }
            }
          },
          { lock: AUDIT_LOCK },
        );
      }
      for (const r of placed?.rows ?? []) seqs.push(r.seq);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    this.#frontier = head.frontier;
    this.#lastLeaf = head.lastLeaf;
    this.#checkpointed = checkpointed;
    for (let i = 0; i < batch.length; i++) batch[i]?.resolve(seqs[i] as number);
    if (checkpoint) await this.#publish(checkpoint);
  }

  /**
   * Inserts placed records. With `after` (the size the batch was placed after), only if no record
   * beyond it exists yet; returns whether the rows went in. The guard and the insert are one
   * statement, and the caller holds the chain's lock (or is the only session), so nothing can be
   * appended between the check and the insert.
   */
  async #insert(tx: Queryable, placed: readonly Placed[], after: number | undefined): Promise<boolean> {
    const params: SqlValue[] = [];
    const tuples: string[] = [];
    for (const { record: r, seq, entry, leaf } of placed) {
      const values: SqlValue[] = [
        seq,
        r.tenant,
        r.time,
        r.request,
        r.what.action,
        r.what.type,
        r.what.id,
        r.outcome.status,
        agentOf(r),
        [...r.patients],
        entry,
        leaf,
      ];
      tuples.push(`(${values.map((v, i) => `$${params.push(v)}${CASTS[i] ?? ''}`).join(', ')})`);
    }
    const columns =
      'seq, tenant_id, recorded_at, request_id, action, resource_type, resource_id, outcome, agent, patients, entry, leaf_hash';
    if (after === undefined) {
      await tx.query(`INSERT INTO audit_log (${columns}) VALUES ${tuples.join(', ')}`, params);
      return true;
    }
    const res = await tx.query(
      `INSERT INTO audit_log (${columns}) SELECT * FROM (VALUES ${tuples.join(', ')}) v
       WHERE NOT EXISTS (SELECT 1 FROM audit_log WHERE seq > $${params.push(after)})`,
      params,
    );
    return res.rowCount === placed.length;
  }

  async #publish(c: CheckpointRow): Promise<void> {
    if (this.opts.checkpointFile) {
      try {
        appendLine(
          this.opts.checkpointFile,
          JSON.stringify({ size: c.size, root: c.root.toString('base64'), createdAt: c.createdAt.toISOString(), note: c.note }),
        );
      } catch (err) {
        this.opts.onError?.(
          new Error(`audit checkpoint ${c.size} could not be appended to ${this.opts.checkpointFile}: ${(err as Error).message}`),
        );
      }
    }
    if (this.opts.witness) {
      try {
        await this.opts.witness(c.note);
      } catch (err) {
        this.opts.onError?.(new Error(`audit checkpoint ${c.size} could not be sent to the witness: ${(err as Error).message}`));
      }
    }
  }
}

/** The batch placed after `head`: each record's seq, entry (with its predecessor's leaf hash) and leaf hash. */
function place(
  head: { readonly frontier: MerkleFrontier; readonly lastLeaf: Buffer | undefined },
  batch: readonly Pending[],
): { rows: Placed[]; head: { frontier: MerkleFrontier; lastLeaf: Buffer | undefined } } {
  const frontier = head.frontier.clone();
  let lastLeaf = head.lastLeaf;
  const rows: Placed[] = [];
  for (const p of batch) {
    const seq = frontier.size + 1;
    const entry = encodeRecord(p.record, seq, lastLeaf ? lastLeaf.toString('hex') : GENESIS_PREV);
    const leaf = leafHash(Buffer.from(entry, 'utf8'));
    rows.push({ record: p.record, seq, entry, leaf });
    frontier.append(leaf);
    lastLeaf = leaf;
  }
  return { rows, head: { frontier, lastLeaf } };
}

async function lastCheckpointSize(q: Queryable): Promise<number> {
  const res = await q.query<{ n: string | number | null }>('SELECT max(size) AS n FROM audit_checkpoint');
  return Number(res.rows[0]?.n ?? 0);
}

/** Appends one line and fsyncs it, creating the file (mode 0600) and its directory when needed. */
function appendLine(path: string, line: string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fd = openSync(path, 'a', 0o600);
  try {
    writeSync(fd, `${line}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
