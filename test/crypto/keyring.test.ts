import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyBackupError, KeyUnavailableError } from '../../src/security/crypto/errors.js';
import { kekFromBytes } from '../../src/security/crypto/kek.js';
import { cryptoMigrations, KeyRing, keyWrapAad } from '../../src/security/crypto/keyring.js';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { testDbKinds } from '../support/db.js';

const PASS = 'correct horse battery staple';

describe.each(testDbKinds())('key ring on $name', (kind) => {
  let db: Db;
  const kek = kekFromBytes(randomBytes(32));
  let ring: KeyRing;
  beforeAll(async () => {
    db = await kind.open();
    await migrate(db, [cryptoMigrations]);
    ring = await KeyRing.open(db, kek);
  });
  afterAll(async () => db?.close());

  const rawRows = async (tenant: string) =>
    (
      await db.query<{ purpose: string; version: number; wrapped: Uint8Array | null; kek_id: string | null; state: string }>(
        'SELECT purpose, version, wrapped, kek_id, state FROM crypto_key WHERE tenant_id = $1 ORDER BY purpose, version',
        [tenant],
      )
    ).rows;

  it('creates version 1 on first use, separately for data and index, and holds only wrapped keys', async () => {
    const data = await ring.active('t-first', 'data');
    const index = await ring.active('t-first', 'index');
    expect(data.version).toBe(1);
    expect(index.version).toBe(1);
    expect(data.key.length).toBe(32);
    expect(data.key.equals(index.key)).toBe(false);
    expect((await ring.active('t-first', 'data')).key.equals(data.key)).toBe(true);
    const rows = await rawRows('t-first');
    expect(rows.map((r) => [r.purpose, r.version, r.state, r.kek_id])).toEqual([
      ['data', 1, 'active', kek.id],
      ['index', 1, 'active', kek.id],
    ]);
    for (const r of rows) {
      const wrapped = Buffer.from(r.wrapped as Uint8Array);
      expect(wrapped.includes(data.key)).toBe(false);
      expect(wrapped.includes(index.key)).toBe(false);
    }
    // A second ring (another process) with the same KEK unwraps the same keys from the database.
    const other = await KeyRing.open(db, kek);
    expect((await other.get('t-first', 'data', 1)).equals(data.key)).toBe(true);
  });

  it('is safe when two processes create the first key at once', async () => {
    const rings = await Promise.all([KeyRing.open(db, kek), KeyRing.open(db, kek), KeyRing.open(db, kek)]);
    const got = await Promise.all(rings.map((r) => r.active('t-race', 'data')));
    expect(new Set(got.map((g) => g.key.toString('hex'))).size).toBe(1);
    expect((await rawRows('t-race')).length).toBe(1);
  });

  it('keeps tenants apart', async () => {
    const a = await ring.active('t-a', 'data');
    const b = await ring.active('t-b', 'data');
    expect(a.key.equals(b.key)).toBe(false);
  });

  it('rotates: new active version, previous one retiring and still readable, then retired', async () => {
    const v1 = await ring.active('t-rot', 'data');
    const v2 = await ring.rotate('t-rot', 'data');
    expect(v2).toBe(2);
    const now = await ring.active('t-rot', 'data');
    expect(now.version).toBe(2);
    expect(now.key.equals(v1.key)).toBe(false);
    expect((await ring.get('t-rot', 'data', 1)).equals(v1.key)).toBe(true);
    expect((await ring.versions('t-rot', 'data')).map((v) => [v.version, v.state])).toEqual([
      [1, 'retiring'],
      [2, 'active'],
    ]);
    expect((await ring.versions('t-rot', 'data'))[0]?.createdAt).toBeInstanceOf(Date);
    // The index key is untouched by a data rotation.
    expect((await ring.active('t-rot', 'index')).version).toBe(1);
    await expect(ring.retire('t-rot', 'data', 2)).rejects.toThrow(/it is active; rotate first/);
    await ring.retire('t-rot', 'data', 1);
    expect((await ring.versions('t-rot', 'data')).map((v) => v.state)).toEqual(['retired', 'active']);
    // Another process still reads the retired version.
    expect((await (await KeyRing.open(db, kek)).get('t-rot', 'data', 1)).equals(v1.key)).toBe(true);
    await expect(ring.get('t-rot', 'data', 7)).rejects.toMatchObject({ name: 'KeyUnavailableError', reason: 'unknown', version: 7 });
    await expect(ring.retire('t-rot', 'data', 7)).rejects.toBeInstanceOf(KeyUnavailableError);
  });

  it('concurrent rotations each get their own version and leave exactly one active', async () => {
    await ring.active('t-rot2', 'index');
    const rings = await Promise.all([KeyRing.open(db, kek), KeyRing.open(db, kek)]);
    const versions = await Promise.all(rings.map((r) => r.rotate('t-rot2', 'index')));
    expect(versions.sort()).toEqual([2, 3]);
    const states = (await ring.versions('t-rot2', 'index')).map((v) => v.state);
    expect(states.filter((s) => s === 'active')).toHaveLength(1);
  });

  it('refuses a wrong KEK with a clear error naming both key-encryption keys', async () => {
    await ring.active('t-kek', 'data');
    const wrongKek = kekFromBytes(randomBytes(32));
    const wrong = await KeyRing.open(db, wrongKek);
    const err = await wrong.get('t-kek', 'data', 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyUnavailableError);
    expect((err as KeyUnavailableError).reason).toBe('unwrap failed');
    expect((err as Error).message).toContain(kek.id);
    expect((err as Error).message).toContain(wrongKek.id);
    const report = await wrong.verify();
    expect(report.keys).toBeGreaterThan(0);
    expect(report.problems.length).toBe(report.keys);
  });

  it('a wrapped key moved to another tenant, purpose or version does not unwrap', async () => {
    await ring.active('t-src', 'data');
    await ring.active('t-dst', 'data');
    await db.query(
      `UPDATE crypto_key SET wrapped = (SELECT wrapped FROM crypto_key WHERE tenant_id = 't-src' AND purpose = 'data' AND version = 1)
       WHERE tenant_id = 't-dst' AND purpose = 'data' AND version = 1`,
    );
    const fresh = await KeyRing.open(db, kek);
    await expect(fresh.get('t-dst', 'data', 1)).rejects.toMatchObject({ reason: 'unwrap failed' });
    expect((await fresh.verify()).problems.some((p) => p.includes('"t-dst"'))).toBe(true);
    // The AAD names tenant, purpose and version.
    expect(keyWrapAad('a', 'data', 1)).not.toBe(keyWrapAad('a', 'index', 1));
    expect(keyWrapAad('a', 'data', 1)).not.toBe(keyWrapAad('a', 'data', 2));
    expect(keyWrapAad('a|b', 'data', 1)).not.toBe(keyWrapAad('a', 'data', 1));
    await db.query(`DELETE FROM crypto_key WHERE tenant_id = 't-dst'`);
  });

  it('destroys a tenant: all versions and purposes shredded, get() and active() refuse, no new key is created', async () => {
    await ring.active('t-gone', 'data');
    await ring.rotate('t-gone', 'data');
    await ring.preload('t-gone');
    expect(() => ring.cached('t-gone', 'data', 1)).not.toThrow();
    await ring.destroy('t-gone');
    const rows = await rawRows('t-gone');
    expect(rows.length).toBe(3); // data v1, v2 and index v1 (created by preload)
    for (const r of rows) {
      expect(r.state).toBe('destroyed');
      expect(r.wrapped).toBeNull();
    }
    for (const r of [ring, await KeyRing.open(db, kek)]) {
      await expect(r.get('t-gone', 'data', 1)).rejects.toMatchObject({ name: 'KeyUnavailableError', reason: 'destroyed' });
      await expect(r.get('t-gone', 'data', 2)).rejects.toThrow(/destroyed/);
      await expect(r.active('t-gone', 'data')).rejects.toMatchObject({ reason: 'destroyed' });
      await expect(r.active('t-gone', 'index')).rejects.toMatchObject({ reason: 'destroyed' });
      await expect(r.rotate('t-gone', 'data')).rejects.toMatchObject({ reason: 'destroyed' });
    }
    expect(() => ring.cached('t-gone', 'data', 1)).toThrow(/destroyed/);
    await ring.preload('t-gone'); // does not throw, records the destruction
    expect(() => ring.activeCached('t-gone', 'index')).toThrow(/destroyed/);
    expect((await rawRows('t-gone')).every((r) => r.state === 'destroyed')).toBe(true);
    // Other tenants are untouched.
    expect((await ring.active('t-first', 'data')).version).toBe(1);
  });

  it('destroying a tenant that never had keys still prevents creating any', async () => {
    await ring.destroy('t-never');
    await expect(ring.active('t-never', 'data')).rejects.toMatchObject({ reason: 'destroyed' });
    expect((await rawRows('t-never')).length).toBe(2);
  });

  it('preloads keys for synchronous use, and says when they are not loaded', async () => {
    const other = await KeyRing.open(db, kek);
    expect(() => other.activeCached('t-pre', 'data')).toThrow(/not loaded.*preload/);
    await ring.active('t-pre', 'data');
    await ring.rotate('t-pre', 'data');
    await other.preload('t-pre');
    const a = other.activeCached('t-pre', 'data');
    expect(a.version).toBe(2);
    expect(other.cached('t-pre', 'data', 1).equals(await ring.get('t-pre', 'data', 1))).toBe(true);
    expect(other.activeCached('t-pre', 'index').version).toBe(1);
    expect(() => other.cached('t-pre', 'data', 3)).toThrow(KeyUnavailableError);
    // A rotation by another process is seen after the next preload.
    await ring.rotate('t-pre', 'data');
    expect(other.activeCached('t-pre', 'data').version).toBe(2);
    await other.preload('t-pre');
    expect(other.activeCached('t-pre', 'data').version).toBe(3);
  });

  it('exports and imports a key backup that survives the loss of the KEK', async () => {
    const d = await ring.active('t-bak', 'data');
    await ring.rotate('t-bak', 'data');
    const d2 = await ring.active('t-bak', 'data');
    const i = await ring.active('t-bak', 'index');
    const doc = await ring.exportBackup(PASS, ['t-bak', 't-gone']);
    for (const k of [d.key, d2.key, i.key]) {
      expect(doc).not.toContain(k.toString('base64'));
      expect(doc).not.toContain(k.toString('hex'));
    }
    const parsed = JSON.parse(doc);
    expect(parsed.format).toBe('sushruta-key-backup-v1');
    expect(parsed.kdf).toMatchObject({ name: 'scrypt', N: 2 ** 17, r: 8, p: 1 });
    expect(doc).not.toContain('t-bak'); // tenant ids are inside the ciphertext too

    // Disaster: key file lost. A new database and a new KEK, restored from the backup.
    const db2 = await kind.open();
    try {
      await migrate(db2, [cryptoMigrations]);
      const kek2 = kekFromBytes(randomBytes(32));
      const ring2 = await KeyRing.open(db2, kek2);
      const res = await ring2.importBackup(doc, PASS);
      expect(res.imported).toBe(3 + 3); // t-bak: data v1, v2, index v1; t-gone: 3 tombstones
      expect((await ring2.get('t-bak', 'data', 1)).equals(d.key)).toBe(true);
      expect((await ring2.active('t-bak', 'data')).key.equals(d2.key)).toBe(true);
      expect((await ring2.active('t-bak', 'index')).key.equals(i.key)).toBe(true);
      expect((await ring2.versions('t-bak', 'data')).map((v) => v.state)).toEqual(['retiring', 'active']);
      await expect(ring2.get('t-gone', 'data', 1)).rejects.toMatchObject({ reason: 'destroyed' });
      expect(await ring2.verify()).toEqual({ keys: 3, problems: [] });
      // Importing again changes nothing.
      expect(await ring2.importBackup(doc, PASS)).toMatchObject({ imported: 0, unchanged: 6 });
    } finally {
      await db2.close();
    }

    // Same database, KEK lost: the old wrapped keys are re-wrapped under the new KEK.
    const kek3 = kekFromBytes(randomBytes(32));
    const ring3 = await KeyRing.open(db, kek3);
    await expect(ring3.get('t-bak', 'data', 2)).rejects.toMatchObject({ reason: 'unwrap failed' });
    expect((await ring3.importBackup(doc, PASS)).imported).toBe(3);
    expect((await ring3.get('t-bak', 'data', 2)).equals(d2.key)).toBe(true);
    // ... and the original ring (old KEK) now reports them as wrapped under another KEK.
    expect((await (await KeyRing.open(db, kek)).verify()).problems.join('\n')).toContain(kek3.id);
  });

  it('refuses a wrong passphrase, a tampered backup and a conflicting backup, writing nothing', async () => {
    await ring.active('t-bak2', 'data');
    // Cheaper KDF parameters (recorded in the document) keep this test quick; the KDF is the same.
    const doc = await ring.exportBackup(PASS, ['t-bak2'], { scryptN: 2 ** 14 });
    expect(JSON.parse(doc).kdf.N).toBe(2 ** 14);
    await expect(ring.exportBackup(PASS, [], { scryptN: 2 ** 10 })).rejects.toThrow(/power of two from 2\^14/);
    await expect(ring.importBackup(doc, 'not the passphrase')).rejects.toThrow(/wrong passphrase/);
    const tamper = (mut: (d: Record<string, unknown>) => void) => {
      const d = JSON.parse(doc);
      mut(d);
      return JSON.stringify(d);
    };
    const flip = (b64: string, at: number) => {
      const b = Buffer.from(b64, 'base64');
      b[at] = (b[at] as number) ^ 1;
      return b.toString('base64');
    };
    const cases = [
      tamper((d) => {
        d.ciphertext = flip(d.ciphertext as string, 3);
      }),
      tamper((d) => {
        d.tag = flip(d.tag as string, 0);
      }),
      tamper((d) => {
        d.nonce = flip(d.nonce as string, 0);
      }),
      tamper((d) => {
        d.createdAt = '2000-01-01T00:00:00.000Z';
      }),
    ];
    for (const bad of cases) await expect(ring.importBackup(bad, PASS)).rejects.toThrow(/altered/);
    await expect(
      ring.importBackup(
        tamper((d) => {
          (d.kdf as Record<string, unknown>).salt = flip((d.kdf as { salt: string }).salt, 0);
        }),
        PASS,
      ),
    ).rejects.toBeInstanceOf(KeyBackupError);
    await expect(
      ring.importBackup(
        tamper((d) => {
          (d.kdf as Record<string, unknown>).N = 2 ** 30;
        }),
        PASS,
      ),
    ).rejects.toThrow(/out-of-range/);
    await expect(ring.importBackup('{"hello":1}', PASS)).rejects.toThrow(/not a Sushruta key backup/);
    await expect(ring.importBackup('garbage', PASS)).rejects.toThrow(/not JSON/);
    await expect(ring.exportBackup('short')).rejects.toThrow(/at least 12 characters/);

    // A backup from another database whose key for the same tenant/version differs is refused whole.
    const db2 = await kind.open();
    try {
      await migrate(db2, [cryptoMigrations]);
      const other = await KeyRing.open(db2, kekFromBytes(randomBytes(32)));
      await other.active('t-bak2', 'data');
      await other.active('t-new', 'data');
      const foreign = await other.exportBackup(PASS, undefined, { scryptN: 2 ** 14 });
      await expect(ring.importBackup(foreign, PASS)).rejects.toThrow(/differs from the one in the database; nothing was imported/);
      expect(await rawRows('t-new')).toEqual([]);
    } finally {
      await db2.close();
    }
  });

  it('never resurrects a destroyed tenant from a backup taken before the destruction', async () => {
    const k = await ring.active('t-zombie', 'data');
    const doc = await ring.exportBackup(PASS, ['t-zombie'], { scryptN: 2 ** 14 });
    await ring.destroy('t-zombie');
    const res = await ring.importBackup(doc, PASS);
    expect(res.imported).toBe(0);
    expect(res.skippedDestroyed).toBe(1);
    await expect(ring.get('t-zombie', 'data', 1)).rejects.toMatchObject({ reason: 'destroyed' });
    expect(k.key.length).toBe(32);
  });
});
