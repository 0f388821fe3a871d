/**
 * PGlite allows one process per data directory. The server holds `sushruta.lock` in the data
 * directory for as long as it runs, with its pid and address, so that a second process either
 * talks to the running server or stops with a clear message; it never opens the directory twice.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface LockInfo {
  readonly pid: number;
  readonly startedAt: string;
  /** Where the running server listens, once it does. */
  readonly url?: string;
}

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    readonly holder: LockInfo,
  ) {
    super(
      `the data directory ${dataDir} is in use by process ${holder.pid}` +
        (holder.url ? ` (a Sushruta server at ${holder.url})` : '') +
        '; stop it first, or run this command while it is running so it goes through the server',
    );
  }
}

export interface DataDirLock {
  readonly path: string;
  /** Records the address the server listens on, for CLI commands to find it. */
  publish(url: string): void;
  release(): void;
}

const lockPath = (dataDir: string) => join(resolve(dataDir), 'sushruta.lock');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live holder of the lock, if any; a lock left by a dead process is reported as free. */
export function lockHolder(dataDir: string): LockInfo | undefined {
  const path = lockPath(dataDir);
  if (!existsSync(path)) return undefined;
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
    return Number.isInteger(info.pid) && alive(info.pid) ? info : undefined;
  } catch {
    return undefined;
  }
}

export function acquireLock(dataDir: string): DataDirLock {
  mkdirSync(resolve(dataDir), { recursive: true });
  const path = lockPath(dataDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      let info: LockInfo = { pid: process.pid, startedAt: new Date().toISOString() };
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          const now = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
          if (now.pid === process.pid) unlinkSync(path);
        } catch {
          /* already gone */
        }
      };
      process.once('exit', release);
      return {
        path,
        publish(url) {
          // Write-then-rename: a reader never sees a half-written lock (which it would take for stale).
          info = { ...info, url };
          const tmp = `${path}.${process.pid}.tmp`;
          writeFileSync(tmp, JSON.stringify(info), { mode: 0o600 });
          renameSync(tmp, path);
        },
        release,
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = lockHolder(dataDir);
      if (holder) throw new DataDirLockedError(resolve(dataDir), holder);
      // The holder died without cleaning up (a crash or SIGKILL): the lock is stale.
      try {
        unlinkSync(path);
      } catch {
        /* another process took it over first; the next attempt will tell */
      }
    }
  }
  const holder = lockHolder(dataDir);
  throw new DataDirLockedError(resolve(dataDir), holder ?? { pid: -1, startedAt: '' });
}
