/**
 * The Merkle tree of the audit log (DESIGN.md invariant 3), exactly as RFC 6962 section 2.1 and
 * RFC 9162 section 2.1 define it, so that anyone can check Sushruta's checkpoints and proofs with
 * any Certificate Transparency tooling or by hand (docs/SECURITY.md):
 *
 *   leaf hash  = SHA-256(0x00 || entry)
 *   node hash  = SHA-256(0x01 || left || right)
 *   MTH({})    = SHA-256("")
 *   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two below n
 *
 * Written here rather than taken from a package: no maintained npm package implements RFC 6962
 * proofs (the ones that exist are blockchain trees with other hashing or splitting rules, which
 * would silently produce roots no one else can check). Checked against the published RFC 6962 test
 * vectors (test/audit/merkle.test.ts).
 *
 * Sizes and indexes are JavaScript numbers: exact up to 2^53 records.
 */
import { createHash } from 'node:crypto';

/** A 32-byte SHA-256 value: a leaf hash, a node hash or a root. */
export type MerkleHash = Buffer;

const LEAF = Buffer.from([0x00]);
const NODE = Buffer.from([0x01]);

export const EMPTY_ROOT: MerkleHash = createHash('sha256').digest();

/** The leaf hash of an entry's bytes; a string is hashed as its UTF-8 bytes (no copy needed to hash a stored entry). */
export function leafHash(entry: Uint8Array | string): MerkleHash {
  return createHash('sha256').update(LEAF).update(entry).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): MerkleHash {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

/** The largest power of two strictly below n (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function checkSize(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a whole number from 0, got ${n}`);
}

/** MTH of the leaf hashes leaves[from, to). */
function subtreeRoot(leaves: readonly MerkleHash[], from: number, to: number): MerkleHash {
  const n = to - from;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leaves[from] as MerkleHash;
  const k = split(n);
  return nodeHash(subtreeRoot(leaves, from, from + k), subtreeRoot(leaves, from + k, to));
}

/** The tree head (MTH) of a list of leaf hashes. */
export function rootOf(leaves: readonly MerkleHash[]): MerkleHash {
  return subtreeRoot(leaves, 0, leaves.length);
}

/**
 * A run of leaves [from, to) whose subtree hash MTH(D[from:to]) is one hash of a proof. Proofs are
 * described by their ranges first so that a caller holding millions of leaves in a database can
 * stream them once (SubtreeRoots) instead of loading them into memory.
 */
export interface LeafRange {
  readonly from: number;
  readonly to: number;
}

/** The ranges of the audit path of leaf `index` in a tree of `size` (RFC 6962 2.1.1 PATH(m, D[n])), leaf side first. */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  checkSize(index, 'leaf index');
  checkSize(size, 'tree size');
  if (index >= size) throw new RangeError(`leaf index ${index} is not in a tree of ${size}`);
  const path: LeafRange[] = [];
  const walk = (m: number, from: number, to: number): void => {
    const n = to - from;
    if (n <= 1) return;
    const k = split(n);
    if (m < k) {
      walk(m, from, from + k);
      path.push({ from: from + k, to });
    } else {
      walk(m - k, from + k, to);
      path.push({ from, to: from + k });
    }
  };
  walk(index, 0, size);
  return path;
}

/** The ranges of the proof that the tree of `size1` leaves is a prefix of the tree of `size2` (RFC 6962 2.1.2 PROOF(m, D[n])). */
export function consistencyRanges(size1: number, size2: number): LeafRange[] {
  checkSize(size1, 'first tree size');
  checkSize(size2, 'second tree size');
  if (size1 > size2) throw new RangeError(`a tree of ${size1} is not a prefix of a tree of ${size2}`);
  const proof: LeafRange[] = [];
  if (size1 === 0 || size1 === size2) return proof;
  const sub = (m: number, from: number, to: number, whole: boolean): void => {
    const n = to - from;
    if (m === n) {
      if (!whole) proof.push({ from, to });
      return;
    }
    const k = split(n);
    if (m <= k) {
      sub(m, from, from + k, whole);
      proof.push({ from: from + k, to });
    } else {
      sub(m - k, from + k, to, false);
      proof.push({ from, to: from + k });
    }
  };
  sub(size1, 0, size2, true);
  return proof;
}

/** The audit path of leaf `index` in the tree of `leaves` (RFC 6962 2.1.1 PATH(m, D[n])), leaf side first. */
export function inclusionProof(leaves: readonly MerkleHash[], index: number): MerkleHash[] {
  return inclusionRanges(index, leaves.length).map((r) => subtreeRoot(leaves, r.from, r.to));
}

/** The proof that the tree of the first `size1` leaves is a prefix of the tree of all `leaves` (RFC 6962 2.1.2 PROOF(m, D[n])). */
export function consistencyProof(leaves: readonly MerkleHash[], size1: number): MerkleHash[] {
  return consistencyRanges(size1, leaves.length).map((r) => subtreeRoot(leaves, r.from, r.to));
}

/**
 * The hashes of a proof's ranges from leaves fed once, in order: O(log n) memory however many
 * leaves there are. The ranges of one proof never overlap, so each leaf feeds at most one of them;
 * leaves in no range (the proven leaf itself) are passed over.
 */
export class SubtreeRoots {
  readonly #ranges: readonly LeafRange[];
  /** Indexes into #ranges by `from`. */
  readonly #order: readonly number[];
  readonly #frontiers: MerkleFrontier[];
  #at = 0;
  #next: number;

