/**
 * `serve --demo`: the demo hospital's staff accounts, one per role, created once through the
 * identity service (authorized and audited as the local operator). Their initial passwords are
 * printed once; nothing stores them in plaintext, and a restart does not print them again.
 */
import { userInfo } from 'node:os';
import type { RequestContext } from '../fhir/context.js';
import { TenantId } from '../fhir/types.js';
import { DEMO_ACCOUNTS } from '../hospital/demo/accounts.js';
import type { IdentityService } from '../security/identity/service.js';

export interface CreatedDemoAccount {
  readonly username: string;
  readonly role: string;
  readonly initialPassword: string;
}

/** Creates the demo accounts that do not exist yet; returns those created now (with their initial passwords). */
export async function createDemoAccounts(identity: IdentityService, tenant: string): Promise<CreatedDemoAccount[]> {
  const ctx: RequestContext = {
    requestId: `demo-accounts-${process.pid}-${Date.now()}`,
    tenantId: TenantId(tenant),
    actor: { kind: 'local-operator', description: `sushruta serve --demo (OS user ${userInfo().username})` },
    provenance: { peerAddress: 'local', clientAddress: 'local', forwardedChain: [], userAgent: 'sushruta-cli/demo' },
    baseUrl: 'urn:sushruta:local/fhir',
    lenient: false,
  };
  const created: CreatedDemoAccount[] = [];
  for (const a of DEMO_ACCOUNTS) {
    if (await identity.accountByUsername(a.username)) continue;
    const r = await identity.createAccount(ctx, a);
    created.push({ username: a.username, role: a.roles.join(','), initialPassword: r.initialPassword });
  }
  return created;
}

export function demoAccountsText(created: readonly CreatedDemoAccount[], url: string): string {
  const w = Math.max(...created.map((c) => c.username.length), 8);
  const r = Math.max(...created.map((c) => c.role.length), 4);
  return (
    `\nDemo staff accounts, one per role. Initial passwords are shown ONCE (only argon2id hashes are stored);\n` +
    `at first sign-in (POST ${url}/auth/login) each must choose a new password and enrol an authenticator app:\n\n` +
    created.map((c) => `  ${c.username.padEnd(w)}  ${c.role.padEnd(r)}  ${c.initialPassword}`).join('\n') +
    '\n\n'
  );
}
