import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KeyFileError, KeyUnwrapError } from '../../src/security/crypto/errors.js';
import { createKeyFile, KEK_FILE_PREFIX, kekFromBytes, loadKeyFile } from '../../src/security/crypto/kek.js';

const dir = mkdtempSync(join(tmpdir(), 'sushruta-kek-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const posix = process.platform !== 'win32';

describe('key-encryption key', () => {
  it('wraps and unwraps under the same associated data only', async () => {
    const kek = kekFromBytes(randomBytes(32));
    const key = randomBytes(32);
    const wrapped = await kek.wrap(key, 'sushruta:key:v1|a|data|1');
    expect(wrapped.length).toBe(1 + 12 + 32 + 16);
    expect(wrapped.includes(key)).toBe(false);
    expect((await kek.unwrap(wrapped, 'sushruta:key:v1|a|data|1')).equals(key)).toBe(true);
    await expect(kek.unwrap(wrapped, 'sushruta:key:v1|b|data|1')).rejects.toBeInstanceOf(KeyUnwrapError);
    // Two wraps of the same key differ (random nonce).
    expect((await kek.wrap(key, 'x')).equals(await kek.wrap(key, 'x'))).toBe(false);
  });

  it('refuses a wrong KEK and altered bytes with a clear error', async () => {
    const a = kekFromBytes(randomBytes(32));
    const b = kekFromBytes(randomBytes(32));
    const wrapped = await a.wrap(randomBytes(32), 'ctx');
    await expect(b.unwrap(wrapped, 'ctx')).rejects.toThrow(/wrong key-encryption key/);
    for (const i of [0, 5, 20, wrapped.length - 1]) {
      const bad = Buffer.from(wrapped);
      bad[i] = (bad[i] as number) ^ 0x01;
      await expect(a.unwrap(bad, 'ctx')).rejects.toBeInstanceOf(KeyUnwrapError);
    }
  });

  it('has a fingerprint id that is stable, distinct per key, and not the key', () => {
    const bytes = randomBytes(32);
    const a = kekFromBytes(bytes);
    expect(a.id).toMatch(/^[0-9a-f]{16}$/);
    expect(kekFromBytes(bytes).id).toBe(a.id);
    expect(kekFromBytes(randomBytes(32)).id).not.toBe(a.id);
    expect(bytes.toString('hex')).not.toContain(a.id);
    expect(() => kekFromBytes(randomBytes(16))).toThrow(/32 bytes/);
  });

  it('creates a key file 0600 in a new 0700 directory, in the documented format, and loads it back', async () => {
    const path = join(dir, 'new', 'sub', 'kek.key');
    const created = createKeyFile(path);
    const text = readFileSync(path, 'ascii');
    expect(text).toMatch(/^sushruta-kek-v1:[A-Za-z0-9+/]{43}=\n$/);
    expect(Buffer.from(text.slice(KEK_FILE_PREFIX.length).trim(), 'base64').length).toBe(32);
    if (posix) {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'new', 'sub')).mode & 0o777).toBe(0o700);
    }
    const loaded = loadKeyFile(path);
    expect(loaded.id).toBe(created.id);
    const w = await created.wrap(Buffer.alloc(32, 7), 'aad');
    expect((await loaded.unwrap(w, 'aad')).equals(Buffer.alloc(32, 7))).toBe(true);
  });

  it('never overwrites an existing key file', () => {
    const path = join(dir, 'once.key');
    createKeyFile(path);
    const before = readFileSync(path);
    expect(() => createKeyFile(path)).toThrow(KeyFileError);
    expect(() => createKeyFile(path)).toThrow(/already exists; refusing to overwrite/);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it.runIf(posix)('refuses a key file readable by group or others', () => {
    const path = join(dir, 'open.key');
    createKeyFile(path);
    chmodSync(path, 0o644);
    expect(() => loadKeyFile(path)).toThrow(/mode 0644.*must be 0600/);
    chmodSync(path, 0o640);
    expect(() => loadKeyFile(path)).toThrow(KeyFileError);
    chmodSync(path, 0o400);
    expect(loadKeyFile(path).id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses missing, malformed and wrong-length key files, naming the problem', () => {
    const write = (name: string, content: string) => {
      const p = join(dir, name);
      writeFileSync(p, content, { mode: 0o600 });
      return p;
    };
    expect(() => loadKeyFile(join(dir, 'absent.key'))).toThrow(/does not exist/);
    expect(() => loadKeyFile(write('noprefix.key', `${randomBytes(32).toString('base64')}\n`))).toThrow(/not a Sushruta key file/);
    expect(() => loadKeyFile(write('v2.key', `sushruta-kek-v2:${randomBytes(32).toString('base64')}\n`))).toThrow(
      /not a Sushruta key file/,
    );
    expect(() => loadKeyFile(write('short.key', `${KEK_FILE_PREFIX}${randomBytes(16).toString('base64')}\n`))).toThrow(
      /16-byte key.*exactly 32 bytes/,
    );
    expect(() => loadKeyFile(write('junk.key', `${KEK_FILE_PREFIX}not base64 at all!\n`))).toThrow(/malformed/);
    expect(() => loadKeyFile(write('twolines.key', `${KEK_FILE_PREFIX}${randomBytes(32).toString('base64')}\nextra\n`))).toThrow(
      /malformed/,
    );
    expect(() => loadKeyFile(dir)).toThrow(/not a regular file|mode/);
  });

  it('error messages never contain key material', () => {
    const key = randomBytes(32);
    const p = join(dir, 'bad-mode.key');
    writeFileSync(p, `${KEK_FILE_PREFIX}${key.toString('base64')}\n`, { mode: 0o600 });
    if (posix) chmodSync(p, 0o666);
    try {
      loadKeyFile(p);
      if (posix) expect.unreachable();
    } catch (err) {
      expect(String((err as Error).message)).not.toContain(key.toString('base64'));
    }
  });
});
