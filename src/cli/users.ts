/**
 * `sushruta users`: staff accounts from the server's own machine. With PGlite and a running
 * server the command goes through its admin API (/admin/users, as the local operator); otherwise
 * it opens the database itself. Either way the identity service authorizes and audits the change,
 * so an account made from the command line is on the record like one made in the web app.
 */
import { userInfo } from 'node:os';
import { type Command, InvalidArgumentError } from 'commander';
import type { Config } from '../config/config.js';
import { STAFF_ROLES, type RequestContext } from '../fhir/context.js';
import { TenantId } from '../fhir/types.js';
import { acquireLock } from '../runtime/lock.js';
import { openSushruta } from '../runtime/open.js';
import type { IdentityService, NewAccount, StaffAccount } from '../security/identity/service.js';
import { adminCall, throughServerOrDirect } from './admin-client.js';

export class UsersCliError extends Error {
  override name = 'UsersCliError';
}

type Account = Omit<StaffAccount, 'id'> & { id: string };

interface UsersTarget {
  readonly via: string;
  create(a: NewAccount): Promise<{ account: Account; initialPassword: string }>;
  list(): Promise<Account[]>;
  act(user: string, action: 'disable' | 'enable' | 'reset-mfa' | 'reset-password' | 'revoke-sessions'): Promise<unknown>;
  setRoles(user: string, roles: string[], departments?: string[]): Promise<Account>;
  close(): Promise<void>;
}

function remote(url: string): UsersTarget {
  const call = <T>(method: string, path: string, body?: unknown) =>
    adminCall<T>(url, method, `/users${path}`, body, (m) => new UsersCliError(m));
  return {
    via: `the running server at ${url}`,
    create: (a) => call('POST', '', a),
    list: () => call('GET', ''),
    act: (user, action) => call('POST', `/${encodeURIComponent(user)}/${action}`, {}),
    setRoles: (user, roles, departments) =>
      call('POST', `/${encodeURIComponent(user)}/roles`, { roles, ...(departments ? { departments } : {}) }),
    close: async () => undefined,
  };
}

