/**
 * The audit log's Merkle tree against the published RFC 6962 test vectors (the Certificate
 * Transparency reference data, as transparency-dev/merkle publishes it in testonly/constants.go and
 * proof/verify_test.go; used as data only), then against itself over every tree shape up to 40
 * leaves, and against the corruptions a forger would try.
 */
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  consistencyRanges,
  inclusionRanges,
  leafHash,
  MerkleFrontier,
  nodeHash,
  rootOf,
  SubtreeRoots,
  verifyConsistency,
  verifyInclusion,
} from '../../src/security/audit/merkle.js';

const hx = (s: string) => Buffer.from(s, 'hex');
const LEAF_INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hx);
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
/** Inclusion vectors: leaf is 1-based, as published. */
const INCLUSION: { leaf: number; size: number; proof: string[] }[] = [
  { leaf: 1, size: 1, proof: [] },
  {
    leaf: 1,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    leaf: 6,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { leaf: 3, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    leaf: 2,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];
const CONSISTENCY: { size1: number; size2: number; proof: string[] }[] = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

const LEAVES = LEAF_INPUTS.map(leafHash);
const hex = (h: Buffer) => h.toString('hex');
const flip = (h: Buffer) => {
  const c = Buffer.from(h);
  c[0] = (c[0] as number) ^ 8;
  return c;
};

describe('RFC 6962 Merkle tree: published vectors', () => {
  it('gives the published tree head for every size 0..8, directly and incrementally', () => {
    expect(hex(EMPTY_ROOT)).toBe(ROOTS[0]);
    const f = new MerkleFrontier();
    expect(hex(f.root())).toBe(ROOTS[0]);
    for (let n = 1; n <= LEAVES.length; n++) {
      expect(hex(rootOf(LEAVES.slice(0, n))), `size ${n}`).toBe(ROOTS[n]);
      f.append(LEAVES[n - 1] as Buffer);
      expect(hex(f.root()), `frontier size ${n}`).toBe(ROOTS[n]);
      expect(f.size).toBe(n);
    }
  });

  it('uses the 0x00 leaf and 0x01 node prefixes', () => {
    expect(hex(leafHash(Buffer.alloc(0)))).toBe(ROOTS[1]);
    expect(hex(nodeHash(LEAVES[0] as Buffer, LEAVES[1] as Buffer))).toBe(ROOTS[2]);
  });

  it.each(INCLUSION)('inclusion of leaf $leaf in a tree of $size: produced and verified as published', ({ leaf, size, proof }) => {
    const tree = LEAVES.slice(0, size);
    expect(inclusionProof(tree, leaf - 1).map(hex)).toEqual(proof);
    expect(verifyInclusion(LEAVES[leaf - 1] as Buffer, leaf - 1, size, proof.map(hx), hx(ROOTS[size] as string))).toBe(true);
  });

  it.each(CONSISTENCY)('consistency of $size1 -> $size2: produced and verified as published', ({ size1, size2, proof }) => {
    expect(consistencyProof(LEAVES.slice(0, size2), size1).map(hex)).toEqual(proof);
    expect(verifyConsistency(size1, size2, hx(ROOTS[size1] as string), hx(ROOTS[size2] as string), proof.map(hx))).toBe(true);
  });
});

describe('RFC 6962 Merkle tree: every shape, and forgeries', () => {
  const many = Array.from({ length: 40 }, (_, i) => leafHash(Buffer.from([i, i * 7 + 1, 0x5a])));

  it('every inclusion proof in every tree up to 40 leaves verifies, and its corruptions do not', () => {
    for (let n = 1; n <= many.length; n++) {
      const tree = many.slice(0, n);
      const root = rootOf(tree);
      const f = new MerkleFrontier();
      for (const l of tree) f.append(l);
      expect(f.root().equals(root)).toBe(true);
      for (let i = 0; i < n; i++) {
        const leaf = tree[i] as Buffer;
        const path = inclusionProof(tree, i);
        expect(verifyInclusion(leaf, i, n, path, root), `${i} of ${n}`).toBe(true);
        if (i > 0) expect(verifyInclusion(leaf, i - 1, n, path, root)).toBe(false);
        if (i + 1 < n) expect(verifyInclusion(leaf, i + 1, n, path, root)).toBe(false);
        expect(verifyInclusion(leaf, i, n * 2, path, root)).toBe(false);
        expect(verifyInclusion(flip(leaf), i, n, path, root)).toBe(false);
        expect(verifyInclusion(leaf, i, n, path, flip(root))).toBe(false);
        expect(verifyInclusion(leaf, i, n, [...path, root], root)).toBe(false);
        if (path.length > 0) {
          expect(verifyInclusion(leaf, i, n, path.slice(0, -1), root)).toBe(false);
          for (let j = 0; j < path.length; j++) {
            const bad = [...path];
            bad[j] = flip(bad[j] as Buffer);
            expect(verifyInclusion(leaf, i, n, bad, root)).toBe(false);
          }
        }
      }
    }
  });

  it('every consistency proof between trees up to 40 leaves verifies, and its corruptions do not', () => {
    for (let n = 1; n <= many.length; n++) {
      const root2 = rootOf(many.slice(0, n));
      for (let m = 1; m < n; m++) {
        const root1 = rootOf(many.slice(0, m));
        const proof = consistencyProof(many.slice(0, n), m);
        expect(verifyConsistency(m, n, root1, root2, proof), `${m} -> ${n}`).toBe(true);
        expect(verifyConsistency(m, n, root2, root1, proof)).toBe(false);
        expect(verifyConsistency(m, n, flip(root1), root2, proof)).toBe(false);
        expect(verifyConsistency(m, n, root1, flip(root2), proof)).toBe(false);
        expect(verifyConsistency(m, n, root1, root2, [])).toBe(false);
        expect(verifyConsistency(m, n, root1, root2, proof.slice(0, -1))).toBe(false);
        expect(verifyConsistency(m, n, root1, root2, [...proof, root2])).toBe(false);
        expect(verifyConsistency(m + 1, n, root1, root2, proof)).toBe(false);
        if (m > 1) expect(verifyConsistency(m - 1, n, root1, root2, proof)).toBe(false);
        // A wrong second size is not always detectable from hashes alone (a proof for 3 leaves also
        // fits a tree of 4 whose last subtree hashes to the third leaf): sizes are authenticated by
        // the signed checkpoint that carries them, not by the proof. Doubling it is detectable.
        expect(verifyConsistency(m, n * 2, root1, root2, proof)).toBe(false);
        for (let j = 0; j < proof.length; j++) {
          const bad = [...proof];
          bad[j] = flip(bad[j] as Buffer);
          expect(verifyConsistency(m, n, root1, root2, bad)).toBe(false);
        }
      }
    }
  });

  it('streams the same proofs from leaves fed once, in order, as it builds from all leaves in memory', () => {
    const stream = (ranges: ReturnType<typeof inclusionRanges>) => {
      const s = new SubtreeRoots(ranges);
      for (let i = s.start; i < s.end; i++) s.add(many[i] as Buffer);
      return s.roots().map(hex);
    };
    for (let n = 1; n <= many.length; n++) {
      const tree = many.slice(0, n);
      for (let i = 0; i < n; i++) expect(stream(inclusionRanges(i, n)), `leaf ${i} of ${n}`).toEqual(inclusionProof(tree, i).map(hex));
      for (let m = 1; m <= n; m++) expect(stream(consistencyRanges(m, n)), `${m} -> ${n}`).toEqual(consistencyProof(tree, m).map(hex));
    }
    // A power-of-two first tree needs none of its own leaves: its head starts the verifier's path.
    expect(new SubtreeRoots(consistencyRanges(16, 40)).start).toBe(16);
    const short = new SubtreeRoots(inclusionRanges(0, 8));
    for (let i = short.start; i < short.end - 1; i++) short.add(many[i] as Buffer);
    expect(() => short.roots()).toThrow(/were not all given/);
  });

  it('refuses impossible sizes and indexes instead of guessing', () => {
    expect(() => inclusionProof(many.slice(0, 4), 4)).toThrow(/not in a tree of 4/);
    expect(() => consistencyProof(many.slice(0, 4), 5)).toThrow(/not a prefix/);
    expect(verifyInclusion(many[0] as Buffer, 0, 0, [], EMPTY_ROOT)).toBe(false);
    expect(verifyConsistency(3, 2, EMPTY_ROOT, EMPTY_ROOT, [])).toBe(false);
    expect(verifyConsistency(0, 5, EMPTY_ROOT, rootOf(many.slice(0, 5)), [])).toBe(true);
  });
});
