/**
 * `sushruta keys`: status, rotate, verify, export, import, shred. With PGlite and a running
 * server the command goes through the server's admin API (the server owns the database); otherwise
 * it opens the database itself and runs the work to completion with progress.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import type { KeyAdmin, KeyStatus } from '../security/crypto/key-admin.js';
import { acquireLock, lockHolder } from '../runtime/lock.js';
import { recoverKeys } from '../runtime/crypto.js';
import { ALL_MIGRATIONS, dbTarget, openSushruta } from '../runtime/open.js';

import { openDb } from '../store/open-db.js';
import { migrate } from '../store/migrate.js';
import { adminCall, throughServerOrDirect } from './admin-client.js';
import { Progress } from './progress.js';

export class KeysCliError extends Error {
  override name = 'KeysCliError';
}

interface KeysTarget {
  readonly via: string;
  status(): Promise<KeyStatus>;
  rotate(purpose: 'data' | 'index' | 'all'): Promise<unknown>;
  verify(): Promise<{ keys: number; bodies: number; problems: string[] }>;
  exportBackup(passphrase: string): Promise<string>;
  importBackup(doc: string, passphrase: string): Promise<unknown>;
  shred(confirm: string): Promise<unknown>;
  close(): Promise<void>;
}

const httpCall = <T>(url: string, method: string, path: string, body?: unknown): Promise<T> =>
  adminCall<T>(url, method, `/keys${path}`, body, (m) => new KeysCliError(m));

function remote(url: string): KeysTarget {
  return {
    via: `the running server at ${url}`,
    status: () => httpCall(url, 'GET', ''),
    rotate: (purpose) => httpCall(url, 'POST', '/rotate', { purpose }),
    verify: () => httpCall(url, 'POST', '/verify', {}),
    exportBackup: async (passphrase) => (await httpCall<{ backup: string }>(url, 'POST', '/export', { passphrase })).backup,
    importBackup: (backup, passphrase) => httpCall(url, 'POST', '/import', { backup, passphrase }),
    shred: (confirm) => httpCall(url, 'POST', '/shred', { confirm }),
    close: async () => undefined,
  };
}

async function local(config: Config): Promise<KeysTarget> {
  const lock = config.databaseUrl ? undefined : acquireLock(config.dataDir);
  try {
    const s = await openSushruta(config, { backgroundJobs: false });
    const keys = s.keys as KeyAdmin;
    const progress = (label: string) => {
      let p: Progress | undefined;
      return (done: number, total: number) => {
        p ??= new Progress(label, total);
        p.update(done);
      };
    };
    return {
      via: config.databaseUrl ? 'PostgreSQL (direct)' : `PGlite data directory ${config.dataDir} (direct)`,
      status: () => keys.status(),
      async rotate(purpose) {
        const rotated: Record<string, number> = {};
        for (const p of purpose === 'all' ? (['data', 'index'] as const) : [purpose]) rotated[p] = await keys.rotate(p);
        const done = await keys.complete(progress('moving data under the new keys'));
        return { rotated, ...done };
      },
      verify: () => keys.verify(progress('verifying stored bodies')),
      exportBackup: (passphrase) => keys.exportBackup(passphrase),
      importBackup: (doc, passphrase) => keys.importBackup(doc, passphrase),
      async shred(confirm) {
        if (confirm !== keys.tenant) throw new KeysCliError(`--confirm must repeat the hospital id '${keys.tenant}' exactly`);
        await keys.shred();
        return { shredded: keys.tenant };
      },
      async close() {
        await s.close();
        lock?.release();
      },
    };
  } catch (err) {
    lock?.release();
    throw err;
  }
}

const open = (config: Config): Promise<KeysTarget> => throughServerOrDirect(config, remote, local);

function passphrase(file: string | undefined): string {
  const fromEnv = process.env.SUSHRUTA_KEY_BACKUP_PASSPHRASE;
  if (file) return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  if (fromEnv) return fromEnv;
  throw new KeysCliError('a passphrase is needed: --passphrase-file FILE or SUSHRUTA_KEY_BACKUP_PASSPHRASE');
}

const print = (v: unknown): void => {
  process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
};

export function registerKeysCommand(
  program: Command,
  configOf: (flags: Record<string, unknown>) => Config,
  common: (c: Command) => Command,
): void {
  const keys = program
    .command('keys')
    .description('encryption keys: status, rotate, verify, export, import, shred (see docs/OPERATIONS.md)');
  const withTarget = async (flags: Record<string, unknown>, fn: (t: KeysTarget) => Promise<void>) => {
    const t = await open(configOf(flags));
    try {
      process.stderr.write(`keys: through ${t.via}\n`);
      await fn(t);
    } finally {
      await t.close();
    }
  };

  common(keys.command('status').description('key versions, the key-encryption key in use, and work pending after a rotation')).action(
    (flags) => withTarget(flags, async (t) => print(await t.status())),
  );
  common(
    keys
      .command('rotate')
      .description('new key version(s); existing data is re-encrypted / re-indexed (in the background when a server runs)')
      .option('--data', 'rotate the data key (resource bodies)')
      .option('--index', 'rotate the blind-index key (rebuilds the indexes)'),
  ).action((flags: Record<string, unknown>) =>
    withTarget(flags, async (t) => {
      const purpose = flags.data && flags.index ? 'all' : flags.index ? 'index' : flags.data ? 'data' : undefined;
      if (!purpose) throw new KeysCliError('say what to rotate: --data, --index or both');
      print(await t.rotate(purpose));
    }),
  );
  common(keys.command('verify').description('every key unwraps and every stored body authenticates; exit 1 on any problem')).action(
    (flags) =>
      withTarget(flags, async (t) => {
        const r = await t.verify();
        print(r);
        if (r.problems.length > 0) process.exitCode = 1;
      }),
  );
  common(
    keys
      .command('export')
      .description("write this hospital's keys, wrapped under a passphrase (not the key file), to a backup file")
      .requiredOption('--out <file>', 'where to write the backup (created with mode 0600; never overwritten)')
      .option('--passphrase-file <file>', 'file holding the passphrase (else $SUSHRUTA_KEY_BACKUP_PASSPHRASE)'),
  ).action((flags: Record<string, unknown>) =>
    withTarget(flags, async (t) => {
      const doc = await t.exportBackup(passphrase(flags.passphraseFile as string | undefined));
      writeFileSync(flags.out as string, doc, { mode: 0o600, flag: 'wx' });
      process.stderr.write(`key backup written to ${flags.out}; store it apart from the database backups\n`);
    }),
  );
  common(
    keys
      .command('import')
      .argument('<file>', 'a backup written by `sushruta keys export`')
      .description('restore keys from a backup, re-wrapped under the current key file')
      .option('--passphrase-file <file>', 'file holding the passphrase (else $SUSHRUTA_KEY_BACKUP_PASSPHRASE)'),
  ).action(async (file: string, flags: Record<string, unknown>) => {
    const config = configOf(flags);
    const doc = readFileSync(file, 'utf8');
    const pass = passphrase(flags.passphraseFile as string | undefined);
    const holder = config.databaseUrl ? undefined : lockHolder(config.dataDir);
    if (holder?.url) {
      print(await remote(holder.url).importBackup(doc, pass));
      return;
    }
    // Without a server this is also the way back from a lost key file, so it must not need one.
    const lock = config.databaseUrl ? undefined : acquireLock(config.dataDir);
    const db = await openDb(dbTarget(config));
    try {
      await migrate(db, ALL_MIGRATIONS);
      const r = await recoverKeys(config, db, config.tenant, doc, pass);
      if (r.createdKeyFile) process.stderr.write(`created a new key file at ${r.keyFile}; back it up\n`);
      print(r);
    } finally {
      await db.close();
      lock?.release();
    }
  });
  common(
    keys
      .command('shred')
      .description('crypto-shredding: destroy every key of this hospital; all of its data becomes unreadable, for good')
      .requiredOption('--confirm <tenant>', 'repeat the hospital (tenant) id to confirm'),
  ).action((flags: Record<string, unknown>) => withTarget(flags, async (t) => print(await t.shred(flags.confirm as string))));
}
