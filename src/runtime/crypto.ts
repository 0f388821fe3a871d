/**
 * Encryption at rest, wired: the key-encryption key from its file, the hospital's key ring, the
 * body codec and the blind-index transform. Refuses to start rather than guess when the key file
 * and the database disagree.
 */
import { existsSync, rmSync } from 'node:fs';
import { type Config, keyFilePath } from '../config/config.js';
import { KeyFileError, KeyUnavailableError } from '../security/crypto/errors.js';
import { encryptedCodec } from '../security/crypto/envelope.js';
import { type KeyEncryptionKey, createKeyFile, loadKeyFile } from '../security/crypto/kek.js';
import { KeyRing } from '../security/crypto/keyring.js';
import type { BodyCodec } from '../store/codec.js';
import type { Db } from '../store/db.js';

export interface CryptoSetup {
  readonly ring: KeyRing;
  readonly codec: BodyCodec;
  readonly keyFile: string;
  /** True when this start created the hospital's first keys: existing plaintext rows (written
   * before encryption existed) may then be encrypted once; at any other time they are refused. */
  readonly firstEncryptedStart: boolean;
  /** Set when this start created the key file. */
  readonly createdKeyFile: boolean;
}

export async function openCrypto(config: Config, db: Db, tenant: string): Promise<CryptoSetup> {
  const keyFile = keyFilePath(config);
  const wrapped = await db.query<{ n: string; kek: string | null }>(
    `SELECT count(*)::bigint AS n, max(kek_id) AS kek FROM crypto_key WHERE wrapped IS NOT NULL`,
  );
  const keysInDb = Number(wrapped.rows[0]?.n ?? 0);
  let kek: KeyEncryptionKey;
  let createdKeyFile = false;
  if (existsSync(keyFile)) {
    kek = loadKeyFile(keyFile);
  } else if (keysInDb > 0) {
    throw new KeyFileError(
      keyFile,
      `missing, but the database holds ${keysInDb} keys wrapped by key-encryption key ${wrapped.rows[0]?.kek ?? '?'}; ` +
        'restore the key file from its backup (docs/OPERATIONS.md, "Lost key file"), or point --key-file / SUSHRUTA_KEY_FILE at it. ' +
        'A new key file would not open the existing data, so none was created.',
    );
  } else {
    kek = createKeyFile(keyFile);
    createdKeyFile = true;
  }
  const ring = await KeyRing.open(db, kek);
  const firstEncryptedStart = (await ring.versions(tenant, 'data')).length === 0;
  try {
    await ring.preload(tenant);
  } catch (err) {
    if (err instanceof KeyUnavailableError && err.reason === 'unwrap failed') {
      throw new KeyFileError(keyFile, `does not open this database's keys (${err.message}); is it the key file of this database?`);
    }
    throw err;
  }
  return { ring, codec: encryptedCodec(ring), keyFile, firstEncryptedStart, createdKeyFile };
}

/**
 * Restores keys from a passphrase-wrapped backup into a database whose key file is lost: creates
 * a new key file if there is none, imports (re-wrapping every key under it) and checks that the
 * hospital's keys now load. Runs without the rest of the server, which could not start.
 */
export async function recoverKeys(
  config: Config,
  db: Db,
  tenant: string,
  backup: string,
  passphrase: string,
): Promise<{ imported: number; unchanged: number; skippedDestroyed: number; createdKeyFile: boolean; keyFile: string }> {
  const keyFile = keyFilePath(config);
  const createdKeyFile = !existsSync(keyFile);
  const kek = createdKeyFile ? createKeyFile(keyFile) : loadKeyFile(keyFile);
  try {
    const ring = await KeyRing.open(db, kek);
    const result = await ring.importBackup(backup, passphrase);
    await ring.preload(tenant);
    return { ...result, createdKeyFile, keyFile };
  } catch (err) {
    // A failed recovery leaves things as they were: no new, unused key file.
    if (createdKeyFile) rmSync(keyFile, { force: true });
    throw err;
  }
}
