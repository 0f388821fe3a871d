/**
 * The key ring: per-tenant, versioned keys for two purposes, kept in the database only wrapped under
 * the key-encryption key (KEK), which lives outside the database (DESIGN.md invariant 2).
 *
 * - 'data'  encrypts resource bodies (envelope.ts);
 * - 'index' keys the blind indexes (blind-index.ts). It is a separate key so that the index key
 *   (needed by every search) never decrypts a body, and so each can be rotated on its own.
 *
 * Lifecycle of a version: active -> retiring (after `rotate`; still decrypts, re-encryption under the
 * new version is under way) -> retired (`retire`, after re-encryption finished; still decrypts) ->
 * destroyed (`destroy`, whole tenant: crypto-shredding). Exactly one version per tenant and purpose is
 * active (enforced by a partial unique index).
 *
 * Every wrapped key's associated data names tenant, purpose and version, so a wrapped key copied to
 * another row does not unwrap.
 *
 * Crypto-shredding and its limits: `destroy` overwrites the wrapped keys with NULL and marks every
 * version destroyed; the keys then cannot be obtained from this database. But (1) PostgreSQL keeps
 * old row versions until VACUUM and in WAL, (2) database backups and key backups taken before the
 * destruction still hold the wrapped keys, and the KEK still unwraps them. Complete shredding
 * therefore also needs those copies expired (a runbook for docs/OPERATIONS.md is still to write) or a KEK
 * rotation followed by destroying the old KEK.
 *
 * Unwrapped keys are cached in memory (a Map of Buffers) because the store's codec is synchronous.
 * Buffers are zero-filled when a tenant is destroyed or forgotten, but JavaScript cannot guarantee
 * that no other copy exists: OpenSSL keeps expanded key schedules inside cipher objects until they are
 * garbage-collected, Buffer.concat and base64 strings make copies that cannot be wiped, and the
 * garbage collector may move memory. Zeroing narrows the window; it is not a guarantee. Callers must
 * not modify the Buffers returned.
 */
import { createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual, createCipheriv, createDecipheriv } from 'node:crypto';
import { type Db, lockWithinSchema, type Queryable, type SqlValue } from '../../store/db.js';
import type { Migration } from '../../store/migrate.js';
import { KeyBackupError, KeyUnavailableError, KeyUnwrapError } from './errors.js';
import type { KeyEncryptionKey } from './kek.js';

export type KeyPurpose = 'data' | 'index';
export type KeyState = 'active' | 'retiring' | 'retired' | 'destroyed';

export const KEY_PURPOSES: readonly KeyPurpose[] = ['data', 'index'];
const KEY_BYTES = 32;
/** Advisory lock serialising key-management writes (rotate, destroy, import) across app servers. */
const KEY_LOCK = 0x5355_4b59; // "SUKY"

export const cryptoMigrations: Migration[] = [
  {
    id: 'crypto/001-keys',
    up: `
CREATE TABLE crypto_key (
  tenant_id text NOT NULL,
  purpose text NOT NULL CHECK (purpose IN ('data', 'index')),
  version integer NOT NULL CHECK (version >= 0),
  wrapped bytea,
  kek_id text,
  state text NOT NULL CHECK (state IN ('active', 'retiring', 'retired', 'destroyed')),
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz,
  destroyed_at timestamptz,
  PRIMARY KEY (tenant_id, purpose, version),
  CHECK ((state = 'destroyed') = (wrapped IS NULL)),
  CHECK (state = 'destroyed' OR (kek_id IS NOT NULL AND version >= 1))
);
CREATE UNIQUE INDEX crypto_key_one_active ON crypto_key (tenant_id, purpose) WHERE state = 'active';
`,
  },
];

interface KeyRow {
  tenant_id: string;
  purpose: KeyPurpose;
  version: number;
  wrapped: Uint8Array | null;
  kek_id: string | null;
  state: KeyState;
  created_at: Date;
  retired_at: Date | null;
}

