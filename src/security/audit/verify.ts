/**
 * `audit verify`: checks every record, link, Merkle tree head and signature of the audit log in one
 * streaming pass, and names the first record that is not what was written.
 *
 * Needs no key but the audit log's public (verifier) key: entries are hashed as stored, sealed
 * fields stay sealed. What each kind of tampering looks like to it:
 *
 * | tampering                                   | found as                                                      |
 * |---------------------------------------------|---------------------------------------------------------------|
 * | a field of an entry changed                 | the entry no longer hashes to its leaf hash (that record)     |
 * | ...and its leaf hash recomputed             | the next record names another hash as its predecessor         |
 * | ...and every later record rewritten to match| the next signed checkpoint's root differs (the records between the last good checkpoint and it) |
 * | a searchable column changed                 | the column disagrees with the entry (that record)             |
 * | a row deleted                               | a gap in the sequence (that record is missing)                |
 * | rows reordered or renumbered                | a row holds the entry of another position (that record)       |
 * | the tail cut off                            | a signed checkpoint (in the database or the file outside it) covers records that are gone |
 * | a checkpoint forged or altered              | its signature or its root does not verify (that checkpoint)   |
 */
import { readFileSync } from 'node:fs';
import type { Queryable } from '../../store/db.js';
import type { CheckpointVerifier } from './checkpoint.js';
import { leafHash, MerkleFrontier } from './merkle.js';
import { agentOf, decodeRecord, GENESIS_PREV } from './record.js';

export interface VerifyOptions {
  readonly verifier: CheckpointVerifier;
  /** The checkpoint file outside the database (JSON Lines), when there is one. */
  readonly checkpointFile?: string;
  /** Refuse to verify when `checkpointFile` does not exist (an auditor named it: a wrong path must not pass silently). */
  readonly requireCheckpointFile?: boolean;
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Rows read per query (default 2,000: about 2.5 MB; larger pages cost more in garbage collection
   * than they save in round trips, 10% more CPU per record at 10,000 on both databases).
   */
  readonly batch?: number;
}

export interface VerifyProblem {
  /** The record (position) concerned, or for a checkpoint problem the size it claims. */
  readonly seq: number;
  readonly what: 'record' | 'checkpoint';
  readonly problem: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly records: number;
  /** Checkpoints whose signature and root were verified, in the database and in the file. */
  readonly checkpoints: { readonly database: number; readonly file: number; readonly verifiedRoots: number };
  /** The checkpoint file read, or why none was: without it a cut tail with its checkpoints cannot be seen. */
  readonly checkpointFile: { readonly path: string | null; readonly found: boolean };
  /** The earliest problem, by position. */
  readonly firstBad?: VerifyProblem;
  /** Up to 100 problems, by position. */
  readonly problems: readonly VerifyProblem[];
  readonly seconds: number;
}

interface KnownCheckpoint {
  readonly size: number;
  readonly root: Buffer;
  readonly source: string;
}

const MAX_PROBLEMS = 100;

/**
 * What verify reads of each row. The searchable columns come as one JSON array rather than nine
 * values: on PGlite formatting and handing over each value costs more than the JSON text, and
 * JSON renders every type exactly (nulls, text[] as an array, timestamptz as ISO 8601 with its
 * offset), so the comparison with the entry loses nothing.
 */
export const AUDIT_ROW_COLUMNS =
  'seq, entry, leaf_hash, json_build_array(tenant_id, recorded_at, request_id, action, resource_type, resource_id, outcome, agent, patients)::text AS columns';

/** A row of audit_log as verify reads it (AUDIT_ROW_COLUMNS). */
export interface AuditRow {
  readonly seq: string | number;
  readonly entry: string;
  readonly leaf_hash: Uint8Array;
  /** JSON: [tenant_id, recorded_at, request_id, action, resource_type, resource_id, outcome, agent, patients]. */
  readonly columns: string;
}

/**
 * The checks of every record, fed the rows in `seq` order: sequence, entry hash, link, columns,
 * and the tree head at every known checkpoint. Separate from the reading so that the benchmark
 * (bench/audit-verify.ts) can time exactly this work on rows held in memory.
 */
export class RecordChecker {
  readonly #frontier = new MerkleFrontier();
  #prevLeaf: Buffer | undefined;
  #expected = 1;
  #lastGoodCheckpoint = 0;
  /** The highest position a record problem was reported at. */
  #lastRecordProblem = 0;
  #verifiedRoots = 0;

  constructor(
    private readonly known: ReadonlyMap<number, KnownCheckpoint>,
    private readonly report: (p: VerifyProblem) => void,
  ) {}

  /** Records checked so far (the last position seen). */
  get records(): number {
    return this.#expected - 1;
  }