  constructor(ranges: readonly LeafRange[]) {
    this.#ranges = ranges;
    this.#order = ranges.map((_, i) => i).sort((a, b) => (ranges[a] as LeafRange).from - (ranges[b] as LeafRange).from);
    this.#frontiers = ranges.map(() => new MerkleFrontier());
    this.#next = this.start;
  }

  /** The first leaf index needed (0 when there are no ranges). */
  get start(): number {
    return this.#ranges.length === 0 ? 0 : Math.min(...this.#ranges.map((r) => r.from));
  }

  /** One past the last leaf index needed. */
  get end(): number {
    return this.#ranges.length === 0 ? 0 : Math.max(...this.#ranges.map((r) => r.to));
  }

  /** Feeds the leaf at index `start`, then `start + 1`, and so on. */
  add(leaf: MerkleHash): void {
    const i = this.#next++;
    for (;;) {
      const k = this.#order[this.#at];
      if (k === undefined) return;
      const r = this.#ranges[k] as LeafRange;
      if (i < r.from) return;
      if (i < r.to) {
        (this.#frontiers[k] as MerkleFrontier).append(leaf);
        return;
      }
      this.#at += 1;
    }
  }

  /** The hash of every range, in the order of the ranges; throws if a range has not had all its leaves. */
  roots(): MerkleHash[] {
    return this.#ranges.map((r, k) => {
      const f = this.#frontiers[k] as MerkleFrontier;
      if (f.size !== r.to - r.from) throw new RangeError(`leaves ${r.from}..${r.to - 1} were not all given`);
      return f.root();
    });
  }
}

const isHash = (h: Uint8Array): boolean => h.length === 32;

/** The node indexes of the verification walks of RFC 9162 (fn: first/leaf, sn: last). */
interface Walk {
  fn: number;
  sn: number;
}

function halve(at: Walk): void {
  at.fn = Math.floor(at.fn / 2);
  at.sn = Math.floor(at.sn / 2);
}

/** "If LSB(fn) is not set, right-shift fn and sn equally until either LSB(fn) is set or fn is 0." */
function shiftWhileEven(at: Walk): void {
  while (at.fn % 2 === 0 && at.fn !== 0) halve(at);
}

/** RFC 9162 2.1.3.2: whether `proof` shows the leaf with hash `leaf` at `index` in the tree of `size` with head `root`. */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (!isHash(leaf) || !isHash(root) || !proof.every(isHash)) return false;
  const at = { fn: index, sn: size - 1 };
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (at.sn === 0) return false;
    if (at.fn % 2 === 1 || at.fn === at.sn) {
      r = nodeHash(p, r);
      shiftWhileEven(at);
    } else {
      r = nodeHash(r, p);
    }
    halve(at);
  }
  return at.sn === 0 && Buffer.from(r).equals(Buffer.from(root));
}

/** RFC 9162 2.1.4.2: whether `proof` shows that the tree (`size1`, `root1`) is a prefix of (`size2`, `root2`). */
export function verifyConsistency(
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size2 < size1) return false;
  if (!proof.every(isHash)) return false;
  const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
  if (size1 === size2) return proof.length === 0 && eq(root1, root2);
  if (size1 === 0) return proof.length === 0; // the empty tree is a prefix of every tree
  if (proof.length === 0 || !isHash(root1) || !isHash(root2)) return false;
  // A first tree whose size is a power of two is a complete subtree: its head starts the path.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  const at = { fn: size1 - 1, sn: size2 - 1 };
  while (at.fn % 2 === 1) halve(at);
  let fr: Uint8Array = path[0] as Uint8Array;
  let sr: Uint8Array = path[0] as Uint8Array;
  for (const c of path.slice(1)) {
    if (at.sn === 0) return false;
    if (at.fn % 2 === 1 || at.fn === at.sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      shiftWhileEven(at);
    } else {
      sr = nodeHash(sr, c);
    }
    halve(at);
  }
  return at.sn === 0 && eq(fr, root1) && eq(sr, root2);
}

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

/**
 * The right edge of a growing tree (a "compact range"): the roots of its perfect subtrees, largest
 * first. Appending a leaf and asking for the head both take O(log n) hashes and memory, which is
 * what lets `audit verify` recompute the tree head of millions of records in one pass.
 */
export class MerkleFrontier {
  /** Roots of the perfect subtrees, largest (leftmost) first; sizes are the set bits of `size`. */
  private readonly roots: MerkleHash[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  append(leaf: MerkleHash): void {
    let h = leaf;
    // Merge equal-sized subtrees, like carrying in binary addition: one per trailing 1 bit of count.
    for (let c = this.count; c % 2 === 1; c = Math.floor(c / 2)) h = nodeHash(this.roots.pop() as MerkleHash, h);
    this.roots.push(h);
    this.count += 1;
  }

  /** An independent copy (to extend tentatively inside a transaction that may roll back). */
  clone(): MerkleFrontier {
    const c = new MerkleFrontier();
    c.roots.push(...this.roots);
    c.count = this.count;
    return c;
  }

  /** The tree head of the leaves appended so far. */
  root(): MerkleHash {
    if (this.roots.length === 0) return EMPTY_ROOT;
    let acc = this.roots[this.roots.length - 1] as MerkleHash;
    for (let i = this.roots.length - 2; i >= 0; i--) acc = nodeHash(this.roots[i] as MerkleHash, acc);
    return acc;
  }
}
