/**
 * Configuration: defaults < config file < environment < command-line flags. Every key is
 * documented in docs/OPERATIONS.md; a bad value stops the server with a message that names it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export const configSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(8080),
    /** PGlite data directory, used when no databaseUrl is set. */
    dataDir: z.string().min(1).default('./data'),
    /** postgres://… : use PostgreSQL instead of the embedded PGlite. */
    databaseUrl: z.string().url().optional(),
    databasePoolSize: z.coerce.number().int().min(1).max(200).default(10),
    /**
     * The key-encryption key (KEK) file. It must live outside the data directory and outside
     * database backups; default: `<dataDir>.keys/master.kek` beside the data directory.
     */
    keyFile: z.string().min(1).optional(),
    /** The hospital this server serves; every row carries it. */
    tenant: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, up to 63 characters')
      .default('default'),
    /** The hospital's UHID prefix: UHIDs given at registration read `<prefix>-<year>-<sequence>-<check digit>`. */
    uhidPrefix: z
      .string()
      .regex(/^[A-Z]{2,6}$/, '2-6 capital letters')
      .default('SDH'),
    /** Public base URL of the FHIR endpoint, for fullUrl and paging links. Derived from the request when unset. */
    baseUrl: z.string().url().optional(),
    /** Proxies whose X-Forwarded-For / Forwarded entries are believed (proxy-addr syntax). */
    trustedProxies: z.array(z.string()).default([]),
    demo: z.coerce.boolean().default(false),
    /** The tamper-evident audit log (docs/SECURITY.md#audit-log). */
    audit: z
      .object({
        /** Ed25519 key that signs checkpoints, outside the data directory. Default: `audit-signing.key` beside the key file, created on first start. */
        signingKeyFile: z.string().min(1).optional(),
        /** File outside the database that every signed checkpoint is appended to. Default: `audit-checkpoints.jsonl` beside the key file. */
        checkpointFile: z.string().min(1).optional(),
        /** The log's name in its signed checkpoints (the C2SP checkpoint origin and key name). */
        origin: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, 'letters, digits, ".", "_", "/" and "-", up to 128 characters')
          .default('sushruta/audit'),
        /** Sign a checkpoint after this many records... */
        checkpointEvery: z.coerce.number().int().min(1).default(1000),
        /** ...and this often (seconds) when records arrived since the last one; 0 = only by count. */
        checkpointSeconds: z.coerce.number().int().min(0).default(10),
        /** An external witness: every signed checkpoint is POSTed here (text/plain) as it is made. */
        witnessUrl: z.string().url().optional(),
      })
      .strict()
      .default({}),
    /**
     * HTTPS (docs/OPERATIONS.md#tls). With both files the server speaks TLS and may listen beyond
     * loopback; the operator API (the CLI's door) then has a plain-HTTP listener of its own on
     * 127.0.0.1 only.
     */
    tls: z
      .object({
        /** PEM certificate chain (leaf first). */
        certFile: z.string().min(1).optional(),
        /** PEM private key of the certificate. */
        keyFile: z.string().min(1).optional(),
        /** Strict-Transport-Security max-age (seconds) sent on every HTTPS response; 0 sends none. */
        hstsMaxAge: z.coerce.number().int().min(0).default(31_536_000),
      })
      .strict()
      .default({}),
    /** Staff sign-in (docs/OPERATIONS.md#staff-accounts). */
    identity: z
      .object({
        /** A session ends after this many minutes without a request... */
        sessionIdleMinutes: z.coerce
          .number()
          .int()
          .min(1)
          .max(24 * 60)
          .default(30),
        /** ...and this many hours after sign-in, whatever happens (NIST SP 800-63B AAL2: 12). */
        sessionMaxHours: z.coerce.number().int().min(1).max(24).default(12),
        /** Ed25519 key that signs OAuth access tokens, outside the data directory. Default: `token-signing.key` beside the key file. */
        tokenKeyFile: z.string().min(1).optional(),
        /** Lifetime of an OAuth access token, of an integration or an app (seconds). */
        accessTokenSeconds: z.coerce.number().int().min(30).max(3600).default(300),
        /** How long an app's offline_access grant (its rotating refresh tokens) lasts after the user approved it (days). */
        offlineAccessDays: z.coerce.number().int().min(1).max(90).default(7),
      })
      .strict()
      .default({}),
    /** The access policy (docs/SECURITY.md#access-policy). */
    access: z
      .object({
        /** A care relationship lasts this many days after its encounter, appointment or order ends. */
        careWindowDays: z.coerce.number().int().min(0).max(3650).default(30),
        /** How long a break-glass opens a record (minutes). */
        breakGlassMinutes: z.coerce
          .number()
          .int()
          .min(5)
          .max(24 * 60)
          .default(60),
        /** The longest grant the security officer may give (days). */
        maxGrantDays: z.coerce.number().int().min(1).max(366).default(30),
        /** How long an app server reuses what it read about a patient's care links, labels and grants (0: never); changes made through this server apply at once. */
        decisionCacheSeconds: z.coerce.number().int().min(0).max(300).default(10),
      })
      .strict()
      .default({}),
    limits: z
      .object({
        bodyBytes: z.coerce
          .number()
          .int()
          .min(1024)
          .default(16 * 1024 * 1024),
        bundleEntries: z.coerce.number().int().min(1).default(1000),
        defaultCount: z.coerce.number().int().min(1).default(20),
        maxCount: z.coerce.number().int().min(1).default(1000),
        queryTimeoutMs: z.coerce.number().int().min(100).default(10_000),
      })
      .default({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Environment variables and the config key each one sets (a dotted path for nested keys). */
const ENV_KEYS: Record<string, string> = {
  HOST: 'host',
  PORT: 'port',
  SUSHRUTA_DATA_DIR: 'dataDir',
  DATABASE_URL: 'databaseUrl',
  SUSHRUTA_KEY_FILE: 'keyFile',
  SUSHRUTA_DB_POOL_SIZE: 'databasePoolSize',
  SUSHRUTA_TENANT: 'tenant',
  SUSHRUTA_UHID_PREFIX: 'uhidPrefix',
  SUSHRUTA_BASE_URL: 'baseUrl',
  SUSHRUTA_TRUSTED_PROXIES: 'trustedProxies',
  SUSHRUTA_BODY_LIMIT_BYTES: 'limits.bodyBytes',
  SUSHRUTA_MAX_BUNDLE_ENTRIES: 'limits.bundleEntries',
  SUSHRUTA_DEFAULT_COUNT: 'limits.defaultCount',
  SUSHRUTA_MAX_COUNT: 'limits.maxCount',
  SUSHRUTA_QUERY_TIMEOUT_MS: 'limits.queryTimeoutMs',
  SUSHRUTA_AUDIT_KEY_FILE: 'audit.signingKeyFile',
  SUSHRUTA_AUDIT_CHECKPOINT_FILE: 'audit.checkpointFile',
  SUSHRUTA_AUDIT_ORIGIN: 'audit.origin',
  SUSHRUTA_AUDIT_CHECKPOINT_EVERY: 'audit.checkpointEvery',
  SUSHRUTA_AUDIT_CHECKPOINT_SECONDS: 'audit.checkpointSeconds',
  SUSHRUTA_AUDIT_WITNESS_URL: 'audit.witnessUrl',
  SUSHRUTA_TLS_CERT_FILE: 'tls.certFile',
  SUSHRUTA_TLS_KEY_FILE: 'tls.keyFile',
  SUSHRUTA_HSTS_MAX_AGE: 'tls.hstsMaxAge',
  SUSHRUTA_CARE_WINDOW_DAYS: 'access.careWindowDays',
  SUSHRUTA_BREAK_GLASS_MINUTES: 'access.breakGlassMinutes',
  SUSHRUTA_MAX_GRANT_DAYS: 'access.maxGrantDays',
  SUSHRUTA_DECISION_CACHE_SECONDS: 'access.decisionCacheSeconds',
  SUSHRUTA_SESSION_IDLE_MINUTES: 'identity.sessionIdleMinutes',
  SUSHRUTA_SESSION_MAX_HOURS: 'identity.sessionMaxHours',
  SUSHRUTA_TOKEN_KEY_FILE: 'identity.tokenKeyFile',
  SUSHRUTA_ACCESS_TOKEN_SECONDS: 'identity.accessTokenSeconds',
  SUSHRUTA_OFFLINE_ACCESS_DAYS: 'identity.offlineAccessDays',
};
export const ENVIRONMENT_VARIABLES = Object.keys(ENV_KEYS);

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const [head, ...rest] = path.split('.') as [string, ...string[]];
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  if (typeof target[head] !== 'object' || target[head] === null) target[head] = {};
  setPath(target[head] as Record<string, unknown>, rest.join('.'), value);
}

export interface LoadOptions {
  /** Path given with --config; when absent, ./sushruta.config.json is read if it exists. */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  flags?: Partial<ConfigInput>;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const merged: Record<string, unknown> = {};
  const file = opts.configFile ?? env.SUSHRUTA_CONFIG ?? (existsSync('sushruta.config.json') ? 'sushruta.config.json' : undefined);
  if (file) {
    const path = resolve(file);
    if (!existsSync(path)) throw new ConfigError(`config file ${path} does not exist`);
    try {
      Object.assign(merged, JSON.parse(readFileSync(path, 'utf8')));
    } catch (err) {
      throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
    }
  }
  for (const [name, path] of Object.entries(ENV_KEYS)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    setPath(
      merged,
      path,
      path === 'trustedProxies'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    );
  }
  for (const [k, v] of Object.entries(opts.flags ?? {})) {
    if (v === undefined) continue;
    if (k === 'limits' || k === 'audit' || k === 'identity' || k === 'tls' || k === 'access')
      merged[k] = { ...((merged[k] as object) ?? {}), ...(v as object) };
    else merged[k] = v;
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const first = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${first}`);
  }
  const config = parsed.data;
  const dataDir = resolve(config.dataDir);
  const keyFile = resolve(config.keyFile ?? `${dataDir}.keys/master.kek`);
  if (keyFile === dataDir || keyFile.startsWith(`${dataDir}/`)) {
    throw new ConfigError(
      `keyFile ${keyFile} is inside the data directory ${dataDir}: a copy of the data would carry its key; keep it elsewhere`,
    );
  }
  config.keyFile = keyFile;
  // The audit log's anchors outside the database: a copy of the data directory must not carry them.
  const inside = (p: string) => p === dataDir || p.startsWith(`${dataDir}/`);
  const signingKeyFile = resolve(config.audit.signingKeyFile ?? join(dirname(keyFile), 'audit-signing.key'));
  const checkpointFile = resolve(config.audit.checkpointFile ?? join(dirname(keyFile), 'audit-checkpoints.jsonl'));
  const tokenKeyFile = resolve(config.identity.tokenKeyFile ?? join(dirname(keyFile), 'token-signing.key'));
  for (const [key, path] of [
    ['audit.signingKeyFile', signingKeyFile],
    ['audit.checkpointFile', checkpointFile],
    ['identity.tokenKeyFile', tokenKeyFile],
  ] as const) {
    if (inside(path))
      throw new ConfigError(
        `${key} ${path} is inside the data directory ${dataDir}: it must live outside it, where the database cannot reach it`,
      );
  }
  config.audit.signingKeyFile = signingKeyFile;
  config.audit.checkpointFile = checkpointFile;
  config.identity.tokenKeyFile = tokenKeyFile;
  const { certFile, keyFile: tlsKeyFile } = config.tls;
  if (Boolean(certFile) !== Boolean(tlsKeyFile)) {
    throw new ConfigError('tls: give both tls.certFile and tls.keyFile (or neither)');
  }
  if (certFile && tlsKeyFile) {
    config.tls.certFile = resolve(certFile);
    config.tls.keyFile = resolve(tlsKeyFile);
    for (const [key, path] of [
      ['tls.certFile', config.tls.certFile],
      ['tls.keyFile', config.tls.keyFile],
    ] as const) {
      if (!existsSync(path)) throw new ConfigError(`${key} ${path} does not exist`);
    }
  }
  // Sign-in cookies and passwords must not cross a network in the clear: beyond loopback, TLS.
  if (!LOOPBACK.has(config.host) && !certFile) {
    throw new ConfigError(
      `host ${config.host} is not a loopback address: to listen beyond loopback configure TLS (tls.certFile and tls.keyFile, or --tls-cert/--tls-key); ` +
        'behind a TLS proxy on the same machine keep host 127.0.0.1',
    );
  }
  return config;
}

/** The audit log's signing key file of a configuration (see `audit.signingKeyFile`). */
export function auditKeyFilePath(config: Config): string {
  return config.audit.signingKeyFile ?? join(dirname(keyFilePath(config)), 'audit-signing.key');
}

/** The audit log's checkpoint file of a configuration (see `audit.checkpointFile`). */
export function auditCheckpointFilePath(config: Config): string {
  return config.audit.checkpointFile ?? join(dirname(keyFilePath(config)), 'audit-checkpoints.jsonl');
}

/** The access-token signing key file of a configuration (see `identity.tokenKeyFile`). */
export function tokenKeyFilePath(config: Config): string {
  return config.identity.tokenKeyFile ?? join(dirname(keyFilePath(config)), 'token-signing.key');
}

/** The key-encryption key file of a configuration (see `keyFile`). */
export function keyFilePath(config: Config): string {
  return config.keyFile ?? resolve(`${resolve(config.dataDir)}.keys/master.kek`);
}