  get verifiedRoots(): number {
    return this.#verifiedRoots;
  }

  #problem(seq: number, problem: string): void {
    this.#lastRecordProblem = Math.max(this.#lastRecordProblem, seq);
    this.report({ seq, what: 'record', problem });
  }

  check(row: AuditRow): void {
    const seq = Number(row.seq);
    const expected = this.#expected;
    if (seq !== expected) {
      this.#problem(
        expected,
        seq === expected + 1
          ? `record ${expected} is missing (deleted): the log goes from record ${expected - 1} to record ${seq}`
          : `records ${expected}..${seq - 1} are missing (deleted): the log goes from record ${expected - 1} to record ${seq}`,
      );
    }
    const leaf = leafHash(row.entry);
    let rec: ReturnType<typeof decodeRecord> | undefined;
    try {
      rec = decodeRecord(row.entry);
    } catch (err) {
      this.#problem(seq, `record ${seq}: ${(err as Error).message}`);
    }
    if (rec && rec.seq !== seq) {
      this.#problem(seq, `record ${seq}: the row holds the entry written as record ${rec.seq} (rows reordered, renumbered or copied)`);
    } else if (!leaf.equals(row.leaf_hash)) {
      this.#problem(seq, `record ${seq}: its entry was changed after it was written (it no longer hashes to its leaf hash)`);
    } else if (rec && rec.prev !== (this.#prevLeaf ? this.#prevLeaf.toString('hex') : GENESIS_PREV) && seq === expected) {
      const before = seq - 1;
      this.#problem(before, `record ${before} was changed after it was written: record ${seq} names a different hash for its predecessor`);
    }
    if (rec) {
      const columns = columnMismatch(row, rec);
      if (columns) this.#problem(seq, `record ${seq}: the ${columns} column was changed (it no longer says what the entry says)`);
    }
    // The tree is built from the entries as they are now; a changed record shows at the next checkpoint too.
    this.#frontier.append(leaf);
    this.#prevLeaf = leaf;
    this.#expected = seq + 1;
    const c = this.known.get(this.#frontier.size);
    if (c) {
      if (this.#frontier.root().equals(c.root)) {
        this.#lastGoodCheckpoint = c.size;
        this.#verifiedRoots += 1;
      } else if (this.#lastRecordProblem <= this.#lastGoodCheckpoint) {
        // Only when no record in the interval was already named: then the interval is all we can say.
        this.#problem(
          this.#lastGoodCheckpoint + 1,
          `the records ${this.#lastGoodCheckpoint + 1}..${c.size} are not the ones the checkpoint at size ${c.size} (${c.source}) signed: at least one of them was rewritten`,
        );
      }
    }
  }
}

