/**
 * The composition root: opens the database, applies migrations, sets up encryption at rest and
 * wires the operation layer with its security stages. The HTTP server and the offline CLI
 * commands both start here, so they cannot differ in what protects the data.
 */
import { auditCheckpointFilePath, auditKeyFilePath, type Config, tokenKeyFilePath } from '../config/config.js';
import type { AuditReader } from '../fhir/audit-reader.js';
import type { AccessPolicy, AuditSink } from '../fhir/guard.js';
import { FhirService } from '../fhir/rest/service.js';
import {
  finishPendingReindex,
  identityTransform,
  searchIndexMaintenance,
  searchMigrations,
  setIndexValueTransform,
} from '../fhir/search/index.js';
import { TenantId } from '../fhir/types.js';
import { type CheckpointSigner, openSigningKey } from '../security/audit/checkpoint.js';
import { AuditLog } from '../security/audit/log.js';
import { LogAuditReader } from '../security/audit/reader.js';
import { plainSealer } from '../security/audit/record.js';
import { auditMigrations } from '../security/audit/schema.js';
import { ChainedAuditSink, codecSealer } from '../security/audit/sink.js';
import { type AuditProof, type ProofRequest, proveAudit } from '../security/audit/prove.js';
import { type VerifyReport, verifyAuditLog } from '../security/audit/verify.js';
import { blindIndexTransform } from '../security/crypto/blind-transform.js';
import { KeyAdmin } from '../security/crypto/key-admin.js';
import { cryptoMigrations } from '../security/crypto/keyring.js';
import { ClientService, TokenKey } from '../security/identity/clients.js';
import { GrantService } from '../security/identity/grants.js';
import { identityMigrations } from '../security/identity/schema.js';
import { codecSecretSealer } from '../security/identity/sealer.js';
import { IdentityService, type IdentityOptions } from '../security/identity/service.js';
import { blindIndex } from '../security/crypto/blind-index.js';
import { CarePolicy } from '../security/policy/care-policy.js';
import { AccessGrantService } from '../security/policy/grants.js';
import { buildPolicyProjection, PolicyProjection } from '../security/policy/projection.js';
import { policyMigrations } from '../security/policy/schema.js';
import { plainCodec } from '../store/codec.js';
import type { Db, DbTarget } from '../store/db.js';
import { openDb } from '../store/open-db.js';
import { migrate } from '../store/migrate.js';
import { ResourceStore } from '../store/resources.js';
import { storeMigrations } from '../store/schema.js';
import { StatisticsKeeper } from '../store/statistics.js';
import { type CryptoSetup, openCrypto } from './crypto.js';

export interface Sushruta {
  readonly config: Config;
  readonly db: Db;
  readonly service: FhirService;
  readonly audit: AuditSink;
  readonly policy: AccessPolicy;
  readonly tenantId: TenantId;
  /** Key management; absent only when encryption was switched off for a benchmark baseline. */
  readonly keys?: KeyAdmin;
  readonly crypto?: CryptoSetup;
  /** The tamper-evident audit log; absent only when a caller supplied its own sink (tests). */
  readonly auditLog?: AuditLog;
  /** Verification of the audit log and the key auditors pin; absent with the audit log. */
  readonly auditAdmin?: AuditAdmin;
  /** Staff accounts, sign-in, MFA and sessions. */
  readonly identity: IdentityService;
  /** OAuth 2.0 clients (integrations and apps) and their access tokens. */
  readonly clients: ClientService;
  /** Apps acting for staff: authorization codes with PKCE, rotating refresh tokens, revocation. */
  readonly grants: GrantService;
  /** Break-glass and the security officer's grants to restricted records (security/policy). */
  readonly access: AccessGrantService;
  close(): Promise<void>;
}

export function dbTarget(config: Config): DbTarget {
  return config.databaseUrl
    ? { kind: 'postgres', url: config.databaseUrl, poolSize: config.databasePoolSize, statementTimeoutMs: config.limits.queryTimeoutMs }
    : { kind: 'pglite', dataDir: config.dataDir };
}

export const ALL_MIGRATIONS = [
  storeMigrations,
  searchMigrations,
  cryptoMigrations,
  auditMigrations,
  identityMigrations,
  policyMigrations,
] as const;

export interface AuditAdmin {
  /** The signed-note verifier key of this log's checkpoints. */
  readonly vkey: string;
  /** `audit verify` against this database and the checkpoint file. */
  verify(onProgress?: (done: number, total: number) => void): Promise<VerifyReport>;
  /** `audit prove` against this database's signed checkpoints (and the checkpoint file). */
  prove(req: ProofRequest): Promise<AuditProof>;
}