const COLS = 'tenant_id, purpose, version, wrapped, kek_id, state, created_at, retired_at';

/** Associated data of a wrapped key: a wrapped key does not unwrap under any other tenant, purpose or version. */
export function keyWrapAad(tenantId: string, purpose: KeyPurpose, version: number): string {
  return `sushruta:key:v1|${JSON.stringify([tenantId, purpose, version])}`;
}

const toBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
const slot = (t: string, p: KeyPurpose, v: number) => `${t}\u0000${p}\u0000${v}`;
const pair = (t: string, p: KeyPurpose) => `${t}\u0000${p}`;

// Passphrase KDF for key backups: scrypt, N = 2^17, r = 8, p = 1 (128 MiB, ~0.3-1 s).
const BACKUP_FORMAT = 'sushruta-key-backup-v1';
const SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;
const MIN_PASSPHRASE = 12;

function scrypt(passphrase: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(passphrase.normalize('NFC'), salt, 64, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

interface BackupEntry {
  tenantId: string;
  purpose: KeyPurpose;
  version: number;
  state: KeyState;
  createdAt: string;
  retiredAt: string | null;
  key?: string;
}

interface BackupDoc {
  format: string;
  createdAt: string;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher: 'aes-256-gcm';
  check: string;
  nonce: string;
  ciphertext: string;
  tag: string;
}

const backupAad = (d: Omit<BackupDoc, 'nonce' | 'ciphertext' | 'tag'>) =>
  Buffer.from(JSON.stringify([d.format, d.createdAt, d.kdf.name, d.kdf.N, d.kdf.r, d.kdf.p, d.kdf.salt, d.cipher, d.check]), 'utf8');
const backupCheck = (derived: Buffer) =>
  createHmac('sha256', derived.subarray(32, 64)).update('sushruta:key-backup:check:v1').digest().subarray(0, 16);

export class KeyRing {
  readonly #db: Queryable | Db;
  readonly #kek: KeyEncryptionKey;
  /** Unwrapped keys by tenant/purpose/version. */
  readonly #keys = new Map<string, Buffer>();
  /** Active version by tenant/purpose, as last read from the database by this process. */
  readonly #active = new Map<string, number>();
  /** Tenants this process has seen destroyed. */
  readonly #destroyed = new Set<string>();

  private constructor(db: Queryable | Db, kek: KeyEncryptionKey) {
    this.#db = db;
    this.#kek = kek;
  }

  /**
   * Opens the key ring on a migrated database (`cryptoMigrations`). Given a `Db`, multi-statement
   * operations run in their own transactions; given a bare `Queryable` (an open transaction), they
   * run in the caller's.
   */
  static async open(db: Queryable | Db, kek: KeyEncryptionKey): Promise<KeyRing> {
    await db.query('SELECT 1 FROM crypto_key LIMIT 1');
    return new KeyRing(db, kek);
  }

  /** The id (fingerprint) of the KEK this ring wraps new keys under. */
  get kekId(): string {
    return this.#kek.id;
  }

  async #tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const db = this.#db;
    if ('transaction' in db && typeof db.transaction === 'function') return db.transaction(fn);
    return fn(db);
  }

  async #rows(q: Queryable, tenantId: string, purpose?: KeyPurpose): Promise<KeyRow[]> {
    const params: SqlValue[] = purpose ? [tenantId, purpose] : [tenantId];
    const res = await q.query<KeyRow>(
      `SELECT ${COLS} FROM crypto_key WHERE tenant_id = $1${purpose ? ' AND purpose = $2' : ''} ORDER BY purpose, version`,
      params,
    );
    return res.rows;
  }

  async #unwrapRow(row: KeyRow): Promise<Buffer> {
    if (row.state === 'destroyed' || row.wrapped === null) {
      throw new KeyUnavailableError(row.tenant_id, row.purpose, row.version, 'destroyed');
    }
    try {
      const key = await this.#kek.unwrap(toBuffer(row.wrapped), keyWrapAad(row.tenant_id, row.purpose, row.version));
      if (key.length !== KEY_BYTES) throw new KeyUnwrapError(this.#kek.id, 'unwrapped key has the wrong length');
      return key;
    } catch {
      const why =
        row.kek_id && row.kek_id !== this.#kek.id
          ? `wrapped under key-encryption key ${row.kek_id}, but the loaded key-encryption key is ${this.#kek.id}`
          : `the loaded key-encryption key ${this.#kek.id} does not unwrap it (altered or moved)`;
      throw new KeyUnavailableError(row.tenant_id, row.purpose, row.version, 'unwrap failed', why);
    }
  }

  #cache(tenantId: string, purpose: KeyPurpose, version: number, key: Buffer): Buffer {
    const k = slot(tenantId, purpose, version);
    const existing = this.#keys.get(k);
    if (existing?.equals(key)) {
      if (existing !== key) key.fill(0);
      return existing;
    }
    this.#keys.set(k, key);
    return key;
  }

  #throwIfDestroyed(tenantId: string, rows: KeyRow[], purpose: KeyPurpose, version: number | null): void {
    if (rows.some((r) => r.state === 'destroyed')) {
      this.#forgetKeys(tenantId);
      this.#destroyed.add(tenantId);
      throw new KeyUnavailableError(tenantId, purpose, version, 'destroyed');
    }
  }

  /**
   * Active version for tenant+purpose; creates version 1 on first use (race-safe across processes:
   * INSERT ... ON CONFLICT DO NOTHING, then re-read). Served from this process's cache once loaded;
   * `preload` re-reads the database (rotations by other processes).
   */
  async active(tenantId: string, purpose: KeyPurpose): Promise<{ version: number; key: Buffer }> {
    assertPurpose(purpose);
    const v = this.#active.get(pair(tenantId, purpose));
    const hit = v === undefined ? undefined : this.#keys.get(slot(tenantId, purpose, v));
    if (v !== undefined && hit) return { version: v, key: hit };
    return this.#loadActive(tenantId, purpose);
  }

  async #loadActive(tenantId: string, purpose: KeyPurpose): Promise<{ version: number; key: Buffer }> {
    let rows = await this.#rows(this.#db, tenantId);
    this.#throwIfDestroyed(tenantId, rows, purpose, null);
    let act = rows.find((r) => r.purpose === purpose && r.state === 'active');
    if (!act) {
      if (rows.some((r) => r.purpose === purpose)) throw new KeyUnavailableError(tenantId, purpose, null, 'no active version');
      const key = randomBytes(KEY_BYTES);
      const wrapped = await this.#kek.wrap(key, keyWrapAad(tenantId, purpose, 1));
      key.fill(0);
      // Two processes may race here: one insert wins, both re-read and use the winner's key.
      await this.#db.query(
        `INSERT INTO crypto_key (tenant_id, purpose, version, wrapped, kek_id, state)
         SELECT $1, $2, 1, $3, $4, 'active'
         WHERE NOT EXISTS (SELECT 1 FROM crypto_key WHERE tenant_id = $1 AND state = 'destroyed')
         ON CONFLICT DO NOTHING`,
        [tenantId, purpose, wrapped, this.#kek.id],
      );
      rows = await this.#rows(this.#db, tenantId);
      this.#throwIfDestroyed(tenantId, rows, purpose, null);
      act = rows.find((r) => r.purpose === purpose && r.state === 'active');
      if (!act) throw new KeyUnavailableError(tenantId, purpose, null, 'no active version');
    }
    const key = this.#cache(
      tenantId,
      purpose,
      act.version,
      this.#keys.get(slot(tenantId, purpose, act.version)) ?? (await this.#unwrapRow(act)),
    );
    this.#active.set(pair(tenantId, purpose), act.version);
    return { version: act.version, key };
  }

  /** Any non-destroyed version (decryption, old index versions). Throws KeyUnavailableError if destroyed or unknown. */
  async get(tenantId: string, purpose: KeyPurpose, version: number): Promise<Buffer> {
    assertPurpose(purpose);
    const hit = this.#keys.get(slot(tenantId, purpose, version));
    if (hit) return hit;
    const rows = await this.#rows(this.#db, tenantId);
    this.#throwIfDestroyed(tenantId, rows, purpose, version);
    const row = rows.find((r) => r.purpose === purpose && r.version === version);
    if (!row) throw new KeyUnavailableError(tenantId, purpose, version, 'unknown');
    return this.#cache(tenantId, purpose, version, await this.#unwrapRow(row));
  }

  async versions(tenantId: string, purpose: KeyPurpose): Promise<Array<{ version: number; state: KeyState; createdAt: Date }>> {
    assertPurpose(purpose);
    const rows = await this.#rows(this.#db, tenantId, purpose);
    return rows.map((r) => ({ version: r.version, state: r.state, createdAt: r.created_at }));
  }

  /** Creates a new active version; the previous active version becomes 'retiring' (still decrypts). Returns the new version. */
  async rotate(tenantId: string, purpose: KeyPurpose): Promise<number> {
    assertPurpose(purpose);
    const { version, key } = await this.#tx(async (q) => {
      await lockWithinSchema(q, KEY_LOCK);
      const rows = await this.#rows(q, tenantId);
      this.#throwIfDestroyed(tenantId, rows, purpose, null);
      const mine = rows.filter((r) => r.purpose === purpose);
      const next = mine.reduce((m, r) => Math.max(m, r.version), 0) + 1;
      const key = randomBytes(KEY_BYTES);
      const wrapped = await this.#kek.wrap(key, keyWrapAad(tenantId, purpose, next));
      await q.query(`UPDATE crypto_key SET state = 'retiring' WHERE tenant_id = $1 AND purpose = $2 AND state = 'active'`, [
        tenantId,
        purpose,
      ]);
      await q.query(`INSERT INTO crypto_key (tenant_id, purpose, version, wrapped, kek_id, state) VALUES ($1, $2, $3, $4, $5, 'active')`, [
        tenantId,
        purpose,
        next,
        wrapped,
        this.#kek.id,
      ]);
      return { version: next, key };
    });
    this.#cache(tenantId, purpose, version, key);
    this.#active.set(pair(tenantId, purpose), version);
    return version;
  }

  /** Marks a 'retiring' version 'retired' once nothing is encrypted or indexed under it any more. It still decrypts. */
  async retire(tenantId: string, purpose: KeyPurpose, version: number): Promise<void> {
    assertPurpose(purpose);
    const res = await this.#db.query(
      `UPDATE crypto_key SET state = 'retired', retired_at = coalesce(retired_at, now())
       WHERE tenant_id = $1 AND purpose = $2 AND version = $3 AND state IN ('retiring', 'retired') RETURNING version`,
      [tenantId, purpose, version],
    );
    if (res.rows.length === 1) return;
    const rows = await this.#rows(this.#db, tenantId, purpose);
    const row = rows.find((r) => r.version === version);
    if (!row) throw new KeyUnavailableError(tenantId, purpose, version, 'unknown');
    if (row.state === 'destroyed') throw new KeyUnavailableError(tenantId, purpose, version, 'destroyed');
    throw new Error(
      `cannot retire ${purpose} key version ${version} of tenant ${JSON.stringify(tenantId)}: it is ${row.state}; rotate first`,
    );
  }

  /**
   * Crypto-shredding: every wrapped key of the tenant (all versions, both purposes) is overwritten with
   * NULL and marked destroyed; purposes that never had a key get a destroyed tombstone (version 0) so
   * no new key is ever created for the tenant. Afterwards get() and active() throw
   * KeyUnavailableError('destroyed'). See the header comment for what else must be expired.
   */
  async destroy(tenantId: string): Promise<void> {
    await this.#tx(async (q) => {
      await lockWithinSchema(q, KEY_LOCK);
      await q.query(
        `UPDATE crypto_key SET wrapped = NULL, state = 'destroyed', destroyed_at = coalesce(destroyed_at, now()), retired_at = coalesce(retired_at, now())
         WHERE tenant_id = $1`,
        [tenantId],
      );
      for (const p of KEY_PURPOSES) {
        await q.query(
          `INSERT INTO crypto_key (tenant_id, purpose, version, wrapped, kek_id, state, retired_at, destroyed_at)
           SELECT $1, $2, 0, NULL, NULL, 'destroyed', now(), now()
           WHERE NOT EXISTS (SELECT 1 FROM crypto_key WHERE tenant_id = $1 AND purpose = $2)`,
          [tenantId, p],
        );
      }
    });
    this.#forgetKeys(tenantId);
    this.#destroyed.add(tenantId);
  }

  /**
   * Loads the active and all non-destroyed versions of both purposes of a tenant into the cache
   * (creating version 1 on first use) and refreshes which version is active. Call at start, and
   * after a rotation or destruction done by another process. A destroyed tenant is recorded as such
   * (cached() then throws 'destroyed') without throwing here.
   */
  async preload(tenantId: string): Promise<void> {
    for (const purpose of KEY_PURPOSES) {
      try {
        await this.#loadActive(tenantId, purpose);
      } catch (err) {
        if (err instanceof KeyUnavailableError && err.reason === 'destroyed') return;
        throw err;
      }
    }
    const rows = await this.#rows(this.#db, tenantId);
    for (const row of rows) {
      if (row.state === 'destroyed' || this.#keys.has(slot(tenantId, row.purpose, row.version))) continue;
      this.#cache(tenantId, row.purpose, row.version, await this.#unwrapRow(row));
    }
  }

  /** A loaded key, synchronously (for the store's synchronous codec). Throws KeyUnavailableError if destroyed or not loaded. */
  cached(tenantId: string, purpose: KeyPurpose, version: number): Buffer {
    const key = this.#keys.get(slot(tenantId, purpose, version));
    if (key) return key;
    if (this.#destroyed.has(tenantId)) throw new KeyUnavailableError(tenantId, purpose, version, 'destroyed');
    throw new KeyUnavailableError(tenantId, purpose, version, 'not loaded', 'call KeyRing.preload(tenant) first');
  }

  /** The loaded active key, synchronously. Throws KeyUnavailableError if destroyed or not loaded. */
  activeCached(tenantId: string, purpose: KeyPurpose): { version: number; key: Buffer } {
    const version = this.#active.get(pair(tenantId, purpose));
    if (version === undefined) {
      if (this.#destroyed.has(tenantId)) throw new KeyUnavailableError(tenantId, purpose, null, 'destroyed');
      throw new KeyUnavailableError(tenantId, purpose, null, 'not loaded', 'call KeyRing.preload(tenant) first');
    }
    return { version, key: this.cached(tenantId, purpose, version) };
  }

  /** Drops (and zero-fills) this process's cached keys of a tenant; they are re-read on next use. */
  forget(tenantId: string): void {
    this.#forgetKeys(tenantId);
    this.#destroyed.delete(tenantId);
  }

  #forgetKeys(tenantId: string): void {
    const prefix = `${tenantId}\u0000`;
    for (const [k, key] of this.#keys) {
      if (k.startsWith(prefix)) {
        key.fill(0);
        this.#keys.delete(k);
      }
    }
    for (const k of this.#active.keys()) if (k.startsWith(prefix)) this.#active.delete(k);
  }

  /**
   * Exports keys (all tenants, or the given ones) re-encrypted under a key derived from `passphrase`
   * (scrypt N=2^17 unless `options.scryptN` says otherwise, r=8, p=1, random salt; parameters recorded), AES-256-GCM over the whole payload
   * with the header as associated data, so any alteration is detected. Independent of the KEK: the
   * keys survive the loss of the key file. Destroyed versions are recorded without key material.
   */
  async exportBackup(passphrase: string, tenants?: string[], options: { scryptN?: number } = {}): Promise<string> {
    if (typeof passphrase !== 'string' || passphrase.length < MIN_PASSPHRASE) {
      throw new KeyBackupError(`a key backup passphrase must be at least ${MIN_PASSPHRASE} characters`);
    }
    const N = options.scryptN ?? SCRYPT.N;
    if (!isScryptN(N)) throw new KeyBackupError('scrypt N must be a power of two from 2^14 to 2^20');
    const res =
      tenants === undefined
        ? await this.#db.query<KeyRow>(`SELECT ${COLS} FROM crypto_key ORDER BY tenant_id, purpose, version`)
        : await this.#db.query<KeyRow>(`SELECT ${COLS} FROM crypto_key WHERE tenant_id = ANY($1) ORDER BY tenant_id, purpose, version`, [
            tenants,
          ]);
    const entries: BackupEntry[] = [];
    const secrets: Buffer[] = [];
    try {
      for (const row of res.rows) {
        const entry: BackupEntry = {
          tenantId: row.tenant_id,
          purpose: row.purpose,
          version: row.version,
          state: row.state,
          createdAt: row.created_at.toISOString(),
          retiredAt: row.retired_at ? row.retired_at.toISOString() : null,
        };
        if (row.state !== 'destroyed') {
          const key = await this.#unwrapRow(row);
          secrets.push(key);
          entry.key = key.toString('base64');
        }
        entries.push(entry);
      }
      const salt = randomBytes(16);
      const derived = await scrypt(passphrase, salt, N, SCRYPT.r, SCRYPT.p);
      secrets.push(derived);
      const head = {
        format: BACKUP_FORMAT,
        createdAt: new Date().toISOString(),
        kdf: { name: 'scrypt' as const, N, r: SCRYPT.r, p: SCRYPT.p, salt: salt.toString('base64') },
        cipher: 'aes-256-gcm' as const,
        check: backupCheck(derived).toString('base64'),
      };
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', derived.subarray(0, 32), nonce);
      cipher.setAAD(backupAad(head));
      const plain = Buffer.from(JSON.stringify({ keys: entries }), 'utf8');
      secrets.push(plain);
      const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
      const doc: BackupDoc = {
        ...head,
        nonce: nonce.toString('base64'),
        ciphertext: ct.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
      };
      return `${JSON.stringify(doc, null, 2)}\n`;
    } finally {
      for (const s of secrets) if (!this.#isCached(s)) s.fill(0);
    }
  }

  #isCached(b: Buffer): boolean {
    for (const v of this.#keys.values()) if (v === b) return true;
    return false;
  }

  /**
   * Imports a key backup, wrapping every key under the current KEK, in one transaction. New versions
   * are inserted; versions wrapped under another (lost) KEK are re-wrapped; identical ones are left
   * alone. Refuses a wrong passphrase, an altered or malformed document, and a backup whose key for
   * some version differs from the one this database already holds (nothing is written then). Never
   * resurrects a version destroyed here.
   */
  async importBackup(doc: string, passphrase: string): Promise<{ imported: number; unchanged: number; skippedDestroyed: number }> {
    const parsed = parseBackup(doc);
    const salt = Buffer.from(parsed.kdf.salt, 'base64');
    const derived = await scrypt(passphrase, salt, parsed.kdf.N, parsed.kdf.r, parsed.kdf.p);
    let entries: BackupEntry[];
    try {
      const check = Buffer.from(parsed.check, 'base64');
      const expected = backupCheck(derived);
      if (check.length !== expected.length || !timingSafeEqual(check, expected)) {
        throw new KeyBackupError('wrong passphrase for this key backup');
      }
      const decipher = createDecipheriv('aes-256-gcm', derived.subarray(0, 32), Buffer.from(parsed.nonce, 'base64'));
      decipher.setAAD(backupAad(parsed));
      decipher.setAuthTag(Buffer.from(parsed.tag, 'base64'));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(Buffer.from(parsed.ciphertext, 'base64')), decipher.final()]);
      } catch {
        throw new KeyBackupError('the key backup was altered: authentication failed (the passphrase is right)');
      }
      entries = parseEntries(plain);
      plain.fill(0);
    } finally {
      derived.fill(0);
    }

    const out = { imported: 0, unchanged: 0, skippedDestroyed: 0 };
    const touched = new Set<string>();
    await this.#tx(async (q) => {
      await lockWithinSchema(q, KEY_LOCK);
      for (const e of entries) {
        touched.add(e.tenantId);
        const existing = (
          await q.query<KeyRow>(`SELECT ${COLS} FROM crypto_key WHERE tenant_id = $1 AND purpose = $2 AND version = $3`, [
            e.tenantId,
            e.purpose,
            e.version,
          ])
        ).rows[0];
        if (e.key === undefined) {
          // A version destroyed at backup time: record the tombstone if this database has never heard of it.
          if (!existing) {
            await q.query(
              `INSERT INTO crypto_key (tenant_id, purpose, version, wrapped, kek_id, state, created_at, retired_at, destroyed_at)
               VALUES ($1, $2, $3, NULL, NULL, 'destroyed', $4, now(), now())`,
              [e.tenantId, e.purpose, e.version, new Date(e.createdAt)],
            );
            out.imported++;
          } else out.unchanged++;
          continue;
        }
        const key = Buffer.from(e.key, 'base64');
        try {
          if (existing?.state === 'destroyed') {
            out.skippedDestroyed++;
            continue;
          }
          if (existing) {
            let current: Buffer | null = null;
            try {
              current = await this.#unwrapRow(existing);
            } catch {
              current = null; // wrapped under another KEK (the lost one): re-wrap below
            }
            if (current) {
              const same = current.length === key.length && timingSafeEqual(current, key);
              current.fill(0);
              if (!same) {
                throw new KeyBackupError(
                  `the backup's ${e.purpose} key version ${e.version} of tenant ${JSON.stringify(e.tenantId)} differs from the one in the database; nothing was imported`,
                );
              }
              out.unchanged++;
              continue;
            }
            const wrapped = await this.#kek.wrap(key, keyWrapAad(e.tenantId, e.purpose, e.version));
            await q.query('UPDATE crypto_key SET wrapped = $4, kek_id = $5 WHERE tenant_id = $1 AND purpose = $2 AND version = $3', [
              e.tenantId,
              e.purpose,
              e.version,
              wrapped,
              this.#kek.id,
            ]);
            out.imported++;
            continue;
          }
          const hasActive =
            (await q.query(`SELECT 1 FROM crypto_key WHERE tenant_id = $1 AND purpose = $2 AND state = 'active'`, [e.tenantId, e.purpose]))
              .rows.length > 0;
          const destroyedHere =
            (await q.query(`SELECT 1 FROM crypto_key WHERE tenant_id = $1 AND state = 'destroyed'`, [e.tenantId])).rows.length > 0;
          if (destroyedHere) {
            out.skippedDestroyed++;
            continue;
          }
          const state: KeyState = e.state === 'active' && hasActive ? 'retiring' : e.state;
          const wrapped = await this.#kek.wrap(key, keyWrapAad(e.tenantId, e.purpose, e.version));
          await q.query(
            `INSERT INTO crypto_key (tenant_id, purpose, version, wrapped, kek_id, state, created_at, retired_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
            [
              e.tenantId,
              e.purpose,
              e.version,
              wrapped,
              this.#kek.id,
              state,
              new Date(e.createdAt),
              e.retiredAt ? new Date(e.retiredAt) : null,
            ],
          );
          out.imported++;
        } finally {
          key.fill(0);
        }
      }
    });
    for (const t of touched) this.forget(t);
    return out;
  }

  /** Checks that every non-destroyed wrapped key unwraps under the loaded KEK and that each tenant/purpose has one active version. */
  async verify(): Promise<{ keys: number; problems: string[] }> {
    const res = await this.#db.query<KeyRow>(`SELECT ${COLS} FROM crypto_key ORDER BY tenant_id, purpose, version`);
    const problems: string[] = [];
    let keys = 0;
    const active = new Map<string, number>();
    const live = new Set<string>();
    for (const row of res.rows) {
      if (row.state === 'destroyed') continue;
      keys++;
      live.add(pair(row.tenant_id, row.purpose));
      if (row.state === 'active') active.set(pair(row.tenant_id, row.purpose), (active.get(pair(row.tenant_id, row.purpose)) ?? 0) + 1);
      try {
        const key = await this.#unwrapRow(row);
        if (!this.#isCached(key)) key.fill(0);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    for (const p of live) {
      const n = active.get(p) ?? 0;
      if (n !== 1) {
        const [t, purpose] = p.split('\u0000');
        problems.push(`tenant ${JSON.stringify(t)} has ${n} active ${purpose} key versions (expected 1)`);
      }
    }
    return { keys, problems };
  }
}

function isScryptN(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 2 ** 14 && n <= 2 ** 20 && (n & (n - 1)) === 0;
}

function assertPurpose(p: string): asserts p is KeyPurpose {
  if (p !== 'data' && p !== 'index') throw new TypeError(`unknown key purpose ${JSON.stringify(p)} (expected 'data' or 'index')`);
}

function parseBackup(doc: string): BackupDoc {
  let d: unknown;
  try {
    d = JSON.parse(doc);
  } catch {
    throw new KeyBackupError('not a Sushruta key backup: not JSON');
  }
  const o = d as Partial<BackupDoc> | null;
  if (!o || typeof o !== 'object' || o.format !== BACKUP_FORMAT) {
    throw new KeyBackupError(`not a Sushruta key backup (expected format '${BACKUP_FORMAT}')`);
  }
  const k = o.kdf;
  if (k?.name !== 'scrypt' || !isScryptN(k.N) || typeof k.salt !== 'string') {
    throw new KeyBackupError('key backup has unsupported or out-of-range key-derivation parameters');
  }
  if (!Number.isInteger(k.r) || k.r < 1 || k.r > 32 || !Number.isInteger(k.p) || k.p < 1 || k.p > 16) {
    throw new KeyBackupError('key backup has unsupported or out-of-range key-derivation parameters');
  }
  for (const f of ['createdAt', 'check', 'nonce', 'ciphertext', 'tag'] as const) {
    if (typeof o[f] !== 'string') throw new KeyBackupError(`key backup is malformed: missing ${f}`);
  }
  if (o.cipher !== 'aes-256-gcm') throw new KeyBackupError('key backup uses an unsupported cipher');
  return o as BackupDoc;
}

function parseEntries(plain: Buffer): BackupEntry[] {
  const body = JSON.parse(plain.toString('utf8')) as { keys?: unknown };
  if (!Array.isArray(body.keys)) throw new KeyBackupError('key backup payload is malformed');
  for (const e of body.keys as BackupEntry[]) {
    if (
      typeof e.tenantId !== 'string' ||
      (e.purpose !== 'data' && e.purpose !== 'index') ||
      !Number.isInteger(e.version) ||
      !['active', 'retiring', 'retired', 'destroyed'].includes(e.state) ||
      (e.state !== 'destroyed' && (typeof e.key !== 'string' || Buffer.from(e.key, 'base64').length !== KEY_BYTES))
    ) {
      throw new KeyBackupError('key backup payload is malformed');
    }
  }
  return body.keys as BackupEntry[];
}
