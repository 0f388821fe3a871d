/**
 * `sushruta access`: exceptions to the care-relationship rule (docs/SECURITY.md#access-policy).
 * `grant` gives one account access to one (restricted) patient until a time, with a reason;
 * `grants` lists them; `revoke` ends a grant or a break-glass; `break-glass` is the security
 * officer's report of every break-glass with its reason. Like `sushruta users`, through the running
 * server's /admin/access with PGlite, otherwise directly on the database; audited either way.
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import type { RequestContext } from '../fhir/context.js';
import { TenantId } from '../fhir/types.js';
import { acquireLock } from '../runtime/lock.js';
import { openSushruta } from '../runtime/open.js';
import type { AccessGrant } from '../security/policy/grants.js';
import { adminCall, throughServerOrDirect } from './admin-client.js';

export class AccessCliError extends Error {
  override name = 'AccessCliError';
}

interface GrantInput {
  readonly user: string;
  readonly patient: string;
  readonly reason: string;
  readonly ends: { readonly at: Date } | { readonly hours: number };
}

interface AccessTarget {
  readonly via: string;
  grant(input: GrantInput): Promise<AccessGrant>;
  list(activeOnly: boolean): Promise<AccessGrant[]>;
  breakGlass(since: Date | undefined): Promise<AccessGrant[]>;
  revoke(id: string): Promise<AccessGrant>;
  close(): Promise<void>;
}

function remote(url: string): AccessTarget {
  const call = <T>(method: string, path: string, body?: unknown) =>
    adminCall<T>(url, method, `/access${path}`, body, (m) => new AccessCliError(m));
  return {
    via: `the running server at ${url}`,
    grant: (i) =>
      call('POST', '/grants', {
        user: i.user,
        patient: i.patient,
        reason: i.reason,
        ...('at' in i.ends ? { until: i.ends.at.toISOString() } : { hours: i.ends.hours }),
      }),
    list: (active) => call('GET', `/grants${active ? '?active=true' : ''}`),
    breakGlass: (since) => call('GET', `/break-glass${since ? `?since=${encodeURIComponent(since.toISOString())}` : ''}`),
    revoke: (id) => call('POST', `/grants/${encodeURIComponent(id)}/revoke`, {}),
    close: async () => undefined,
  };
}

async function local(config: Config): Promise<AccessTarget> {
  const lock = config.databaseUrl ? undefined : acquireLock(config.dataDir);
  try {
    const s = await openSushruta(config, { backgroundJobs: false });
    const ctx = (): RequestContext => ({
      requestId: `cli-access-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
      tenantId: TenantId(config.tenant),
      actor: { kind: 'local-operator', description: `sushruta access (OS user ${userInfo().username})` },
      provenance: { peerAddress: 'local', clientAddress: 'local', forwardedChain: [], userAgent: 'sushruta-cli/access' },
      baseUrl: config.baseUrl ?? 'urn:sushruta:local/fhir',
      lenient: false,
    });
    return {
      via: config.databaseUrl ? 'PostgreSQL (direct)' : `PGlite data directory ${config.dataDir} (direct)`,
      async grant(i) {
        const account = (await s.identity.account(i.user)) ?? (await s.identity.accountByUsername(i.user));
        if (!account) throw new AccessCliError(`no staff account '${i.user}'`);
        return s.access.grant(ctx(), { userId: account.id, patientId: i.patient, reason: i.reason, ends: i.ends });
      },
      list: (activeOnly) => s.access.list(ctx(), { kind: 'grant', activeOnly }),
      breakGlass: (since) => s.access.list(ctx(), { kind: 'break-glass', ...(since ? { since } : {}) }),
      revoke: (id) => s.access.revoke(ctx(), id),
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

const open = (config: Config): Promise<AccessTarget> => throughServerOrDirect(config, remote, local);

function print(list: readonly AccessGrant[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    return;
  }
  if (list.length === 0) process.stdout.write('none\n');
  for (const g of list) {
    const state = g.revokedAt
      ? `revoked ${g.revokedAt} by ${g.revokedBy}`
      : g.active
        ? `live until ${g.expiresAt}`
        : `ended ${g.expiresAt}`;
    process.stdout.write(
      `${g.id}  ${g.kind}  user ${g.userId} -> Patient/${g.patientId}  ${g.createdAt} by ${g.grantedBy}; ${state}\n    reason: ${g.reason}\n`,
    );
  }
}

/** `--hours N` or `--until INSTANT`, exactly one. */
function endOf(flags: Record<string, unknown>): { at: Date } | { hours: number } {
  if ((flags.hours === undefined) === (flags.until === undefined))
    throw new AccessCliError('give the grant an end: --hours N or --until INSTANT (one of them)');
  if (flags.hours !== undefined) {
    const h = Number(flags.hours);
    if (!Number.isFinite(h) || h <= 0) throw new AccessCliError(`--hours must be a positive number, got '${String(flags.hours)}'`);
    return { hours: h };
  }
  const d = new Date(String(flags.until));
  if (!/^\d{4}-\d{2}-\d{2}T/.test(String(flags.until)) || Number.isNaN(d.getTime()))
    throw new AccessCliError(`--until must be an instant with a time zone, e.g. 2026-11-30T18:00:00+05:30; got '${String(flags.until)}'`);
  return { at: d };
}

