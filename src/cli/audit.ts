/**
 * `sushruta audit`: verify the tamper-evident audit log, and show the key auditors pin.
 *
 * `audit verify` needs only read access and the log's public key: by default the key is derived
 * from the signing key file; an auditor who holds no secret passes the published verifier key with
 * `--key`. With PGlite and a running server, the server verifies (it owns the database); otherwise
 * the command reads the database itself, with progress.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { auditCheckpointFilePath, auditKeyFilePath, type Config } from '../config/config.js';
import { acquireLock, lockHolder } from '../runtime/lock.js';
import { dbTarget } from '../runtime/open.js';
import { type CheckpointVerifier, openSigningKey, verifierFromVkey } from '../security/audit/checkpoint.js';
import { type VerifyReport, verifyAuditLog } from '../security/audit/verify.js';
import { openDb } from '../store/open-db.js';
import { adminCall } from './admin-client.js';
import { Progress } from './progress.js';

export class AuditCliError extends Error {
  override name = 'AuditCliError';
}

interface VerifyFlags {
  key?: string;
  checkpointFile?: string;
  json?: boolean;
}

const remoteCall = <T>(url: string, method: 'GET' | 'POST', path: string): Promise<T> =>
  adminCall<T>(url, method, `/audit${path}`, method === 'POST' ? {} : undefined, (m) => new AuditCliError(m));

function verifierFor(config: Config, vkey: string | undefined): CheckpointVerifier {
  if (vkey) {
    try {
      return verifierFromVkey(vkey);
    } catch (err) {
      throw new AuditCliError(`--key: ${(err as Error).message}`);
    }
  }
  return openSigningKey(auditKeyFilePath(config), config.audit.origin, { create: false });
}

async function verifyLocally(config: Config, flags: VerifyFlags): Promise<VerifyReport> {
  if (flags.checkpointFile && !existsSync(flags.checkpointFile)) {
    throw new AuditCliError(`--checkpoint-file: ${flags.checkpointFile} does not exist`);
  }
  const verifier = verifierFor(config, flags.key);
  const lock = config.databaseUrl ? undefined : acquireLock(config.dataDir);
  try {
    const db = await openDb(dbTarget(config));
    try {
      const exists = await db.query<{ t: string | null }>("SELECT to_regclass('audit_log')::text AS t");
      if (!exists.rows[0]?.t) throw new AuditCliError('this database has no audit log yet (start the server once to create it)');
      let progress: Progress | undefined;
      return await db.unlimited((q) =>
        verifyAuditLog(q, {
          verifier,
          checkpointFile: flags.checkpointFile ?? auditCheckpointFilePath(config),
          requireCheckpointFile: flags.checkpointFile !== undefined,
          onProgress: (done, total) => {
            progress ??= new Progress('verifying audit records', total);
            progress.update(done);
          },
        }),
      );
    } finally {
      await db.close();
    }
  } finally {
    lock?.release();
  }
}

function printReport(r: VerifyReport, via: string, out: NodeJS.WritableStream = process.stdout): void {
  const rate = r.seconds > 0 ? Math.round(r.records / r.seconds) : r.records;
  out.write(
    `audit log (${via}): ${r.records.toLocaleString('en-IN')} records; signed checkpoints: ${r.checkpoints.database} in the database, ` +
      `${r.checkpoints.file} in the checkpoint file, ${r.checkpoints.verifiedRoots} tree heads recomputed and matched; ` +
      `${r.seconds.toFixed(1)} s (${rate.toLocaleString('en-IN')} records/s)\n`,
  );
  if (!r.checkpointFile.found) {
    out.write(
      `warning: no checkpoint file at ${r.checkpointFile.path ?? '(none given)'}: a tail cut off together with its database checkpoints would not show\n`,
    );
  }
  if (r.ok) {
    out.write('OK: every record, link, tree head and signature verifies.\n');
    return;
  }
  out.write(`TAMPERED: ${r.firstBad?.problem}\n`);
  const rest = r.problems.slice(1, 11);
  if (rest.length > 0) out.write(`further problems:\n${rest.map((p) => `  - ${p.problem}`).join('\n')}\n`);
}

export function registerAuditCommand(program: Command, configOf: (flags: object) => Config, common: (c: Command) => Command): void {
  const audit = program
    .command('audit')
    .description('the tamper-evident audit log: verify it, show its verifier key')
    .addHelpText('after', '\nSee docs/SECURITY.md (audit log) and docs/OPERATIONS.md (audit runbook).');

  common(
    audit
      .command('verify')
      .description('check every record, link, Merkle tree head and signature; names the first bad record and exits 1 on tampering')
      .option('--key <vkey>', 'the published verifier key to check signatures with (default: derived from the signing key file)')
      .option('--checkpoint-file <file>', 'the checkpoint file outside the database (default: from the configuration)')
      .option('--json', 'print the report as JSON'),
  ).action(async (flags: VerifyFlags) => {
    const config = configOf(flags);
    const holder = config.databaseUrl ? undefined : lockHolder(config.dataDir);
    let report: VerifyReport;
    let via: string;
    if (holder?.url) {
      if (flags.key || flags.checkpointFile)
        throw new AuditCliError(
          '--key and --checkpoint-file need the server stopped (the running server verifies with its own key and file)',
        );
      report = await remoteCall<VerifyReport>(holder.url, 'POST', '/verify');
      via = `verified by the running server at ${holder.url}`;
    } else {
      report = await verifyLocally(config, flags);
      via = config.databaseUrl ? 'PostgreSQL' : `PGlite data directory ${config.dataDir}`;
    }
    if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else printReport(report, via);
    if (!report.ok) process.exitCode = 1;
  });

  common(audit.command('key').description("print the audit log's verifier key (signed-note vkey) for auditors to pin")).action(
    async (flags) => {
      const config = configOf(flags);
      const holder = config.databaseUrl ? undefined : lockHolder(config.dataDir);
      const vkey = holder?.url
        ? (await remoteCall<{ vkey: string }>(holder.url, 'GET', '/key')).vkey
        : openSigningKey(auditKeyFilePath(config), config.audit.origin, { create: false }).vkey;
      process.stdout.write(`${vkey}\n`);
    },
  );
}