async function local(config: Config): Promise<UsersTarget> {
  const lock = config.databaseUrl ? undefined : acquireLock(config.dataDir);
  try {
    const s = await openSushruta(config, { backgroundJobs: false });
    const id: IdentityService = s.identity;
    const ctx: RequestContext = {
      requestId: `cli-users-${process.pid}-${Date.now()}`,
      tenantId: TenantId(config.tenant),
      actor: { kind: 'local-operator', description: `sushruta users (OS user ${userInfo().username})` },
      provenance: { peerAddress: 'local', clientAddress: 'local', forwardedChain: [], userAgent: 'sushruta-cli/users' },
      baseUrl: config.baseUrl ?? 'urn:sushruta:local/fhir',
      lenient: false,
    };
    return {
      via: config.databaseUrl ? 'PostgreSQL (direct)' : `PGlite data directory ${config.dataDir} (direct)`,
      create: (a) => id.createAccount(ctx, a),
      setRoles: (user, roles, departments) => id.setRoles(ctx, user, roles, departments),
      list: () => id.listAccounts(ctx),
      act: (user, action) => {
        switch (action) {
          case 'disable':
            return id.setStatus(ctx, user, 'disabled');
          case 'enable':
            return id.setStatus(ctx, user, 'active');
          case 'reset-mfa':
            return id.resetMfa(ctx, user);
          case 'reset-password':
            return id.resetPassword(ctx, user);
          case 'revoke-sessions':
            return id.revokeSessions(ctx, user);
        }
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

const open = (config: Config): Promise<UsersTarget> => throughServerOrDirect(config, remote, local);

const collect = (v: string, prev: string[]) => [
  ...prev,
  ...v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
];
const role = (v: string, prev: string[]) => {
  const out = collect(v, prev);
  const bad = out.filter((r) => !(STAFF_ROLES as readonly string[]).includes(r));
  if (bad.length > 0) throw new InvalidArgumentError(`unknown role ${bad.join(', ')}; roles: ${STAFF_ROLES.join(', ')}`);
  return out;
};

function table(accounts: Account[]): string {
  const rows = accounts.map((a) => [
    a.username,
    a.displayName,
    a.roles.join(','),
    a.departments.join(',') || '-',
    a.status,
    a.totpEnrolled ? `totp, ${a.recoveryCodesLeft} recovery codes` : 'not enrolled',
    a.passwordMustChange ? 'initial password' : '',
  ]);
  const head = ['USERNAME', 'NAME', 'ROLES', 'DEPARTMENTS', 'STATUS', 'MFA', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [head, ...rows]
    .map((r) =>
      r
        .map((c, i) => (c ?? '').padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function registerUsersCommand(
  program: Command,
  configOf: (flags: Record<string, unknown>) => Config,
  common: (c: Command) => Command,
): void {
  const users = program
    .command('users')
    .description(
      'staff accounts: create, list, disable, enable, reset-mfa, reset-password, revoke-sessions (docs/OPERATIONS.md#staff-accounts)',
    );
  const withTarget = async (flags: Record<string, unknown>, fn: (t: UsersTarget) => Promise<void>) => {
    const t = await open(configOf(flags));
    try {
      process.stderr.write(`users: through ${t.via}\n`);
      await fn(t);
    } finally {
      await t.close();
    }
  };
  const printPassword = (username: string, pw: string) =>
    process.stdout.write(
      `initial password for ${username} (shown once; hand it over in person; it must be changed at first sign-in, then an authenticator app is enrolled):\n  ${pw}\n`,
    );

  common(
    users
      .command('create')
      .description('create an account with a random initial password, printed once (there is never a default password)')
      .requiredOption('--username <name>', 'sign-in name: lower-case letters, digits, ".", "_", "-"')
      .requiredOption('--name <display name>', "the person's name as staff see it")
      .requiredOption('--role <role>', `a role (repeat or comma-separate): ${STAFF_ROLES.join(', ')}`, role, [])
      .option('--department <code>', 'a department (repeat or comma-separate)', collect, [])
      .option('--practitioner <id>', 'the Practitioner resource id of this person')
      .option('--practitioner-role <id>', 'a PractitionerRole id (repeat or comma-separate)', collect, [])
      .option('--json', 'print {"account", "initialPassword"} as JSON'),
  ).action((flags: Record<string, unknown>) =>
    withTarget(flags, async (t) => {
      const out = await t.create({
        username: flags.username as string,
        displayName: flags.name as string,
        roles: flags.role as string[],
        departments: flags.department as string[],
        practitionerRoleIds: flags.practitionerRole as string[],
        ...(flags.practitioner ? { practitionerId: flags.practitioner as string } : {}),
      });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      process.stdout.write(`created ${out.account.username} (${out.account.roles.join(', ')}), id ${out.account.id}\n`);
      printPassword(out.account.username, out.initialPassword);
    }),
  );

  common(users.command('list').description('every account, its roles, status and MFA state').option('--json', 'JSON output')).action(
    (flags: Record<string, unknown>) =>
      withTarget(flags, async (t) => {
        const list = await t.list();
        process.stdout.write(flags.json ? `${JSON.stringify(list, null, 2)}\n` : `${table(list)}\n`);
      }),
  );

  common(
    users
      .command('set-roles')
      .argument('<user>', 'username or account id')
      .description("replace the account's roles (and departments with --department); nobody changes their own")
      .requiredOption('--role <role>', `a role (repeat or comma-separate): ${STAFF_ROLES.join(', ')}`, role, [])
      .option('--department <code>', 'replace the departments too (repeat or comma-separate)', (v: string, prev?: string[]) =>
        collect(v, prev ?? []),
      ),
  ).action((user: string, flags: Record<string, unknown>) =>
    withTarget(flags, async (t) => {
      const out = await t.setRoles(user, flags.role as string[], flags.department as string[] | undefined);
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    }),
  );

  const actions = [
    ['disable', 'disable the account and end its sessions at once'],
    ['enable', 'enable a disabled or locked account'],
    ['reset-mfa', 'remove its authenticator and recovery codes and end its sessions; it enrols again at next sign-in'],
    ['reset-password', 'a new random initial password (printed once) that must be changed at next sign-in; ends its sessions'],
    ['revoke-sessions', 'end every session of the account (sign it out everywhere)'],
  ] as const;
  for (const [action, description] of actions) {
    common(
      users.command(action).argument('<user>', 'username or account id').description(description).option('--json', 'JSON output'),
    ).action((user: string, flags: Record<string, unknown>) =>
      withTarget(flags, async (t) => {
        const out = (await t.act(user, action)) as { account?: Account; initialPassword?: string };
        if (flags.json || action !== 'reset-password') {
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          return;
        }
        printPassword(out.account?.username ?? user, out.initialPassword ?? '');
      }),
    );
  }
}