export interface OpenOptions {
  /** Use this sink instead of the tamper-evident audit log (tests that inspect entries in memory). */
  readonly audit?: AuditSink;
  readonly policy?: AccessPolicy;
  /** Use this database instead of opening the configured one (tests). */
  readonly db?: Db;
  /**
   * false stores bodies and search values in plaintext. Only the encryption-off baseline of the
   * benchmarks uses it; it is deliberately not a configuration key.
   */
  readonly encryption?: boolean;
  /** Resume unfinished re-encryption / re-indexing in the background (the server does). */
  readonly backgroundJobs?: boolean;
  /** Told about background failures. */
  readonly onError?: (err: unknown) => void;
  /** Identity settings for tests (throttle thresholds, a clock). */
  readonly identity?: Partial<Pick<IdentityOptions, 'throttle' | 'now' | 'idleMs' | 'maxMs'>>;
  /** The access-token signing key (tests); otherwise `identity.tokenKeyFile`, created on first start. */
  readonly tokenKey?: TokenKey;
}

export async function openSushruta(config: Config, opts: OpenOptions = {}): Promise<Sushruta> {
  const db = opts.db ?? (await openDb(dbTarget(config)));
  const onError = opts.onError ?? ((err: unknown) => process.stderr.write(`sushruta: background job failed: ${(err as Error).message}\n`));
  try {
    await migrate(db, ALL_MIGRATIONS);
    const tenantId = TenantId(config.tenant);
    const crypto = opts.encryption === false ? undefined : await openCrypto(config, db, tenantId);
    if (crypto?.createdKeyFile) {
      process.stderr.write(
        `sushruta: created the key-encryption key ${crypto.keyFile} (mode 0600). Back it up apart from the data, or export a key backup with \`sushruta keys export\`: without either, nobody can read the data.\n`,
      );
    }
    // The transform is process-wide: one Sushruta per process (tests open them one at a time).
    setIndexValueTransform(crypto ? blindIndexTransform(crypto.ring) : identityTransform);
    const store = new ResourceStore(tenantId, crypto?.codec ?? plainCodec);
    const keys = crypto ? new KeyAdmin(db, crypto.ring, store, searchIndexMaintenance(store)) : undefined;
    if (crypto) {
      // A migration that moved blind-index rows (search/005) left this tenant to re-index: done
      // before serving, or searches would miss what was indexed the old way.
      const t0 = Date.now();
      let shown = 0;
      await finishPendingReindex(db, store, ({ reason, done, total }) => {
        const now = Date.now();
        if (done > 0 && done < total && now - shown < 2000) return;
        shown = now;
        const eta = done > 0 && done < total ? `, about ${Math.ceil((((now - t0) / done) * (total - done)) / 1000)} s left` : '';
        process.stderr.write(`sushruta: re-indexing search values (${reason}): ${done} of ${total} resources${eta}\n`);
      });
    }
    if (crypto?.firstEncryptedStart && keys) {
      // Rows written before encryption existed are encrypted and re-indexed once, before serving.
      await keys.complete(undefined, { acceptPlaintext: true, reindexAll: true });
    } else if (keys && opts.backgroundJobs !== false) {
      void keys.startBackground(onError);
    }
    // Care relationships and restriction labels of data stored before the policy existed: once, before serving.
    const p0 = Date.now();
    let pShown = 0;
    await buildPolicyProjection(db, store, ({ done, total }) => {
      const now = Date.now();
      if (done > 0 && done < total && now - pShown < 2000) return;
      if (done === 0 && total < 5000) return;
      pShown = now;
      const eta = done > 0 && done < total ? `, about ${Math.ceil((((now - p0) / done) * (total - done)) / 1000)} s left` : '';
      process.stderr.write(`sushruta: building care relationships for the access policy: ${done} of ${total} resources${eta}\n`);
    });
    const statistics = new StatisticsKeeper(db, undefined, onError);
    await statistics.analyze();
    // The tamper-evident log, unless a test supplied its own sink to inspect entries in memory.
    let audit: AuditSink;
    let auditLog: AuditLog | undefined;
    let auditAdmin: AuditAdmin | undefined;
    let auditReader: AuditReader | undefined;
    if (opts.audit) {
      audit = opts.audit;
    } else {
      const { log, signer } = await openAuditLog(config, db, onError);
      auditLog = log;
      const sealer = crypto ? codecSealer(crypto.codec) : plainSealer;
      audit = new ChainedAuditSink(log, sealer);
      // Auditors read the same log as AuditEvents; sealed fields are opened with the same key.
      auditReader = new LogAuditReader(sealer);
      auditAdmin = {
        vkey: signer.vkey,
        verify: async (onProgress) => {
          // Checkpoints this process made are stored before verifying, so the tail is covered too.
          await log.checkpoint();
          return db.unlimited((q) =>
            verifyAuditLog(q, { verifier: signer, checkpointFile: auditCheckpointFilePath(config), ...(onProgress ? { onProgress } : {}) }),
          );
        },
        prove: async (req) => {
          // Records this process appended are signed first, so the newest of them can be proven.
          await log.checkpoint();
          return db.unlimited((q) => proveAudit(q, req, { verifier: signer, checkpointFile: auditCheckpointFilePath(config) }));
        },
      };
    }
    const care = opts.policy
      ? undefined
      : new CarePolicy({
          tenantId,
          careWindowDays: config.access.careWindowDays,
          cacheSeconds: config.access.decisionCacheSeconds,
          ...(opts.identity?.now ? { now: opts.identity.now } : {}),
        });
    const policy: AccessPolicy = opts.policy ?? (care as CarePolicy);
    const grantCodec = crypto?.codec ?? plainCodec;
    const grantContext = (id: string) => ({ tenantId, resourceType: 'AccessGrant', id, versionId: 'reason' });
    const access = new AccessGrantService({
      db,
      tenantId,
      sealer: {
        seal: (id, reason) => grantCodec.encode(reason, grantContext(id)),
        open: (id, sealed) => grantCodec.decode(sealed, grantContext(id)),
      },
      policy,
      audit,
      breakGlassMinutes: config.access.breakGlassMinutes,
      maxGrantDays: config.access.maxGrantDays,
      onChange: (patientId) => care?.forgetPatients([patientId]),
      ...(opts.identity?.now ? { now: opts.identity.now } : {}),
    });
    const service = new FhirService({
      db,
      store,
      policy,
      audit,
      observers: [new PolicyProjection(tenantId, (patients) => care?.forgetPatients(patients))],
      breakGlass: { open: (ctx, patientId, reason) => access.breakGlass(ctx, patientId, reason) },
      ...(auditReader ? { auditReader } : {}),
      limits: config.limits,
      statistics,
    });
    const identity = new IdentityService({
      db,
      tenantId,
      sealer: codecSecretSealer(crypto?.codec ?? plainCodec, tenantId),
      audit,
      policy,
      // Usernames tried at sign-in are counted under a keyed hash (the hospital's index key), not stored.
      ...(crypto
        ? {
            keyed: (v: string) =>
              blindIndex(crypto.ring.activeCached(tenantId, 'index').key, tenantId, 'StaffUser', 'throttle', 'exact', v, 16).toString(
                'hex',
              ),
          }
        : {}),
      idleMs: config.identity.sessionIdleMinutes * 60_000,
      maxMs: config.identity.sessionMaxHours * 3600_000,
      ...opts.identity,
    });
    const tokenKey =
      opts.tokenKey ??
      TokenKey.open(tokenKeyFilePath(config), {
        create: true,
        onCreate: (path) =>
          process.stderr.write(
            `sushruta: created the access-token signing key ${path} (mode 0600); every app server of this hospital needs the same file\n`,
          ),
      });
    const clients = new ClientService({
      db,
      tenantId,
      audit,
      throttle: identity.throttle,
      key: tokenKey,
      tokenSeconds: config.identity.accessTokenSeconds,
      administer: (ctx, action, type, target, op) => identity.administer(ctx, action, type, target, op),
      ...(opts.identity?.now ? { now: opts.identity.now } : {}),
    });
    const grants = new GrantService({
      db,
      tenantId,
      clients,
      offlineMs: config.identity.offlineAccessDays * 86_400_000,
      ...(opts.identity?.now ? { now: opts.identity.now } : {}),
    });
    return {
      identity,
      clients,
      grants,
      access,
      config,
      db,
      service,
      audit,
      policy,
      tenantId,
      ...(keys ? { keys } : {}),
      ...(crypto ? { crypto } : {}),
      ...(auditLog ? { auditLog } : {}),
      ...(auditAdmin ? { auditAdmin } : {}),
      close: async () => {
        await keys?.idle();
        await statistics.close();
        await auditLog?.close();
        await db.close();
      },
    };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The audit log of this deployment: its signing key (created with a notice on first start), the
 * checkpoint file outside the database, and the witness when one is configured.
 */
async function openAuditLog(config: Config, db: Db, onError: (err: unknown) => void): Promise<{ log: AuditLog; signer: CheckpointSigner }> {
  const a = config.audit;
  const keyFile = auditKeyFilePath(config);
  let created = false;
  const signer = openSigningKey(keyFile, a.origin, {
    create: true,
    onCreate: () => {
      created = true;
    },
  });
  if (created) {
    process.stderr.write(
      `sushruta: created the audit signing key ${keyFile} (mode 0600); back it up apart from the data. Auditors verify checkpoints with the key ${signer.vkey}\n`,
    );
  }
  const witnessUrl = a.witnessUrl;
  const log = await AuditLog.open(db, {
    signer,
    checkpointEvery: a.checkpointEvery,
    checkpointSeconds: a.checkpointSeconds,
    checkpointFile: auditCheckpointFilePath(config),
    ...(witnessUrl
      ? {
          witness: async (note: string) => {
            const res = await fetch(witnessUrl, { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: note });
            if (!res.ok) throw new Error(`the witness answered ${res.status}`);
          },
        }
      : {}),
    onError,
  });
  return { log, signer };
}
