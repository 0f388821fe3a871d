/**
 * `audit prove`: evidence that one record is in the signed log (an RFC 9162 inclusion proof), or
 * that a later signed tree head extends an earlier one (a consistency proof), in a form anyone can
 * check with the verifier key alone: the entry exactly as stored (its leaf hash is
 * SHA-256(0x00 || entry)), the path of hashes, and the signed checkpoint notes (docs/SECURITY.md
 * shows the check with sha256sum, xxd and openssl).
 *
 * A proof over millions of records reads only the 32-byte leaf_hash column, in key order and in
 * pages, and folds it into the O(log n) subtree roots the proof needs (merkle.ts SubtreeRoots);
 * only the proven record's entry is read. Nothing is handed out unchecked: the entry must still
 * hash to its leaf, and the finished proof must lead to the root its checkpoint signed; otherwise
 * the log was changed and the answer is `tampered`, never a proof that would not verify.
 */
import { readFileSync } from 'node:fs';
import type { Queryable } from '../../store/db.js';
import type { Checkpoint, CheckpointVerifier } from './checkpoint.js';
import {
  consistencyRanges,
  inclusionRanges,
  type LeafRange,
  leafHash,
  SubtreeRoots,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';

/** An inclusion proof of record `seq` (leaf index `seq - 1`) in the tree of the checkpoint at `treeSize`. Hashes are hex. */
export interface InclusionProof {
  readonly type: 'inclusion';
  readonly seq: number;
  readonly leafIndex: number;
  readonly treeSize: number;
  /** The record exactly as stored and hashed (UTF-8 JSON). */
  readonly entry: string;
  /** SHA-256(0x00 || entry). */
  readonly leafHash: string;
  /** The audit path, leaf side first (RFC 9162 2.1.3.1). */
  readonly path: readonly string[];
  /** The tree head the checkpoint signed. */
  readonly root: string;
  /** The signed checkpoint note at `treeSize` (C2SP signed note). */
  readonly checkpoint: string;
}

/** A consistency proof between the signed checkpoints at `size1` and `size2` (RFC 9162 2.1.4). Hashes are hex. */
export interface ConsistencyProof {
  readonly type: 'consistency';
  readonly size1: number;
  readonly size2: number;
  readonly root1: string;
  readonly root2: string;
  readonly proof: readonly string[];
  readonly checkpoint1: string;
  readonly checkpoint2: string;
}

export type AuditProof = InclusionProof | ConsistencyProof;

/** Record `seq` in the tree of `size` (default: the latest signed checkpoint), or checkpoint `from` against checkpoint `to`. */
export type ProofRequest = { readonly seq: number; readonly size?: number } | { readonly from: number; readonly to: number };

export interface ProveOptions {
  readonly verifier: CheckpointVerifier;
  /** The checkpoint file outside the database: a checkpoint missing from the database is looked for there. */
  readonly checkpointFile?: string;
  /** Leaf hashes read per query (default 50,000: 1.6 MB). */
  readonly batch?: number;
}

/**
 * Why no proof: `invalid` (the request names a record or size that cannot be proven), `not-found`
 * (no such checkpoint, an empty log), `tampered` (the log no longer matches what was signed).
 */
export class AuditProofError extends Error {
  override name = 'AuditProofError';
  constructor(
    readonly reason: 'invalid' | 'not-found' | 'tampered',
    message: string,
  ) {
    super(message);
  }
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export async function proveAudit(q: Queryable, req: ProofRequest, opts: ProveOptions): Promise<AuditProof> {
  const proof = 'seq' in req ? await proveInclusion(q, req, opts) : await proveConsistency(q, req, opts);
  // The leaves came from the database; only the signed roots say they are the ones that were logged.
  const check = checkProof(proof, opts.verifier);
  if (!check.ok) {
    const upTo = proof.type === 'inclusion' ? proof.treeSize : proof.size2;
    throw new AuditProofError(
      'tampered',
      `the records 1..${upTo} are not the ones the signed checkpoint at size ${upTo} covers (${check.problem}): the log was changed; run \`sushruta audit verify\``,
    );
  }
  return proof;
}

async function proveInclusion(q: Queryable, req: { seq: number; size?: number }, opts: ProveOptions): Promise<InclusionProof> {
  const { seq } = req;
  wholeFromOne(seq, 'the record number');
  if (req.size !== undefined) {
    wholeFromOne(req.size, 'the tree size');
    if (seq > req.size)
      throw new AuditProofError(
        'invalid',
        `record ${seq} is not in the tree of size ${req.size} (that tree holds records 1..${req.size}); give a larger --size or leave it out`,
      );
  }
  const records = await recordCount(q);
  if (records === 0) throw new AuditProofError('not-found', 'the audit log is empty: there is nothing to prove');
  if (seq > records) throw new AuditProofError('invalid', `record ${seq} does not exist: the log holds records 1..${records}`);
  let size = req.size;
  if (size === undefined) {
    size = await latestCheckpointSize(q);
    if (size === 0)
      throw new AuditProofError('not-found', 'the audit log has no signed checkpoint yet: there is no tree head to prove against');
    if (seq > size)
      throw new AuditProofError(
        'invalid',
        `record ${seq} is not covered by a signed checkpoint yet: the latest covers records 1..${size} (checkpoints are signed every audit.checkpointEvery records and audit.checkpointSeconds seconds)`,
      );
  }
  const cp = await signedCheckpoint(q, size, opts);
  const row = (await q.query<{ entry: string; leaf_hash: Uint8Array }>('SELECT entry, leaf_hash FROM audit_log WHERE seq = $1', [seq]))
    .rows[0];
  if (!row) throw new AuditProofError('tampered', `record ${seq} is missing (deleted): run \`sushruta audit verify\``);
  const leaf = leafHash(Buffer.from(row.entry, 'utf8'));
  if (!leaf.equals(Buffer.from(row.leaf_hash)))
    throw new AuditProofError(
      'tampered',
      `record ${seq}: its entry was changed after it was written (it no longer hashes to its leaf hash); run \`sushruta audit verify\``,
    );
  const claimed = entrySeq(row.entry);
  if (claimed !== seq)
    throw new AuditProofError(
      'tampered',
      `record ${seq}: the row holds the entry written as record ${claimed ?? '(unreadable)'} (rows reordered, renumbered or copied); run \`sushruta audit verify\``,
    );
  const path = await rangeRoots(q, inclusionRanges(seq - 1, size), opts.batch);
  return {
    type: 'inclusion',
    seq,
    leafIndex: seq - 1,
    treeSize: size,
    entry: row.entry,
    leafHash: leaf.toString('hex'),
    path: path.map(hex),
    root: cp.checkpoint.root.toString('hex'),
    checkpoint: cp.note,
  };
}

async function proveConsistency(q: Queryable, req: { from: number; to: number }, opts: ProveOptions): Promise<ConsistencyProof> {
  wholeFromOne(req.from, 'the first tree size');
  wholeFromOne(req.to, 'the second tree size');
  if (req.from > req.to)
    throw new AuditProofError('invalid', `the first tree (${req.from}) must not be larger than the second (${req.to}): swap them`);
  if ((await recordCount(q)) === 0) throw new AuditProofError('not-found', 'the audit log is empty: there is nothing to prove');
  const c1 = await signedCheckpoint(q, req.from, opts);
  const c2 = req.to === req.from ? c1 : await signedCheckpoint(q, req.to, opts);
  const proof = await rangeRoots(q, consistencyRanges(req.from, req.to), opts.batch);
  return {
    type: 'consistency',
    size1: req.from,
    size2: req.to,
    root1: c1.checkpoint.root.toString('hex'),
    root2: c2.checkpoint.root.toString('hex'),
    proof: proof.map(hex),
    checkpoint1: c1.note,
    checkpoint2: c2.note,
  };
}

/**
 * Checks a proof as its recipient would, with nothing but the verifier key: the signatures of the
 * checkpoint notes, that the notes state the sizes and roots the proof names, the entry's leaf
 * hash and position, and the RFC 9162 verification walk.
 */
export function checkProof(p: AuditProof, verifier: CheckpointVerifier): { ok: true } | { ok: false; problem: string } {
  const note = (text: string, size: number, root: string): string | undefined => {
    const opened = verifier.open(text);
    if (!opened.ok) return `the checkpoint at size ${size}: ${opened.problem}`;
    if (opened.checkpoint.size !== size) return `the checkpoint note states size ${opened.checkpoint.size}, not ${size}`;
    if (opened.checkpoint.root.toString('hex') !== root) return `the checkpoint note at size ${size} states another root`;
    return undefined;
  };
  const fail = (problem: string) => ({ ok: false as const, problem });
  const bytes = (h: readonly string[]) => h.map((x) => Buffer.from(x, 'hex'));
  if (p.type === 'inclusion') {
    const bad = note(p.checkpoint, p.treeSize, p.root);
    if (bad) return fail(bad);
    const leaf = leafHash(Buffer.from(p.entry, 'utf8'));
    if (leaf.toString('hex') !== p.leafHash) return fail('the entry does not hash to the leaf hash given');
    if (p.leafIndex !== p.seq - 1 || entrySeq(p.entry) !== p.seq) return fail(`the entry is not record ${p.seq}`);
    if (!verifyInclusion(leaf, p.leafIndex, p.treeSize, bytes(p.path), Buffer.from(p.root, 'hex')))
      return fail(`the audit path does not lead from record ${p.seq} to the signed root`);
    return { ok: true };
  }
  const bad = note(p.checkpoint1, p.size1, p.root1) ?? note(p.checkpoint2, p.size2, p.root2);
  if (bad) return fail(bad);
  if (!verifyConsistency(p.size1, p.size2, Buffer.from(p.root1, 'hex'), Buffer.from(p.root2, 'hex'), bytes(p.proof)))
    return fail(`the proof does not show the tree of ${p.size1} to be a prefix of the tree of ${p.size2}`);
  return { ok: true };
}

function wholeFromOne(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new AuditProofError('invalid', `${what} must be a whole number from 1, got ${n}`);
}

/** The `seq` an entry states about itself: `{"v":1,"seq":N,...` (record.ts writes these keys first). */
function entrySeq(entry: string): number | undefined {
  try {
    const seq = (JSON.parse(entry) as { seq?: unknown }).seq;
    return typeof seq === 'number' ? seq : undefined;
  } catch {
    return undefined;
  }
}

async function recordCount(q: Queryable): Promise<number> {
  const r = await q.query<{ n: string | number | null }>('SELECT max(seq) AS n FROM audit_log');
  return Number(r.rows[0]?.n ?? 0);
}

async function latestCheckpointSize(q: Queryable): Promise<number> {
  const r = await q.query<{ n: string | number | null }>('SELECT max(size) AS n FROM audit_checkpoint');
  return Number(r.rows[0]?.n ?? 0);
}

/** The signed note at `size`: from the database, else from the checkpoint file; refused when its signature fails. */
async function signedCheckpoint(q: Queryable, size: number, opts: ProveOptions): Promise<{ note: string; checkpoint: Checkpoint }> {
  const row = (await q.query<{ note: string }>('SELECT note FROM audit_checkpoint WHERE size = $1', [size])).rows[0];
  const note = row?.note ?? fileNote(opts.checkpointFile, size, opts.verifier);
  if (note === undefined) {
    const near = await q.query<{ below: string | number | null; above: string | number | null }>(
      'SELECT (SELECT max(size) FROM audit_checkpoint WHERE size < $1) AS below, (SELECT min(size) FROM audit_checkpoint WHERE size > $1) AS above',
      [size],
    );
    const { below, above } = near.rows[0] ?? { below: null, above: null };
    const nearest = [below, above].filter((x) => x !== null).map(Number);
    throw new AuditProofError(
      'not-found',
      `there is no signed checkpoint at size ${size}${nearest.length > 0 ? `; the nearest are at ${nearest.join(' and ')}` : ': the log has no signed checkpoint yet'}`,
    );
  }
  const opened = opts.verifier.open(note);
  if (!opened.ok) throw new AuditProofError('tampered', `the checkpoint at size ${size} does not verify: ${opened.problem}`);
  if (opened.checkpoint.size !== size)
    throw new AuditProofError('tampered', `the checkpoint stored at size ${size} states size ${opened.checkpoint.size}`);
  return { note, checkpoint: opened.checkpoint };
}

/** The first validly signed note at `size` in the checkpoint file (JSON Lines), if any. */
function fileNote(file: string | undefined, size: number, verifier: CheckpointVerifier): string | undefined {
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  for (const line of text.split('\n')) {
    if (!line.includes(`"size":${size},`)) continue;
    try {
      const note = (JSON.parse(line) as { note?: unknown }).note;
      if (typeof note !== 'string') continue;
      const opened = verifier.open(note);
      if (opened.ok && opened.checkpoint.size === size) return note;
    } catch {
      /* not a checkpoint line: `audit verify` reports it */
    }
  }
  return undefined;
}

/**
 * The subtree roots of `ranges`, from the leaf hashes of records start+1..end read once in pages
 * by key; a record missing from that stretch means the log was cut or rows deleted.
 */
async function rangeRoots(q: Queryable, ranges: readonly LeafRange[], batch = 50_000): Promise<Buffer[]> {
  const roots = new SubtreeRoots(ranges);
  const last = roots.end; // the seq of leaf index end - 1
  let next = roots.start + 1; // the seq of the next leaf to feed
  const page = Math.max(1, Math.trunc(batch));
  while (next <= last) {
    const res = await q.query<{ seq: string | number; leaf_hash: Uint8Array }>(
      `SELECT seq, leaf_hash FROM audit_log WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT ${page}`,
      [next, last],
    );
    for (const row of res.rows) {
      const seq = Number(row.seq);
      if (seq !== next) throw missing(next, seq);
      const h = row.leaf_hash;
      roots.add(Buffer.from(h.buffer, h.byteOffset, h.byteLength));
      next += 1;
    }
    if (res.rows.length === 0) throw missing(next, undefined, last);
  }
  return roots.roots();
}

function missing(seq: number, found: number | undefined, last?: number): AuditProofError {
  const what =
    found === undefined
      ? `records ${seq}..${last} are missing, though a signed checkpoint covers them (the tail was cut off)`
      : `record ${seq} is missing (deleted): the log goes from record ${seq - 1} to record ${found}`;
  return new AuditProofError('tampered', `${what}; run \`sushruta audit verify\``);
}
