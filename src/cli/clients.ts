/**
 * `sushruta clients`: OAuth 2.0 clients. Without `--redirect-uri`, an integration (client
 * credentials, `system/` scopes); with one or more, an app that acts for a signed-in member of
 * staff (authorization code with PKCE, `user/` scopes, refresh tokens with offline_access or
 * online_access), confidential or, with `--public`, without a secret. `create` prints the client
 * id and secret once (`--json`: {"clientId", "clientSecret"}, a public app {"clientId"}); only the
 * secret's hash is kept. Like `sushruta users`, through the running server's /admin/clients with
 * PGlite, otherwise directly on the database; authorized and audited either way.
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import type { RequestContext } from '../fhir/context.js';
import { TenantId } from '../fhir/types.js';
import { acquireLock } from '../runtime/lock.js';
import { openSushruta } from '../runtime/open.js';
import type { NewClient, OAuthClient } from '../security/identity/clients.js';
import { adminCall, throughServerOrDirect } from './admin-client.js';

export class ClientsCliError extends Error {
  override name = 'ClientsCliError';
}

interface ClientsTarget {
  readonly via: string;
  create(input: NewClient): Promise<{ clientId: string; clientSecret: string | null; client: OAuthClient }>;
  list(): Promise<OAuthClient[]>;
  setStatus(id: string, action: 'disable' | 'enable'): Promise<OAuthClient>;
  close(): Promise<void>;
}

function remote(url: string): ClientsTarget {
  const call = <T>(method: string, path: string, body?: unknown) =>
    adminCall<T>(url, method, `/clients${path}`, body, (m) => new ClientsCliError(m));
  return {
    via: `the running server at ${url}`,
    create: (input) => call('POST', '', input),
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
      async create(input) {
        const r = await s.clients.create(ctx, input);
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

const open = (config: Config): Promise<ClientsTarget> => throughServerOrDirect(config, remote, local);

export function registerClientsCommand(
  program: Command,
  configOf: (flags: Record<string, unknown>) => Config,
  common: (c: Command) => Command,
): void {
  const clients = program
    .command('clients')
    .description(
      'OAuth 2.0 clients: integrations (client credentials) and apps acting for staff (authorization code + PKCE): create, list, disable, enable (docs/OPERATIONS.md#staff-accounts, the runbooks on clients and apps)',
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
      .description('create an integration, or (with --redirect-uri) an app; its id and secret are printed once')
      .addHelpText(
        'after',
        [
          '',
          'An integration (no --redirect-uri) gets access tokens with client credentials, for system/ scopes.',
          'An app (one or more --redirect-uri, compared exactly) signs a member of staff in with the',
          'authorization code grant and PKCE (S256) and then acts as that person, within user/ scopes;',
          'offline_access or online_access give it rotating refresh tokens. --public: a browser or native',
          'app that cannot keep a secret (no secret is issued; PKCE alone binds its codes to it).',
          '',
          'Examples:',
          '  sushruta clients create --name "lab bridge" --scopes system/Observation.cruds system/Patient.rs',
          '  sushruta clients create --name "Ward rounds" --scopes "user/Patient.rs user/Observation.rs offline_access" \\',
          '      --redirect-uri https://rounds.hospital.example/callback --redirect-uri in.hospital.rounds:/oauth --public',
          '',
          'Apps find the endpoints at /fhir/.well-known/smart-configuration (docs/OPERATIONS.md, "apps that act for staff").',
        ].join('\n'),
      )
      .requiredOption('--name <name>', 'what the client is, e.g. "lab analyser bridge" (apps: shown to staff when they approve it)')
      .requiredOption(
        '--scopes <scopes...>',
        'SMART scopes, space- or comma-separated: system/Observation.cruds system/Patient.rs (integration); user/Patient.rs offline_access (app)',
      )
      .option(
        '--redirect-uri <uri>',
        'an exact redirect URI of an app (repeat for more): https, http on loopback, or a reversed-domain scheme (com.example.app:/cb)',
        (v: string, acc: string[]) => [...acc, v],
        [] as string[],
      )
      .option('--public', 'an app that cannot keep a secret (browser or native): no secret; PKCE alone protects its codes')
      .option('--json', 'print {"clientId", "clientSecret"} as JSON ({"clientId"} for a public app)'),
  ).action(async (flags: Record<string, unknown>) => {
    const scopes = (flags.scopes as string[]).flatMap((s) => s.split(/[\s,]+/)).filter(Boolean);
    const redirectUris = (flags.redirectUri as string[] | undefined) ?? [];
    if (flags.public && redirectUris.length === 0) {
      throw new ClientsCliError('--public is for apps: give their --redirect-uri (an integration keeps a secret)');
    }
    await withTarget(flags, async (t) => {
      const r = await t.create({ name: flags.name as string, scopes, redirectUris, public: flags.public === true });
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify(r.clientSecret === null ? { clientId: r.clientId } : { clientId: r.clientId, clientSecret: r.clientSecret })}\n`,
        );
        return;
      }
      const app = r.client.redirectUris.length > 0;
      process.stdout.write(
        `created ${app ? `${r.client.type} app` : 'integration'} ${r.clientId} (${r.client.name}) with scopes ${r.client.scopes.join(' ')}\n` +
          (app ? `redirect URIs (compared exactly): ${r.client.redirectUris.join(' ')}\n` : '') +
          (r.clientSecret === null
            ? 'no client secret (public app): it sends only client_id, and PKCE (S256) protects its codes\n'
            : `client secret (shown once; store it in the ${app ? "app's" : "integration's"} secret store):\n  ${r.clientSecret}\n`) +
          (app
            ? 'sign-in: GET /oauth2/authorize (code + PKCE S256), tokens and refresh at POST /oauth2/token, revocation at POST /oauth2/revoke (see /fhir/.well-known/smart-configuration)\n'
            : 'tokens: POST /oauth2/token with grant_type=client_credentials (see /fhir/.well-known/smart-configuration)\n'),
      );
    });
  });
  common(clients.command('list').description('every client, its scopes and status').option('--json', 'JSON output')).action(
    (flags: Record<string, unknown>) =>
      withTarget(flags, async (t) => {
        const list = await t.list();
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
          return;
        }
        for (const c of list) {
          const kind = c.redirectUris.length === 0 ? 'integration' : `${c.type} app`;
          const uris = c.redirectUris.length > 0 ? `  -> ${c.redirectUris.join(' ')}` : '';
          process.stdout.write(`${c.clientId}  ${c.status.padEnd(8)}  ${kind.padEnd(16)}  ${c.name}  [${c.scopes.join(' ')}]${uris}\n`);
        }
      }),
  );
  for (const action of ['disable', 'enable'] as const) {
    common(
      clients
        .command(action)
        .argument('<clientId>', 'the client id')
        .description(
          action === 'disable'
            ? "refuse its tokens (and an app's refresh tokens) at once and issue no new ones"
            : 'enable a disabled client',
        ),
    ).action((id: string, flags: Record<string, unknown>) =>
      withTarget(flags, async (t) => {
        process.stdout.write(`${JSON.stringify(await t.setStatus(id, action), null, 2)}\n`);
      }),
    );
  }
}
