/**
 * Signed checkpoints of the audit log: the tree head (size and Merkle root) signed with an Ed25519
 * key kept outside the database, in the formats the transparency-log world already checks:
 *
 * - the body is a C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint):
 *       <origin>\n<tree size, decimal>\n<root hash, standard base64>\n
 * - signed as a C2SP signed note (https://c2sp.org/signed-note), Ed25519 (signature type 0x01):
 *       <body>\n— <key name> <base64(key hash (4 bytes) || signature (64 bytes))>\n
 *   key hash = SHA-256(key name || 0x0A || 0x01 || public key)[0:4]; the signature covers the body.
 *
 * So a checkpoint can be checked with any signed-note verifier (Go's golang.org/x/mod/sumdb/note),
 * or by hand with OpenSSL (docs/SECURITY.md). The verifier key is published as the standard
 * vkey string `<name>+<key hash hex>+<base64(0x01 || public key)>`.
 *
 * Signing key file (security/crypto/secret-file.ts format), mode 0600, outside the data directory:
 *     sushruta-audit-ed25519-v1:<standard base64 of the 32-byte Ed25519 seed>\n
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { createSecretFile, readSecretFile } from '../crypto/secret-file.js';

export const AUDIT_KEY_PREFIX = 'sushruta-audit-ed25519-v1:';
const SEED_BYTES = 32;
const ALG_ED25519 = 0x01;
// PKCS#8 / SPKI DER prefixes for a raw Ed25519 seed / public key (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Buffer;
}

/** Verifies signed checkpoints of one log. */
export interface CheckpointVerifier {
  readonly name: string;
  /** The standard vkey string auditors pin. */
  readonly vkey: string;
  /** The checkpoint a note states, if the note is well formed and carries a valid signature of this key; otherwise why not. */
  open(note: string): { ok: true; checkpoint: Checkpoint } | { ok: false; problem: string };
}

export interface CheckpointSigner extends CheckpointVerifier {
  sign(c: Checkpoint): string;
}

function keyHash(name: string, publicKey: Buffer): Buffer {
  return createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.from([0x0a, ALG_ED25519]))
    .update(publicKey)
    .digest()
    .subarray(0, 4);
}

/** The checkpoint body (what is signed). */
export function checkpointBody(c: Checkpoint): string {
  if (!/^[^\n\s+][^\n+]*$/.test(c.origin)) throw new RangeError('a checkpoint origin is one line without "+" or leading space');
  return `${c.origin}\n${c.size}\n${c.root.toString('base64')}\n`;
}

function parseBody(body: string): Checkpoint | undefined {
  const m = /^([^\n]+)\n(0|[1-9][0-9]{0,15})\n([A-Za-z0-9+/]{43}=)\n$/.exec(body);
  if (!m) return undefined;
  const root = Buffer.from(m[3] as string, 'base64');
  if (root.length !== 32) return undefined;
  return { origin: m[1] as string, size: Number(m[2]), root };
}

export function verifierFromPublicKey(name: string, publicKey: Buffer): CheckpointVerifier {
  if (publicKey.length !== 32) throw new RangeError('an Ed25519 public key is 32 bytes');
  const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
  const hash = keyHash(name, publicKey);
  return {
    name,
    vkey: `${name}+${hash.toString('hex')}+${Buffer.concat([Buffer.from([ALG_ED25519]), publicKey]).toString('base64')}`,
    open(note) {
      const split = note.indexOf('\n\n');
      if (split < 0) return { ok: false, problem: 'not a signed note (no blank line before the signatures)' };
      const body = note.slice(0, split + 1);
      const checkpoint = parseBody(body);
      if (!checkpoint) return { ok: false, problem: 'the note body is not a checkpoint (origin, size, base64 root)' };
      if (checkpoint.origin !== name) return { ok: false, problem: `the checkpoint is for origin '${checkpoint.origin}', not '${name}'` };
      const prefix = `\u2014 ${name} `;
      for (const line of note.slice(split + 2).split('\n')) {
        if (!line.startsWith(prefix)) continue;
        const sig = Buffer.from(line.slice(prefix.length), 'base64');
        if (sig.length !== 4 + 64 || !sig.subarray(0, 4).equals(hash)) continue;
        if (verify(null, Buffer.from(body, 'utf8'), key, sig.subarray(4))) return { ok: true, checkpoint };
        return { ok: false, problem: 'the signature does not verify with the audit public key (forged or altered)' };
      }
      return { ok: false, problem: 'no signature by the audit key' };
    },
  };
}

/** The verifier of a published vkey string `<name>+<hash>+<base64(0x01 || key)>`. */
export function verifierFromVkey(vkey: string): CheckpointVerifier {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+=*)$/.exec(vkey.trim());
  if (!m) throw new RangeError('not a signed-note verifier key (name+hash+base64 key)');
  const raw = Buffer.from(m[3] as string, 'base64');
  if (raw.length !== 33 || raw[0] !== ALG_ED25519) throw new RangeError('not an Ed25519 verifier key');
  const v = verifierFromPublicKey(m[1] as string, raw.subarray(1));
  if (v.vkey !== vkey.trim()) throw new RangeError('the verifier key hash does not match its name and key');
  return v;
}

function signerFromSeed(name: string, seed: Buffer): CheckpointSigner {
  const privateKey: KeyObject = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = Buffer.from(spki.subarray(spki.length - 32));
  const v = verifierFromPublicKey(name, publicKey);
  const hash = keyHash(name, publicKey);
  return {
    ...v,
    sign(c) {
      if (c.origin !== name) throw new RangeError(`this key signs checkpoints of '${name}', not '${c.origin}'`);
      const body = checkpointBody(c);
      const sig = sign(null, Buffer.from(body, 'utf8'), privateKey);
      return `${body}\n\u2014 ${name} ${Buffer.concat([hash, sig]).toString('base64')}\n`;
    },
  };
}

/** A signer for tests and tools that hold a seed in memory. The seed is copied. */
export function signerFromSeedBytes(name: string, seed: Buffer): CheckpointSigner {
  if (seed.length !== SEED_BYTES) throw new RangeError('an Ed25519 seed is 32 bytes');
  return signerFromSeed(name, Buffer.from(seed));
}

/** Loads the signing key file, or creates it (and says so through `onCreate`) when it does not exist yet. */
export function openSigningKey(path: string, name: string, opts: { create: boolean; onCreate?: (path: string) => void }): CheckpointSigner {
  let seed: Buffer;
  try {
    seed = readSecretFile(path, AUDIT_KEY_PREFIX, SEED_BYTES, 'it is created on first start; restore it from its backup');
  } catch (err) {
    if (!opts.create || (err as { problem?: string }).problem?.startsWith('does not exist') !== true) throw err;
    seed = randomBytes(SEED_BYTES);
    createSecretFile(path, AUDIT_KEY_PREFIX, seed, 'an audit signing key');
    opts.onCreate?.(path);
  }
  try {
    return signerFromSeed(name, seed);
  } finally {
    seed.fill(0);
  }
}
