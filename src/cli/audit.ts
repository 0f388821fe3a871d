/**
 * `sushruta audit`: verify the tamper-evident audit log, prove what is in it, and show the key
 * auditors pin.
 *
 * `audit verify` and `audit prove` need only read access and the log's public key: by default the
 * key is derived from the signing key file; an auditor who holds no secret passes the published
 * verifier key with `--key`. With PGlite and a running server, the server does the work (it owns
 * the database); otherwise the command reads the database itself.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { auditCheckpointFilePath, auditKeyFilePath, type Config } from '../config/config.js';
import { acquireLock, lockHolder } from '../runtime/lock.js';
import { dbTarget } from '../runtime/open.js';
import { type CheckpointVerifier, openSigningKey, verifierFromVkey } from '../security/audit/checkpoint.js';
import { type AuditProof, AuditProofError, checkProof, type ProofRequest, proveAudit } from '../security/audit/prove.js';
import { type VerifyReport, verifyAuditLog } from '../security/audit/verify.js';
import type { Queryable } from '../store/db.js';
import { openDb } from '../store/open-db.js';
import { adminCall } from './admin-client.js';
import { formatProof, type ProveFlags, proofRequestOf, writeEvidence } from './audit-prove.js';
import { Progress } from './progress.js';

export class AuditCliError extends Error {
  override name = 'AuditCliError';
}

/** The log no longer matches what was signed: reported as TAMPERED with exit code 1, like `audit verify`. */
class AuditTamperedError extends Error {
  override name = 'AuditTamperedError';
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

/** Runs `fn` on the configured database directly (the PGlite lock held), once it is known to have an audit log. */
async function withAuditDb<T>(config: Config, fn: (q: Queryable) => Promise<T>): Promise<T> {
  const lock = config.databaseUrl ? undefined : acquireLock(config.dataDir);
  try {
    const db = await openDb(dbTarget(config));
    try {
      const exists = await db.query<{ t: string | null }>("SELECT to_regclass('audit_log')::text AS t");
      if (!exists.rows[0]?.t) throw new AuditCliError('this database has no audit log yet (start the server once to create it)');
      return await db.unlimited(fn);
    } finally {
      await db.close();
    }
  } finally {
    lock?.release();
  }
}

function checkpointFileOf(config: Config, given: string | undefined): string {
  if (given && !existsSync(given)) throw new AuditCliError(`--checkpoint-file: ${given} does not exist`);
  return given ?? auditCheckpointFilePath(config);
}

async function verifyLocally(config: Config, flags: VerifyFlags): Promise<VerifyReport> {
  const checkpointFile = checkpointFileOf(config, flags.checkpointFile);
  const verifier = verifierFor(config, flags.key);
  let progress: Progress | undefined;
  return withAuditDb(config, (q) =>
    verifyAuditLog(q, {
      verifier,
      checkpointFile,
      requireCheckpointFile: flags.checkpointFile !== undefined,
      onProgress: (done, total) => {
        progress ??= new Progress('verifying audit records', total);
        progress.update(done);
      },
    }),
  );
}

interface ProveCliFlags extends ProveFlags {
  key?: string;
  checkpointFile?: string;
  json?: boolean;
  out?: string;
}

/** The proof, from the running server or the database; a log that no longer matches its checkpoints throws AuditTamperedError. */
async function obtainProof(config: Config, req: ProofRequest, verifier: CheckpointVerifier, flags: ProveCliFlags) {
  const holder = config.databaseUrl ? undefined : lockHolder(config.dataDir);
  if (holder?.url) {
    if (flags.checkpointFile) throw new AuditCliError('--checkpoint-file needs the server stopped (the running server uses its own file)');
    const proof = await adminCall<AuditProof>(holder.url, 'POST', '/audit/prove', req, (m, status) =>
      status === 409 ? new AuditTamperedError(m) : new AuditCliError(m),
    );
    return { proof, via: `proven by the running server at ${holder.url}` };
  }
  const checkpointFile = checkpointFileOf(config, flags.checkpointFile);
  try {
    const proof = await withAuditDb(config, (q) => proveAudit(q, req, { verifier, checkpointFile }));
    return { proof, via: config.databaseUrl ? 'PostgreSQL' : `PGlite data directory ${config.dataDir}` };
  } catch (err) {
    if (!(err instanceof AuditProofError)) throw err;
    throw err.reason === 'tampered' ? new AuditTamperedError(err.message) : new AuditCliError(err.message);
  }
}

async function prove(config: Config, flags: ProveCliFlags): Promise<void> {
  const req = proofRequestOf(flags, (m) => new AuditCliError(m));
  const verifier = verifierFor(config, flags.key);
  let got: { proof: AuditProof; via: string };
  try {
    got = await obtainProof(config, req, verifier, flags);
  } catch (err) {
    if (!(err instanceof AuditTamperedError)) throw err;
    process.stderr.write(`TAMPERED: ${err.message}\n`);
    process.exitCode = 1;
    return;
  }
  // Checked here whoever made it: what this command calls OK verifies with the key given.
  const check = checkProof(got.proof, verifier);
  if (!check.ok) {
    process.stderr.write(`TAMPERED: the proof does not verify with ${verifier.vkey}: ${check.problem}\n`);
    process.exitCode = 1;
    return;
  }
  if (flags.out) {
    const files = writeEvidence(flags.out, got.proof);
    process.stderr.write(`wrote ${files.join(', ')} to ${flags.out} (docs/SECURITY.md shows how to check them by hand)\n`);
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(got.proof, null, 2)}\n`);
  else process.stdout.write(formatProof(got.proof, got.via, verifier.vkey));
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
    .description('the tamper-evident audit log: verify it, prove what is in it, show its verifier key')
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

  common(
    audit
      .command('prove')
      .description(
        'prove that record --seq is in the signed log (inclusion), or that checkpoint --to extends checkpoint --from (consistency); exits 1 if the log was tampered with',
      )
      .option('--seq <n>', 'the record (its seq) to prove')
      .option('--size <m>', 'the signed checkpoint (tree size) to prove it in (default: the latest)')
      .option('--from <size1>', 'consistency proof: the earlier signed checkpoint (tree size)')
      .option('--to <size2>', 'consistency proof: the later signed checkpoint (tree size)')
      .option('--key <vkey>', 'the published verifier key to check the proof with (default: derived from the signing key file)')
      .option('--checkpoint-file <file>', 'the checkpoint file outside the database (default: from the configuration)')
      .option('--out <dir>', 'also write the proof as files for a by-hand check (entry.json, inclusion.txt, checkpoint.note, ...)')
      .option('--json', 'print the proof as JSON'),
  ).action(async (flags: ProveCliFlags) => prove(configOf(flags), flags));

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
