/**
 * One-line secret files outside the database: the key-encryption key (kek.ts) and the audit
 * log's signing key (security/audit/signing-key.ts). Format, one line of ASCII:
 *
 *     <prefix><standard base64 of exactly N bytes>\n
 *
 * A secret file must be a regular file (not a symbolic link) and, on POSIX, readable and writable
 * by its owner only (mode 0600 or stricter); reading refuses anything else, naming the problem.
 */
import { chmodSync, closeSync, constants, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { KeyFileError } from './errors.js';

const isPosix = process.platform !== 'win32';

/** The secret bytes of a secret file. `missingHint` tells the operator what to do when the file does not exist. */
export function readSecretFile(path: string, prefix: string, bytes: number, missingHint: string): Buffer {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KeyFileError(path, code === 'ENOENT' ? `does not exist (${missingHint})` : `cannot be read (${code})`);
  }
  if (st.isSymbolicLink()) throw new KeyFileError(path, 'is a symbolic link; point the configuration at the key file itself');
  if (!st.isFile()) throw new KeyFileError(path, 'is not a regular file');
  if (isPosix && (st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    throw new KeyFileError(path, `has mode ${mode}, readable or writable by group or others; it must be 0600 (chmod 600 ${path})`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'ascii');
  } catch (err) {
    throw new KeyFileError(path, `cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
  const line = text.replace(/\r?\n$/, '');
  if (!line.startsWith(prefix)) {
    throw new KeyFileError(path, `is not a Sushruta key file of this kind (expected one line starting with '${prefix}')`);
  }
  const b64 = line.slice(prefix.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new KeyFileError(path, 'is malformed: the key after the prefix is not standard base64 on a single line');
  }
  const out = Buffer.from(b64, 'base64');
  if (out.length !== bytes) {
    const n = out.length;
    out.fill(0);
    throw new KeyFileError(path, `holds a ${n}-byte key; this kind of key file holds exactly ${bytes} bytes`);
  }
  return out;
}

/**
 * Writes `secret` to a new secret file: mode 0600, exclusive create (never overwrites), fsynced.
 * Creates the parent directory with mode 0700 if it does not exist. `what` names the key in errors.
 */
export function createSecretFile(path: string, prefix: string, secret: Buffer, what: string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (isPosix) chmodSync(dir, 0o700);
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KeyFileError(path, code === 'EEXIST' ? `already exists; refusing to overwrite ${what}` : `cannot be created (${code})`);
  }
  try {
    writeSync(fd, `${prefix}${secret.toString('base64')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (isPosix) chmodSync(path, 0o600); // in case of an unusual umask; never wider than 0600
}