export function registerAccessCommand(
  program: Command,
  configOf: (flags: Record<string, unknown>) => Config,
  common: (c: Command) => Command,
): void {
  const access = program
    .command('access')
    .description('access exceptions: grants to restricted records, revocation, the break-glass report (docs/SECURITY.md#access-policy)');
  const withTarget = async (flags: Record<string, unknown>, fn: (t: AccessTarget) => Promise<void>) => {
    const t = await open(configOf(flags));
    try {
      process.stderr.write(`access: through ${t.via}\n`);
      await fn(t);
    } finally {
      await t.close();
    }
  };
  common(
    access
      .command('grant')
      .description("give one account access to one patient's record (restricted or outside their care) until a time")
      .requiredOption('--user <username>', 'the staff account (username or id)')
      .requiredOption('--patient <id>', 'the Patient id')
      .requiredOption('--reason <text>', 'why (at least 10 characters; sealed, shown in the report)')
      .option('--hours <n>', 'for this many hours from now')
      .option('--until <instant>', 'until this instant, e.g. 2026-11-30T18:00:00+05:30')
      .option('--json', 'JSON output'),
  ).action((flags: Record<string, unknown>) =>
    withTarget(flags, async (t) => {
      const g = await t.grant({
        user: flags.user as string,
        patient: flags.patient as string,
        reason: flags.reason as string,
        ends: endOf(flags),
      });
      print([g], Boolean(flags.json));
    }),
  );
  common(
    access.command('grants').description('grants, newest first').option('--active', 'only live grants').option('--json', 'JSON output'),
  ).action((flags: Record<string, unknown>) =>
    withTarget(flags, async (t) => print(await t.list(Boolean(flags.active)), Boolean(flags.json))),
  );
  common(
    access
      .command('break-glass')
      .description('every break-glass, newest first, with who, which patient, when, until when and the stated reason')
      .option('--since <instant>', 'only those opened since this instant')
      .option('--json', 'JSON output'),
  ).action((flags: Record<string, unknown>) =>
    withTarget(flags, async (t) => {
      let since: Date | undefined;
      if (flags.since !== undefined) {
        since = new Date(String(flags.since));
        if (Number.isNaN(since.getTime())) throw new AccessCliError(`--since must be an instant, got '${String(flags.since)}'`);
      }
      print(await t.breakGlass(since), Boolean(flags.json));
    }),
  );
  common(
    access
      .command('revoke')
      .argument('<id>', 'the grant or break-glass id')
      .description('end a grant or a break-glass now')
      .option('--json', 'JSON output'),
  ).action((id: string, flags: Record<string, unknown>) =>
    withTarget(flags, async (t) => print([await t.revoke(id)], Boolean(flags.json))),
  );
}
