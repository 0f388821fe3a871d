/**
 * `sushruta`: the command line. Every command that touches patient data goes through the FHIR
 * operation layer (directly or through the running server), never around it.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type Config, ConfigError, type ConfigInput, ENVIRONMENT_VARIABLES, loadConfig } from '../config/config.js';
import { FhirError } from '../fhir/outcome.js';
import { SOFTWARE_VERSION } from '../fhir/rest/capability.js';
import { DataDirLockedError } from '../runtime/lock.js';
import { dbTarget, openSushruta } from '../runtime/open.js';
import { startServer } from '../runtime/server.js';
import { KeyBackupError, KeyFileError, KeyUnavailableError, KeyUnwrapError } from '../security/crypto/errors.js';
import { AuditCliError, registerAuditCommand } from './audit.js';
import { KeysCliError, registerKeysCommand } from './keys.js';
import { UsersCliError, registerUsersCommand } from './users.js';
import { ClientsCliError, registerClientsCommand } from './clients.js';
import { AccessCliError, registerAccessCommand } from './access.js';
import { createDemoAccounts, demoAccountsText } from './demo-accounts.js';
import { seedDemo } from './seed.js';
import { openTarget } from './target.js';

const int = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a whole number`);
  return Number(v);
};

interface CommonFlags {
  config?: string;
  keyFile?: string;
  dataDir?: string;
  databaseUrl?: string;
  tenant?: string;
}

function withCommon(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'JSON config file (default: ./sushruta.config.json if present, or $SUSHRUTA_CONFIG)')
    .option('-d, --data-dir <dir>', 'PGlite data directory (default ./data; $SUSHRUTA_DATA_DIR)')
    .option('--database-url <url>', 'use PostgreSQL at this URL instead of PGlite ($DATABASE_URL)')
    .option('--tenant <id>', 'hospital (tenant) id ($SUSHRUTA_TENANT, default "default")')
    .option(
      '--key-file <file>',
      'key-encryption key file, outside the data directory ($SUSHRUTA_KEY_FILE; default <data-dir>.keys/master.kek)',
    );
}

function configFrom(flags: CommonFlags, extra: Partial<ConfigInput> = {}): Config {
  return loadConfig({
    ...(flags.config ? { configFile: flags.config } : {}),
    flags: { dataDir: flags.dataDir, databaseUrl: flags.databaseUrl, tenant: flags.tenant, keyFile: flags.keyFile, ...extra },
  });
}

function redact(url: string | undefined): string | undefined {
  if (!url) return url;
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable)';
  }
}

export function buildCli(): Command {
  const program = new Command()
    .name('sushruta')
    .description('Sushruta hospital information system: FHIR R4 server and administration')
    .version(SOFTWARE_VERSION)
    .showHelpAfterError()
    .addHelpText('after', `\nEnvironment variables: ${ENVIRONMENT_VARIABLES.join(', ')}\nDocumentation: README.md and docs/OPERATIONS.md`);

  withCommon(
    program
      .command('serve')
      .description('start the server (FHIR R4 at /fhir); PGlite in --data-dir unless a PostgreSQL URL is given')
      .option('-p, --port <n>', 'TCP port ($PORT, default 8080; 0 picks a free one)', int('port'))
      .option('--host <addr>', 'listen address ($HOST); beyond loopback only with TLS')
      .option('--tls-cert <file>', 'PEM certificate chain: serve HTTPS ($SUSHRUTA_TLS_CERT_FILE)')
      .option('--tls-key <file>', 'PEM private key of the certificate ($SUSHRUTA_TLS_KEY_FILE)')
      .option('--base-url <url>', 'public base URL of the FHIR endpoint, for links ($SUSHRUTA_BASE_URL)')
      .option('--demo', 'load the demo hospital on start if it is not loaded yet')
      .option('--demo-patients <n>', 'number of demo patients (default 200)', int('demo-patients'))
      .option('--quiet', 'no request log'),
  ).action(
    async (
      flags: CommonFlags & {
        port?: number;
        host?: string;
        baseUrl?: string;
        demo?: boolean;
        demoPatients?: number;
        quiet?: boolean;
        tlsCert?: string;
        tlsKey?: string;
      },
    ) => {
      const config = configFrom(flags, {
        port: flags.port,
        host: flags.host,
        baseUrl: flags.baseUrl,
        demo: flags.demo,
        ...(flags.tlsCert || flags.tlsKey ? { tls: { certFile: flags.tlsCert, keyFile: flags.tlsKey } } : {}),
      });
      const server = await startServer(config, { logger: !flags.quiet });
      const shutdown = (signal: string) => {
        process.stderr.write(`\n${signal}: shutting down...\n`);
        server.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      const where = config.databaseUrl ? `PostgreSQL ${redact(config.databaseUrl)}` : `PGlite in ${config.dataDir}`;
      process.stderr.write(
        `Sushruta ${SOFTWARE_VERSION} listening on ${server.url} (FHIR base ${server.url}/fhir), storage: ${where}, hospital: ${config.tenant}\n` +
          (server.operatorUrl !== server.url
            ? `HTTPS with ${config.tls.certFile}; the operator API (and the CLI) at ${server.operatorUrl}, this machine only.\n`
            : 'Bound to loopback only (no TLS configured): reach it from this machine or through a TLS proxy on it.\n') +
          (server.webRoot
            ? `The web app (sign-in, registration desk): open ${server.url}/ in a browser.\n`
            : 'The web app is not built (npm run build builds it): only the API is served.\n'),
      );
      // The demo hospital's staff (one account per role) exist before anyone is told how to set up.
      if (config.demo) {
        const created = await createDemoAccounts(server.sushruta.identity, config.tenant);
        if (created.length > 0) process.stderr.write(demoAccountsText(created, server.url));
      }
      if (server.setupToken && (await server.sushruta.identity.accountCount()) === 0) {
        process.stderr.write(
          `\nThis hospital has no staff accounts yet. Create the first hospital administrator within 24 hours with this one-time setup token\n` +
            `(it works once; a restart replaces it; there is no default password):\n\n  ${server.setupToken}\n\n` +
            `  curl -X POST ${server.url}/auth/setup -H 'content-type: application/json' \\\n` +
            `    -d '{"token":"<token>","username":"admin","displayName":"<your name>","password":"<12+ characters>"}'\n\n` +
            'Then sign in at /auth/login and enrol an authenticator app (docs/OPERATIONS.md#staff-accounts).\n',
        );
      }
      if (config.demo) {
        const target = await openTarget({ ...config }, 'demo-seed').catch(() => undefined);
        // The server holds the lock, so openTarget finds it and loads through its HTTP API.
        if (target) {
          const r = await seedDemo(target, { patients: flags.demoPatients ?? 200 });
          await target.close();
          process.stderr.write(
            `demo hospital ready: ${r.loaded} bundles loaded, ${r.skipped} already present. Try ${server.url}/fhir/Patient?name=sharma\n`,
          );
        }
      }
    },
  );

  withCommon(
    program
      .command('seed')
      .description('load the demo hospital (resumable: bundles already loaded are skipped); works with or without a running server')
      .option('--patients <n>', 'number of patients (default 200)', int('patients'))
      .option('--seed <n>', "random seed (default: the demo hospital's fixed seed)", int('seed')),
  ).action(async (flags: CommonFlags & { patients?: number; seed?: number }) => {
    const target = await openTarget(configFrom(flags), 'seed');
    try {
      process.stderr.write(`seeding through ${target.description}\n`);
      const r = await seedDemo(target, {
        ...(flags.patients ? { patients: flags.patients } : {}),
        ...(flags.seed ? { seed: flags.seed } : {}),
      });
      process.stdout.write(`${JSON.stringify(r)}\n`);
    } finally {
      await target.close();
    }
  });

  withCommon(
    program
      .command('import')
      .argument('<file>', 'a FHIR JSON file: a batch/transaction Bundle or a single resource')
      .description('load a Bundle or a resource through the FHIR API (with or without a running server)'),
  ).action(async (file: string, flags: CommonFlags) => {
    let body: { resourceType?: string; type?: string; id?: string };
    try {
      body = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new CliError(`${file}: ${(err as Error).message}`);
    }
    if (!body || typeof body.resourceType !== 'string') throw new CliError(`${file}: not a FHIR resource (no resourceType)`);
    const target = await openTarget(configFrom(flags), 'import');
    try {
      const isBundleOp = body.resourceType === 'Bundle' && (body.type === 'batch' || body.type === 'transaction');
      const res = isBundleOp
        ? await target.request('POST', '', body)
        : body.id
          ? await target.request('PUT', `${body.resourceType}/${body.id}`, body)
          : await target.request('POST', body.resourceType, body);
      process.stdout.write(`${JSON.stringify(res.body, null, 2)}\n`);
      if (res.status >= 400) process.exitCode = 1;
    } finally {
      await target.close();
    }
  });

  withCommon(program.command('migrate').description('apply database migrations (the server also applies them on start)')).action(
    async (flags: CommonFlags) => {
      const config = configFrom(flags);
      const { acquireLock } = await import('../runtime/lock.js');
      const lock = config.databaseUrl ? undefined : acquireLock(config.dataDir);
      try {
        const s = await openSushruta(config);
        await s.close();
        process.stdout.write(`migrations applied to ${config.databaseUrl ? redact(config.databaseUrl) : config.dataDir}\n`);
      } finally {
        lock?.release();
      }
    },
  );

  withCommon(program.command('config').description('print the effective configuration (secrets redacted)')).action((flags: CommonFlags) => {
    const config = configFrom(flags);
    const shown = { ...config, databaseUrl: redact(config.databaseUrl), storage: dbTarget(config).kind };
    process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
  });

  registerKeysCommand(program, (flags) => configFrom(flags as CommonFlags), withCommon);
  registerAuditCommand(program, (flags) => configFrom(flags as CommonFlags), withCommon);
  registerUsersCommand(program, (flags) => configFrom(flags as CommonFlags), withCommon);
  registerClientsCommand(program, (flags) => configFrom(flags as CommonFlags), withCommon);
  registerAccessCommand(program, (flags) => configFrom(flags as CommonFlags), withCommon);

  program.addOption(new Option('--no-color').hideHelp());
  return program;
}

export class CliError extends Error {
  override name = 'CliError';
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    const known = [
      ConfigError,
      DataDirLockedError,
      CliError,
      KeysCliError,
      AccessCliError,
      AuditCliError,
      UsersCliError,
      ClientsCliError,
      FhirError,
      KeyFileError,
      KeyBackupError,
      KeyUnavailableError,
      KeyUnwrapError,
    ];
    if (known.some((k) => err instanceof k)) {
      process.stderr.write(`sushruta: ${(err as Error).message}\n`);
      process.exit(2);
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      process.stderr.write(`sushruta: the port is already in use (${e.message}); choose another with --port\n`);
      process.exit(2);
    }
    if (e.code === 'ECONNREFUSED' || e.code === '28P01' || e.code === '3D000') {
      process.stderr.write(`sushruta: cannot use the database: ${e.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