export async function verifyAuditLog(q: Queryable, opts: VerifyOptions): Promise<VerifyReport> {
  const started = performance.now();
  const problems: VerifyProblem[] = [];
  const report = (p: VerifyProblem) => {
    if (problems.length < MAX_PROBLEMS * 10) problems.push(p);
  };

  // 1. Checkpoints: every signature, and agreement between the database and the file.
  const known = new Map<number, KnownCheckpoint>();
  const remember = (c: KnownCheckpoint) => {
    const had = known.get(c.size);
    if (had && !had.root.equals(c.root)) {
      report({
        seq: c.size,
        what: 'checkpoint',
        problem: `two validly signed checkpoints at size ${c.size} (${had.source}, ${c.source}) have different roots: the log was forked`,
      });
    } else if (!had) known.set(c.size, c);
  };
  const dbRows = await q.query<{ size: string | number; root: Uint8Array; note: string }>(
    'SELECT size, root, note FROM audit_checkpoint ORDER BY size',
  );
  let databaseCheckpoints = 0;
  for (const row of dbRows.rows) {
    const size = Number(row.size);
    const opened = opts.verifier.open(row.note);
    if (!opened.ok) {
      report({ seq: size, what: 'checkpoint', problem: `checkpoint at size ${size} in the database: ${opened.problem}` });
      continue;
    }
    if (opened.checkpoint.size !== size || !opened.checkpoint.root.equals(Buffer.from(row.root))) {
      report({
        seq: size,
        what: 'checkpoint',
        problem: `checkpoint at size ${size} in the database: its size or root column differs from its signed note`,
      });
      continue;
    }
    databaseCheckpoints += 1;
    remember({ size, root: opened.checkpoint.root, source: 'database' });
  }
  let fileCheckpoints = 0;
  let fileFound = opts.checkpointFile !== undefined;
  if (opts.checkpointFile) {
    let text = '';
    try {
      text = readFileSync(opts.checkpointFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (opts.requireCheckpointFile) throw new Error(`the checkpoint file ${opts.checkpointFile} does not exist`);
      fileFound = false;
    }
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      let note: unknown;
      try {
        note = (JSON.parse(line) as { note?: unknown }).note;
      } catch {
        note = undefined;
      }
      if (typeof note !== 'string') {
        report({ seq: 0, what: 'checkpoint', problem: `checkpoint file line ${i + 1} is not a checkpoint record` });
        return;
      }
      const opened = opts.verifier.open(note);
      if (!opened.ok) {
        report({ seq: 0, what: 'checkpoint', problem: `checkpoint file line ${i + 1}: ${opened.problem}` });
        return;
      }
      fileCheckpoints += 1;
      remember({ size: opened.checkpoint.size, root: opened.checkpoint.root, source: 'checkpoint file' });
    });
  }

  // 2. Records: sequence, entry hash, link, columns; tree heads at every known checkpoint.
  const totalRes = await q.query<{ n: string | number | null }>('SELECT max(seq) AS n FROM audit_log');
  const total = Number(totalRes.rows[0]?.n ?? 0);
  const checker = new RecordChecker(known, report);
  const batch = Math.max(100, opts.batch ?? 2000);
  const page = (after: number) =>
    q.query<AuditRow>(`SELECT ${AUDIT_ROW_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT ${batch}`, [after]);
  // The next page is asked for before this one is checked, so the database (PostgreSQL's process,
  // PGlite's worker thread) reads it while this thread hashes and compares.
  let next: ReturnType<typeof page> | undefined = page(0);
  while (next) {
    const res: Awaited<ReturnType<typeof page>> = await next;
    const last = res.rows[res.rows.length - 1];
    next = res.rows.length === batch && last ? page(Number(last.seq)) : undefined;
    // Awaited on the next turn; until then a failure must not count as unhandled.
    next?.catch(() => undefined);
    for (const row of res.rows) {
      checker.check(row);
      if (checker.records % 10_000 === 0) opts.onProgress?.(checker.records, total);
    }
  }
  const records = checker.records;
  const verifiedRoots = checker.verifiedRoots;
  opts.onProgress?.(records, total);

  // 3. A signed checkpoint beyond the end: the tail was cut off.
  const beyond = [...known.values()].filter((c) => c.size > records).sort((a, b) => b.size - a.size)[0];
  if (beyond) {
    report({
      seq: records + 1,
      what: 'record',
      problem: `the log ends at record ${records}, but a signed checkpoint (${beyond.source}) covers ${beyond.size} records: records ${records + 1}..${beyond.size} were removed`,
    });
  }

  // By position, records before checkpoints at the same position; otherwise in the order found.
  const rank = (p: VerifyProblem) => (p.what === 'record' ? 0 : 1);
  const sorted = problems.sort((a, b) => a.seq - b.seq || rank(a) - rank(b)).slice(0, MAX_PROBLEMS);
  return {
    ok: sorted.length === 0,
    records,
    checkpoints: { database: databaseCheckpoints, file: fileCheckpoints, verifiedRoots },
    checkpointFile: { path: opts.checkpointFile ?? null, found: fileFound },
    ...(sorted[0] ? { firstBad: sorted[0] } : {}),
    problems: sorted,
    seconds: (performance.now() - started) / 1000,
  };
}

const COLUMN_NAMES = ['tenant_id', 'recorded_at', 'request_id', 'action', 'resource_type', 'resource_id', 'outcome', 'agent', 'patients'];

/** The first searchable column that no longer says what the entry says, or undefined. */
function columnMismatch(row: AuditRow, rec: ReturnType<typeof decodeRecord>): string | undefined {
  let c: unknown;
  try {
    c = JSON.parse(row.columns);
  } catch {
    return COLUMN_NAMES.join(', ');
  }
  if (!Array.isArray(c) || c.length !== COLUMN_NAMES.length) return COLUMN_NAMES.join(', ');
  const [tenant, time, request, action, type, id, outcome, agent, patients] = c as unknown[];
  if (tenant !== rec.tenant) return 'tenant_id';
  if (typeof time !== 'string' || Date.parse(time) !== Date.parse(rec.time)) return 'recorded_at';
  if (request !== rec.request) return 'request_id';
  if (action !== rec.what.action) return 'action';
  if (type !== rec.what.type) return 'resource_type';
  if (id !== rec.what.id) return 'resource_id';
  if (outcome !== rec.outcome.status) return 'outcome';
  if (agent !== agentOf(rec)) return 'agent';
  const b = rec.patients;
  if (!Array.isArray(patients) || patients.length !== b.length || patients.some((x, i) => x !== b[i])) return 'patients';
  return undefined;
}
