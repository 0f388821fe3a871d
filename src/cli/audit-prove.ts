/**
 * `sushruta audit prove`: an inclusion proof of one record, or a consistency proof between two
 * signed checkpoints, printed for people or as JSON, and optionally written as the files the
 * by-hand check of docs/SECURITY.md reads. Whoever produced the proof (this process or a running
 * server), it is checked here with the verifier key before it is shown, so a proof this command
 * prints as OK verifies.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditProof, ConsistencyProof, InclusionProof, ProofRequest } from '../security/audit/prove.js';

export interface ProveFlags {
  seq?: string;
  size?: string;
  from?: string;
  to?: string;
}

/** The proof the flags ask for; `fail` makes the error that names what is wrong with them. */
export function proofRequestOf(flags: ProveFlags, fail: (message: string) => Error): ProofRequest {
  const num = (name: keyof ProveFlags): number | undefined => {
    const v = flags[name];
    if (v === undefined) return undefined;
    if (!/^[1-9][0-9]{0,15}$/.test(v)) throw fail(`--${name} must be a whole number from 1, got '${v}'`);
    return Number(v);
  };
  const [seq, size, from, to] = [num('seq'), num('size'), num('from'), num('to')];
  if (seq !== undefined) {
    if (from !== undefined || to !== undefined) throw fail('give either --seq (with --size) or --from and --to, not both');
    return size === undefined ? { seq } : { seq, size };
  }
  if (size !== undefined) throw fail('--size goes with --seq (the tree to prove record --seq in)');
  if (from === undefined || to === undefined)
    throw fail(
      'say what to prove: --seq N [--size M] (a record is in the log) or --from SIZE1 --to SIZE2 (one checkpoint extends another)',
    );
  return { from, to };
}

/** The files of a proof for the by-hand check (docs/SECURITY.md), by name. */
export function evidenceFiles(p: AuditProof): Record<string, string> {
  const json = `${JSON.stringify(p, null, 2)}\n`;
  if (p.type === 'inclusion') {
    return {
      // Exactly the stored bytes, no newline added: its SHA-256 with a 0x00 prefix is the leaf hash.
      'entry.json': p.entry,
      'inclusion.txt': [p.leafIndex, p.treeSize, ...p.path].map((l) => `${l}\n`).join(''),
      'checkpoint.note': p.checkpoint,
      'proof.json': json,
    };
  }
  return {
    'consistency.txt': [p.size1, p.size2, ...p.proof].map((l) => `${l}\n`).join(''),
    'old.note': p.checkpoint1,
    'new.note': p.checkpoint2,
    'proof.json': json,
  };
}

export function writeEvidence(dir: string, p: AuditProof): string[] {
  mkdirSync(dir, { recursive: true });
  const files = evidenceFiles(p);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, 'utf8');
  return Object.keys(files);
}

const indent = (text: string) =>
  text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => (l ? `    ${l}` : ''))
    .join('\n');

const hashes = (list: readonly string[]) =>
  list.length === 0 ? '    (none)' : list.map((h, i) => `    ${String(i + 1).padStart(2)}  ${h}`).join('\n');

function formatInclusion(p: InclusionProof): string {
  return [
    `inclusion proof: record ${p.seq} is in the signed audit log of ${p.treeSize} records`,
    `  leaf index   ${p.leafIndex}`,
    `  tree size    ${p.treeSize}`,
    `  leaf hash    ${p.leafHash}   SHA-256(0x00 || entry)`,
    `  audit path   ${p.path.length} hashes, leaf side first (RFC 9162 2.1.3):`,
    hashes(p.path),
    `  root         ${p.root}`,
    '  signed checkpoint:',
    indent(p.checkpoint),
    `  entry, as stored (${Buffer.byteLength(p.entry, 'utf8')} bytes):`,
    `    ${p.entry}`,
  ].join('\n');
}

function formatConsistency(p: ConsistencyProof): string {
  return [
    `consistency proof: the signed log of ${p.size2} records extends the signed log of ${p.size1} records`,
    `  first tree    ${p.size1} records, root ${p.root1}`,
    `  second tree   ${p.size2} records, root ${p.root2}`,
    `  proof         ${p.proof.length} hashes (RFC 9162 2.1.4):`,
    hashes(p.proof),
    `  signed checkpoint at ${p.size1}:`,
    indent(p.checkpoint1),
    `  signed checkpoint at ${p.size2}:`,
    indent(p.checkpoint2),
  ].join('\n');
}

export function formatProof(p: AuditProof, via: string, vkey: string): string {
  const body = p.type === 'inclusion' ? formatInclusion(p) : formatConsistency(p);
  const what =
    p.type === 'inclusion'
      ? 'the entry hashes to the leaf, the path leads to the signed root'
      : 'the proof leads from the first signed root to the second';
  return `${body}\nOK (${via}): checked with ${vkey}: ${what}, and the checkpoint signatures verify.\n`;
}
