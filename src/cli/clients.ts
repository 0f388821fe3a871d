/**
 * `sushruta clients`: OAuth 2.0 integration clients (client credentials). `create` prints the
 * client id and secret once (`--json`: {"clientId", "clientSecret"}); only the secret's hash is
 * kept. Like `sushruta users`, through the running server's /admin/clients with PGlite, otherwise
 * directly on the database; authorized and audited either way.
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import type { RequestContext } from '../fhir/context.js';
import { TenantId } from '../fhir/types.js';
import { acquireLock, lockHolder } from '../runtime/lock.js';
import { openSushruta } from '../runtime/open.js';
import type { OAuthClient } from '../security/identity/clients.js';
import { adminCall } from './admin-client.js';

export class ClientsCliError extends Error {
  override name = 'ClientsCliError';
}

interface ClientsTarget {
  readonly via: string;
  create(name: string, scopes: string[]): Promise<{ clientId: string; clientSecret: string; client: OAuthClient }>;
  list(): Promise<OAuthClient[]>;
  setStatus(id: string, action: 'disable' | 'enable'): Promise<OAuthClient>;
  close(): Promise<void>;
}

function remote(url: string): ClientsTarget {
  const call = <T>(method: string, path: string, body?: unknown) =>
    adminCall<T>(url, method, `/clients${path}`, body, (m) => new ClientsCliError(m));
  return {
    via: `the running server at ${url}`,
    create: (name, scopes) => call('POST', '', { name, scopes }),
    list: () => call('GET', ''),
    setStatus: (id, action) => call('POST', `/${encodeURIComponent(id)}/${action}`, {}),
    close: async () => undefined,
  };
}

async function local(config: Config): Promise<ClientsTarget> {
  const lock = config.databaseUrl ? undefined : acquireLock(config.dataDir);
  try {
    const s = await openSushruta(config, { backgroundJobs: false });
    const ctx: RequestContext = {
      requestId: `cli-clients-${process.pid}-${Date.now()}`,
      tenantId: TenantId(config.tenant),
      actor: { kind: 'local-operator', description: `sushruta clients (OS user ${userInfo().username})` },
      provenance: { peerAddress: 'local', clientAddress: 'local', forwardedChain: [], userAgent: 'sushruta-cli/clients' },
      baseUrl: config.baseUrl ?? 'urn:sushruta:local/fhir',
      lenient: false,
    };
    return {
      via: config.databaseUrl ? 'PostgreSQL (direct)' : `PGlite data directory ${config.dataDir} (direct)`,
      async create(name, scopes) {
        const r = await s.clients.create(ctx, { name, scopes });
        return { clientId: r.client.clientId, clientSecret: r.clientSecret, client: r.client };
      },
      list: () => s.clients.list(ctx),
      setStatus: (id, action) => s.clients.setStatus(ctx, id, action === 'enable' ? 'active' : 'disabled'),
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

async function open(config: Config): Promise<ClientsTarget> {
  if (!config.databaseUrl) {
    const holder = lockHolder(config.dataDir);
    if (holder?.url) return remote(holder.url);
  }
  return local(config);
}

export function registerClientsCommand(
  program: Command,
  configOf: (flags: Record<string, unknown>) => Config,
  common: (c: Command) => Command,
): void {
  const clients = program
    .command('clients')
    .description(
      'OAuth 2.0 integration clients (client credentials): create, list, disable, enable (docs/OPERATIONS.md#integration-clients)',
    );
  const withTarget = async (flags: Record<string, unknown>, fn: (t: ClientsTarget) => Promise<void>) => {
    const t = await open(configOf(flags));
    try {
      process.stderr.write(`clients: through ${t.via}\n`);
      await fn(t);
    } finally {
      await t.close();
    }
  };
  common(
    clients
      .command('create')
      .description('create a client; its id and secret are printed once')
      .requiredOption('--name <name>', 'what the integration is, e.g. "lab analyser bridge"')
      .requiredOption('--scopes <scopes...>', 'SMART scopes, space- or comma-separated, e.g. system/Observation.cruds system/Patient.rs')
      .option('--json', 'print {"clientId", "clientSecret"} as JSON'),
  ).action((flags: Record<string, unknown>) =>
    withTarget(flags, async (t) => {
      const scopes = (flags.scopes as string[]).flatMap((s) => s.split(/[\s,]+/)).filter(Boolean);
      const r = await t.create(flags.name as string, scopes);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ clientId: r.clientId, clientSecret: r.clientSecret })}\n`);
        return;
      }
      process.stdout.write(
        `created client ${r.clientId} (${r.client.name}) with scopes ${r.client.scopes.join(' ')}\n` +
          `client secret (shown once; store it in the integration's secret store):\n  ${r.clientSecret}\n` +
          'tokens: POST /oauth2/token with grant_type=client_credentials (see /fhir/.well-known/smart-configuration)\n',
      );
    }),
  );
  common(clients.command('list').description('every client, its scopes and status').option('--json', 'JSON output')).action(
    (flags: Record<string, unknown>) =>
      withTarget(flags, async (t) => {
        const list = await t.list();
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
          return;
        }
        for (const c of list) process.stdout.write(`${c.clientId}  ${c.status.padEnd(8)}  ${c.name}  [${c.scopes.join(' ')}]\n`);
      }),
  );
  for (const action of ['disable', 'enable'] as const) {
    common(
      clients
        .command(action)
        .argument('<clientId>', 'the client id')
        .description(action === 'disable' ? 'refuse its tokens at once and issue no new ones' : 'enable a disabled client'),
    ).action((id: string, flags: Record<string, unknown>) =>
      withTarget(flags, async (t) => {
        process.stdout.write(`${JSON.stringify(await t.setStatus(id, action), null, 2)}\n`);
      }),
    );
  }
}
