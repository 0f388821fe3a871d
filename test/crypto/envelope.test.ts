import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptedCodec, isEncryptedBody, keyVersionOf } from '../../src/security/crypto/envelope.js';
import { DecryptionError, KeyUnavailableError } from '../../src/security/crypto/errors.js';
import { kekFromBytes } from '../../src/security/crypto/kek.js';
import { cryptoMigrations, KeyRing } from '../../src/security/crypto/keyring.js';
import type { BodyCodec, BodyContext } from '../../src/store/codec.js';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { testDbKinds } from '../support/db.js';

const patient = JSON.stringify({
  resourceType: 'Patient',
  id: 'p1',
  name: [
    { family: 'शर्मा', given: ['मोहन'] },
    { family: 'Sharma', given: ['Mohan'] },
  ],
  telecom: [{ system: 'phone', value: '+91 98100 00000' }],
  birthDate: '1980-04-12',
});

const ctx = (over: Partial<BodyContext> = {}): BodyContext => ({
  tenantId: 't1',
  resourceType: 'Patient',
  id: 'p1',
  versionId: '1',
  ...over,
});

describe.each(testDbKinds())('encrypted body codec on $name', (kind) => {
  let db: Db;
  let ring: KeyRing;
  let codec: BodyCodec;
  const kek = kekFromBytes(randomBytes(32));
  beforeAll(async () => {
    db = await kind.open();
    await migrate(db, [cryptoMigrations]);
    ring = await KeyRing.open(db, kek);
    await ring.preload('t1');
    await ring.preload('t2');
    codec = encryptedCodec(ring);
  });
  afterAll(async () => db?.close());

  it('round-trips, including Indian scripts, and hides the plaintext', () => {
    const bytes = codec.encode(patient, ctx());
    expect(codec.decode(bytes, ctx())).toBe(patient);
    const raw = Buffer.from(bytes);
    for (const needle of ['Sharma', 'शर्मा', '98100', '1980-04-12', 'Patient']) expect(raw.includes(Buffer.from(needle))).toBe(false);
    expect(raw.length).toBe(6 + 12 + Buffer.byteLength(patient) + 16);
    expect(raw.subarray(0, 2).toString('hex')).toBe('5301');
    expect(keyVersionOf(bytes)).toBe(1);
    expect(isEncryptedBody(bytes)).toBe(true);
    expect(isEncryptedBody(Buffer.from(patient))).toBe(false);
    // Fresh nonce each time.
    expect(Buffer.from(codec.encode(patient, ctx())).equals(raw)).toBe(false);
    expect(codec.decode(codec.encode('', ctx()), ctx())).toBe('');
  });

  it('decodes a Uint8Array view at an offset (as drivers return bytea)', () => {
    const bytes = Buffer.from(codec.encode(patient, ctx()));
    const big = new Uint8Array(bytes.length + 10);
    big.set(bytes, 7);
    expect(codec.decode(big.subarray(7, 7 + bytes.length), ctx())).toBe(patient);
  });

  it('detects a flipped bit anywhere: header, key version, nonce, ciphertext, tag', () => {
    const bytes = Buffer.from(codec.encode(patient, ctx()));
    const positions = [0, 1, 2, 5, 6, 17, 18, 40, bytes.length - 17, bytes.length - 16, bytes.length - 1];
    for (const pos of positions) {
      for (const bit of [0x01, 0x80]) {
        const bad = Buffer.from(bytes);
        bad[pos] = (bad[pos] as number) ^ bit;
        expect(() => codec.decode(bad, ctx()), `byte ${pos} bit ${bit}`).toThrow(DecryptionError);
      }
    }
    expect(() => codec.decode(bytes.subarray(0, bytes.length - 1), ctx())).toThrow(/tampered or moved/);
    expect(() => codec.decode(bytes.subarray(0, 20), ctx())).toThrow(/too short/);
    expect(() => codec.decode(Buffer.concat([bytes, Buffer.from([0])]), ctx())).toThrow(/tampered or moved/);
  });

  it('names tenant, type, id, version and reason in its errors', () => {
    const bytes = Buffer.from(codec.encode(patient, ctx()));
    bytes[30] = (bytes[30] as number) ^ 1;
    const err = (() => {
      try {
        codec.decode(bytes, ctx());
      } catch (e) {
        return e as DecryptionError;
      }
    })();
    expect(err).toBeInstanceOf(DecryptionError);
    expect(err?.message).toBe('cannot decrypt Patient/p1/_history/1 of tenant "t1": tampered or moved (authentication failed)');
    expect(err?.context).toEqual(ctx());
    expect(() => codec.decode(Buffer.from(patient), ctx())).toThrow(/stored in plaintext, not encrypted/);
    expect(() => codec.decode(Buffer.alloc(40, 0x99), ctx())).toThrow(/unknown format bytes 0x9999/);
  });

  it('refuses a ciphertext moved to another tenant, type, id or version', () => {
    const bytes = codec.encode(patient, ctx());
    for (const moved of [
      ctx({ tenantId: 't2' }),
      ctx({ resourceType: 'Practitioner' }),
      ctx({ id: 'p2' }),
      ctx({ versionId: '2' }),
      ctx({ id: 'p1\u0000' }),
    ]) {
      expect(() => codec.decode(bytes, moved)).toThrow(DecryptionError);
    }
    // The field boundaries are part of the AAD: shifting text across them fails too.
    const b2 = codec.encode(patient, ctx({ id: '1', versionId: '12' }));
    expect(() => codec.decode(b2, ctx({ id: '11', versionId: '2' }))).toThrow(/tampered or moved/);
  });

  it('after a rotation new writes use the new version and old ones still decrypt', async () => {
    const old = codec.encode(patient, ctx());
    expect(keyVersionOf(old)).toBe(1);
    await ring.rotate('t1', 'data');
    const fresh = codec.encode(patient, ctx({ versionId: '2' }));
    expect(keyVersionOf(fresh)).toBe(2);
    expect(codec.decode(old, ctx())).toBe(patient);
    expect(codec.decode(fresh, ctx({ versionId: '2' }))).toBe(patient);
    // Another process that preloads after the rotation also writes version 2 and reads both.
    const other = encryptedCodec(await KeyRing.open(db, kek));
    expect(() => other.encode(patient, ctx())).toThrow(KeyUnavailableError);
    expect(() => other.decode(old, ctx())).toThrow(/key version 1 not loaded/);
  });

  it('a destroyed tenant can neither be read nor written', async () => {
    await ring.preload('t-shred');
    const bytes = codec.encode(patient, ctx({ tenantId: 't-shred' }));
    expect(codec.decode(bytes, ctx({ tenantId: 't-shred' }))).toBe(patient);
    await ring.destroy('t-shred');
    expect(() => codec.decode(bytes, ctx({ tenantId: 't-shred' }))).toThrow(/key version 1 destroyed/);
    expect(() => codec.encode(patient, ctx({ tenantId: 't-shred' }))).toThrow(/destroyed/);
    // A process that starts afterwards cannot get the key either.
    const later = await KeyRing.open(db, kek);
    await later.preload('t-shred');
    expect(() => encryptedCodec(later).decode(bytes, ctx({ tenantId: 't-shred' }))).toThrow(/key version 1 destroyed/);
    // The other tenant is unaffected.
    expect(codec.decode(codec.encode(patient, ctx({ tenantId: 't2' })), ctx({ tenantId: 't2' }))).toBe(patient);
  });

  it('keyVersionOf refuses bytes that are not an encrypted body', () => {
    expect(() => keyVersionOf(Buffer.from(patient))).toThrow(RangeError);
  });
});
