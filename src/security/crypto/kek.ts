/**
 * Key-encryption keys (KEK): the one secret outside the database. Every data and index key in the
 * database is stored only wrapped (encrypted) under a KEK, so a stolen database dump or backup
 * reveals no key and no patient (DESIGN.md invariant 2).
 *
 * `KeyEncryptionKey` is deliberately small so that a KMS or HSM can implement it (wrap/unwrap as
 * remote calls, `id` as the key's ARN or a fingerprint); the file-based KEK here is the default for
 * a single hospital server.
 *
 * Key file format (version 1), one line of ASCII:
 *
 *     sushruta-kek-v1:<standard base64 of exactly 32 random bytes>\n
 *
 * The file must be a regular file and, on POSIX, readable and writable by its owner only
 * (mode 0600 or stricter); `loadKeyFile` refuses anything else.
 *
 * Wrapped key format (version 1):
 *
 *     0x01 | nonce (12 bytes, random) | AES-256-GCM ciphertext | tag (16 bytes)
 *
 * The AES key for wrapping is HKDF-SHA-256(KEK, info 'sushruta:kek:wrap:v1'), never the raw KEK;
 * the associated data is chosen by the caller (the key ring binds tenant, purpose and version) so a
 * wrapped key cannot be moved to another row.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { KeyUnwrapError } from './errors.js';
import { createSecretFile, readSecretFile } from './secret-file.js';

export interface KeyEncryptionKey {
  /** A public fingerprint (16 hex digits derived one-way from the key), or a KMS key id. Never the key. */
  readonly id: string;
  /** Encrypts a key; `aad` binds it to its context (tenant, purpose, version). */
  wrap(key: Buffer, aad: string): Promise<Buffer>;
  /** Decrypts a wrapped key; rejects with KeyUnwrapError on a wrong KEK, altered bytes or a different `aad`. */
  unwrap(wrapped: Buffer, aad: string): Promise<Buffer>;
}

export const KEK_FILE_PREFIX = 'sushruta-kek-v1:';
const KEK_BYTES = 32;
const WRAP_FORMAT = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Builds a KEK from 32 raw bytes (tests, KMS adapters that release a key, the key file loader). The bytes are copied. */
export function kekFromBytes(bytes: Buffer): KeyEncryptionKey {
  if (!Buffer.isBuffer(bytes) || bytes.length !== KEK_BYTES) {
    throw new RangeError(`a key-encryption key must be exactly ${KEK_BYTES} bytes`);
  }
  return new LocalKek(Buffer.from(bytes));
}

class LocalKek implements KeyEncryptionKey {
  readonly id: string;
  readonly #wrapKey: Buffer;

  constructor(kek: Buffer) {
    // Separate derived keys for wrapping and for the fingerprint: the fingerprint reveals nothing usable.
    this.#wrapKey = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'sushruta:kek:wrap:v1', 32));
    this.id = createHmac('sha256', kek).update('sushruta:kek:fingerprint:v1').digest('hex').slice(0, 16);
    kek.fill(0); // our private copy; see keyring.ts for the limits of zeroing in JavaScript
  }

  async wrap(key: Buffer, aad: string): Promise<Buffer> {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#wrapKey, nonce);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([cipher.update(key), cipher.final()]);
    return Buffer.concat([Buffer.from([WRAP_FORMAT]), nonce, ct, cipher.getAuthTag()]);
  }

  async unwrap(wrapped: Buffer, aad: string): Promise<Buffer> {
    if (wrapped.length < 1 + NONCE_BYTES + TAG_BYTES + 1 || wrapped[0] !== WRAP_FORMAT) {
      throw new KeyUnwrapError(this.id, 'not a version-1 wrapped key');
    }
    const nonce = wrapped.subarray(1, 1 + NONCE_BYTES);
    const tag = wrapped.subarray(wrapped.length - TAG_BYTES);
    const ct = wrapped.subarray(1 + NONCE_BYTES, wrapped.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.#wrapKey, nonce);
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(ct), decipher.final()]);
    } catch {
      throw new KeyUnwrapError(this.id, 'authentication failed (wrong key-encryption key, or the wrapped key or its context was altered)');
    }
  }
}

/** Loads a KEK from a key file, refusing a missing, malformed, wrong-length or group/other-accessible file. */
export function loadKeyFile(path: string): KeyEncryptionKey {
  const bytes = readSecretFile(path, KEK_FILE_PREFIX, KEK_BYTES, 'create one with `sushruta keys init`, or restore it from its backup');
  const kek = kekFromBytes(bytes);
  bytes.fill(0);
  return kek;
}

/**
 * Creates a new random KEK in a new key file (mode 0600, exclusive create: never overwrites an existing
 * file). Creates the parent directory with mode 0700 if it does not exist. Back the file up (or export
 * a key backup) before relying on it: without it, or a key backup, the data is unrecoverable.
 */
export function createKeyFile(path: string): KeyEncryptionKey {
  const key = randomBytes(KEK_BYTES);
  try {
    createSecretFile(path, KEK_FILE_PREFIX, key, 'a key-encryption key');
    return kekFromBytes(key);
  } finally {
    key.fill(0);
  }
}
