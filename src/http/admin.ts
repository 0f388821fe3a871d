/**
 * The administration API at /admin: key management (/admin/keys) and the audit log's
 * verification and proofs (/admin/audit). Like FHIR requests, every call passes authenticate ->
 * authorize (interaction 'admin-keys' or 'admin-audit') -> operate -> audit, and the audit entry
 * is written before the answer. The CLI uses this API when a server holds the database.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestContext } from '../fhir/context.js';
import type { AccessPolicy, AuditSink } from '../fhir/guard.js';
import { FhirError, issue } from '../fhir/outcome.js';
import type { Interaction } from '../fhir/context.js';
import { type AuditProof, AuditProofError, type ProofRequest } from '../security/audit/prove.js';
import type { VerifyReport } from '../security/audit/verify.js';
import type { KeyAdmin } from '../security/crypto/key-admin.js';
import type { KeyPurpose } from '../security/crypto/keyring.js';
import type { ClientService } from '../security/identity/clients.js';
import type { IdentityService } from '../security/identity/service.js';
import type { AccessGrantService } from '../security/policy/grants.js';
import { accountView } from './auth.js';

interface AdminStages {
  readonly policy: AccessPolicy;
  readonly audit: AuditSink;
  readonly context: (req: FastifyRequest) => RequestContext;
}

export interface AdminOptions extends AdminStages {
  readonly keys: KeyAdmin;
}

export interface AuditAdminOptions extends AdminStages {
  /** Verifies the whole audit log (audit verify). */
  readonly verify: () => Promise<VerifyReport>;
  /** The verifier key auditors pin (signed-note vkey). */
  readonly vkey: string;
  /** An inclusion or consistency proof against signed checkpoints (audit prove). */
  readonly prove: (req: ProofRequest) => Promise<AuditProof>;
}

function field(body: unknown, name: string): string {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  if (typeof v !== 'string' || v.length === 0)
    throw new FhirError(400, [issue('required', `the request body needs a string '${name}'`, name)]);
  return v;
}

/** The body of POST /admin/audit/prove: `{seq, size?}` or `{from, to}`, whole numbers from 1. */
function proofRequest(body: unknown): ProofRequest {
  const b = (body ?? {}) as Record<string, unknown>;
  const num = (name: string): number | undefined => {
    const v = b[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
      throw new FhirError(400, [issue('invalid', `'${name}' must be a whole number from 1`, name)]);
    return v;
  };
  const [seq, size, from, to] = [num('seq'), num('size'), num('from'), num('to')];
  if (seq !== undefined && from === undefined && to === undefined) return size === undefined ? { seq } : { seq, size };
  if (seq === undefined && size === undefined && from !== undefined && to !== undefined) return { from, to };
  throw new FhirError(400, [issue('required', "the request body needs 'seq' (and optionally 'size'), or 'from' and 'to'")]);
}

/** What a proof was asked for, for its audit record. */
function describeProof(body: unknown): string {
  const b = (body ?? {}) as Record<string, unknown>;
  const parts = ['seq', 'size', 'from', 'to'].filter((k) => b[k] !== undefined).map((k) => `${k}=${String(b[k]).slice(0, 20)}`);
  return `prove ${parts.join(' ')}`.trim();
}

const PROOF_STATUS = { invalid: [400, 'invalid'], 'not-found': [404, 'not-found'], tampered: [409, 'conflict'] } as const;

/** Wraps an admin operation in the authorize -> operate -> audit stages; `action` names it in the audit record. */
function runner(o: AdminStages, interaction: Interaction) {
  type Action = string | ((req: FastifyRequest) => string);
  return (action: Action, op: (req: FastifyRequest) => Promise<unknown>) => async (req: FastifyRequest, reply: FastifyReply) => {
    const ctx = o.context(req);
    const query = typeof action === 'string' ? action : action(req);
    let status = 200;
    let rule: string | undefined;
    try {
      const decision = await o.policy.decide(ctx, { interaction });
      rule = decision.rule;
      if (!decision.allowed) throw new FhirError(403, [issue('forbidden', `access denied by rule '${decision.rule}': ${decision.reason}`)]);
      const out = await op(req);
      await o.audit.append({ ctx, interaction, query, outcome: { status, rule } });
      return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(out));
    } catch (err) {
      status = err instanceof FhirError ? err.status : 500;
      await o.audit.append({
        ctx,
        interaction,
        query,
        outcome: { status, ...(rule ? { rule } : {}), ...(err instanceof FhirError ? { error: err } : {}) },
      });
      throw err;
    }
  };
}

export function registerAuditAdminRoutes(app: FastifyInstance, o: AuditAdminOptions): void {
  const run = runner(o, 'admin-audit');
  app.get(
    '/admin/audit/key',
    run('key', async () => ({ vkey: o.vkey })),
  );
  app.post(
    '/admin/audit/verify',
    run('verify', () => o.verify()),
  );
  app.post(
    '/admin/audit/prove',
    run(
      (req) => describeProof(req.body),
      async (req) => {
        try {
          return await o.prove(proofRequest(req.body));
        } catch (err) {
          if (!(err instanceof AuditProofError)) throw err;
          const [status, code] = PROOF_STATUS[err.reason];
          throw new FhirError(status, [issue(code, err.message)]);
        }
      },
    ),
  );
}

export function registerAdminRoutes(app: FastifyInstance, o: AdminOptions): void {
  const run = runner(o, 'admin-keys');
  app.get(
    '/admin/keys',
    run('status', () => o.keys.status()),
  );
  app.post(
    '/admin/keys/rotate',
    run('rotate', async (req) => {
      const purpose = field(req.body, 'purpose');
      if (purpose !== 'data' && purpose !== 'index' && purpose !== 'all') {
        throw new FhirError(400, [issue('invalid', `purpose must be data, index or all; got '${purpose}'`, 'purpose')]);
      }
      const versions: Record<string, number> = {};
      const purposes: KeyPurpose[] = purpose === 'all' ? ['data', 'index'] : [purpose];
      for (const p of purposes) versions[p] = await o.keys.rotate(p);
      void o.keys.startBackground();
      return { rotated: versions, job: 're-encryption and re-indexing run in the background; GET /admin/keys shows progress' };
    }),
  );
  app.post(
    '/admin/keys/verify',
    run('verify', () => o.keys.verify()),
  );
  app.post(
    '/admin/keys/export',
    run('export', async (req) => ({ backup: await o.keys.exportBackup(field(req.body, 'passphrase')) })),
  );
  app.post(
    '/admin/keys/import',
    run('import', (req) => o.keys.importBackup(field(req.body, 'backup'), field(req.body, 'passphrase'))),
  );
  app.post(
    '/admin/keys/shred',
    run('shred', async (req) => {
      if (field(req.body, 'confirm') !== o.keys.tenant) {
        throw new FhirError(400, [issue('invalid', `confirm must repeat the hospital id '${o.keys.tenant}' exactly`, 'confirm')]);
      }
      await o.keys.shred();
      return { shredded: o.keys.tenant, note: 'every key of this hospital is destroyed; its data can no longer be read' };
    }),
  );
}

export interface UserAdminOptions {
  readonly identity: IdentityService;
  readonly context: (req: FastifyRequest) => RequestContext;
}

/**
 * Staff accounts at /admin/users. Authorization (interaction 'admin-users') and the audit record
 * are the identity service's own (the CLI without a server goes through the same method), so
 * these routes only translate HTTP.
 */
export function registerUserAdminRoutes(app: FastifyInstance, o: UserAdminOptions): void {
  const send = (reply: FastifyReply, status: number, v: unknown) =>
    reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(v));
  const list = (body: unknown, name: string): string[] => {
    const v = (body as Record<string, unknown> | undefined)?.[name];
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      throw new FhirError(400, [issue('invalid', `'${name}' must be a list of strings`, name)]);
    return v as string[];
  };
  app.get('/admin/users', async (req, reply) => send(reply, 200, (await o.identity.listAccounts(o.context(req))).map(accountView)));
  app.post('/admin/users', async (req, reply) => {
    const b = req.body as Record<string, unknown> | undefined;
    const practitionerId = b?.practitionerId;
    const out = await o.identity.createAccount(o.context(req), {
      username: field(b, 'username'),
      displayName: field(b, 'displayName'),
      roles: list(b, 'roles'),
      departments: list(b, 'departments'),
      practitionerRoleIds: list(b, 'practitionerRoleIds'),
      ...(typeof practitionerId === 'string' ? { practitionerId } : {}),
    });
    return send(reply, 201, { account: accountView(out.account), initialPassword: out.initialPassword });
  });
  const actions: Record<string, (ctx: RequestContext, user: string) => Promise<unknown>> = {
    disable: async (ctx, u) => accountView(await o.identity.setStatus(ctx, u, 'disabled')),
    enable: async (ctx, u) => accountView(await o.identity.setStatus(ctx, u, 'active')),
    'reset-mfa': async (ctx, u) => accountView(await o.identity.resetMfa(ctx, u)),
    'reset-password': async (ctx, u) => {
      const r = await o.identity.resetPassword(ctx, u);
      return { account: accountView(r.account), initialPassword: r.initialPassword };
    },
    'revoke-sessions': (ctx, u) => o.identity.revokeSessions(ctx, u),
  };
  app.post<{ Params: { user: string } }>('/admin/users/:user/roles', async (req, reply) => {
    const b = req.body as Record<string, unknown> | undefined;
    const departments = b?.departments === undefined ? undefined : list(b, 'departments');
    return send(reply, 200, accountView(await o.identity.setRoles(o.context(req), req.params.user, list(b, 'roles'), departments)));
  });
  app.post<{ Params: { user: string; action: string } }>('/admin/users/:user/:action', async (req, reply) => {
    const act = actions[req.params.action];
    if (!act) throw new FhirError(404, [issue('not-found', `no such action '${req.params.action}': ${Object.keys(actions).join(', ')}`)]);
    return send(reply, 200, await act(o.context(req), req.params.user));
  });
}

export interface ClientAdminOptions {
  readonly clients: ClientService;
  readonly context: (req: FastifyRequest) => RequestContext;
}

/**
 * OAuth clients at /admin/clients (authorized and audited by the client service, like accounts):
 * POST {name, scopes, redirectUris?, public?} creates an integration (no redirect URIs) or an app.
 */
export function registerClientAdminRoutes(app: FastifyInstance, o: ClientAdminOptions): void {
  const send = (reply: FastifyReply, status: number, v: unknown) =>
    reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(v));
  app.get('/admin/clients', async (req, reply) => send(reply, 200, await o.clients.list(o.context(req))));
  app.post('/admin/clients', async (req, reply) => {
    const b = req.body as Record<string, unknown> | undefined;
    const scopes = b?.scopes;
    if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string'))
      throw new FhirError(400, [issue('invalid', "'scopes' must be a list of SMART scopes", 'scopes')]);
    const redirectUris = b?.redirectUris ?? [];
    if (!Array.isArray(redirectUris) || redirectUris.some((s) => typeof s !== 'string'))
      throw new FhirError(400, [issue('invalid', "'redirectUris' must be a list of URIs", 'redirectUris')]);
    if (b?.public !== undefined && typeof b.public !== 'boolean')
      throw new FhirError(400, [issue('invalid', "'public' must be true or false", 'public')]);
    const out = await o.clients.create(o.context(req), {
      name: field(b, 'name'),
      scopes: scopes as string[],
      redirectUris: redirectUris as string[],
      public: b?.public === true,
    });
    return send(reply, 201, { clientId: out.client.clientId, clientSecret: out.clientSecret, client: out.client });
  });
  app.post<{ Params: { id: string; action: string } }>('/admin/clients/:id/:action', async (req, reply) => {
    const { id, action } = req.params;
    if (action !== 'disable' && action !== 'enable')
      throw new FhirError(404, [issue('not-found', `no such action '${action}': disable, enable`)]);
    return send(reply, 200, await o.clients.setStatus(o.context(req), id, action === 'enable' ? 'active' : 'disabled'));
  });
}

export interface AccessAdminOptions {
  readonly access: AccessGrantService;
  readonly identity: IdentityService;
  readonly context: (req: FastifyRequest) => RequestContext;
}

/**
 * Access exceptions at /admin/access (authorized as 'admin-access' and audited by the grant
 * service): the security officer's grants to restricted records, their revocation, and the
 * break-glass report.
 *
 *   GET  /admin/access/grants[?active=true]           grants, newest first
 *   POST /admin/access/grants {user, patient, reason, hours | until}
 *   POST /admin/access/grants/:id/revoke               a grant or a break-glass
 *   GET  /admin/access/break-glass[?since=ISO-instant] every break-glass with its reason
 */
export function registerAccessAdminRoutes(app: FastifyInstance, o: AccessAdminOptions): void {
  const send = (reply: FastifyReply, status: number, v: unknown) =>
    reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(v));
  const instant = (v: unknown, name: string): Date | undefined => {
    if (v === undefined) return undefined;
    const d = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(v) ? new Date(v) : undefined;
    if (!d || Number.isNaN(d.getTime()))
      throw new FhirError(400, [
        issue('invalid', `'${name}' must be a date or an instant with a time zone, e.g. 2026-11-25T18:00:00+05:30`, name),
      ]);
    return d;
  };
  app.get<{ Querystring: Record<string, string> }>('/admin/access/grants', async (req, reply) => {
    const active = req.query.active === 'true';
    return send(reply, 200, await o.access.list(o.context(req), { kind: 'grant', activeOnly: active }));
  });
  app.get<{ Querystring: Record<string, string> }>('/admin/access/break-glass', async (req, reply) => {
    const since = instant(req.query.since, 'since');
    return send(reply, 200, await o.access.list(o.context(req), { kind: 'break-glass', ...(since ? { since } : {}) }));
  });
  app.post('/admin/access/grants', async (req, reply) => {
    const b = req.body as Record<string, unknown> | undefined;
    const ctx = o.context(req);
    const user = field(b, 'user');
    const account = (await o.identity.account(user)) ?? (await o.identity.accountByUsername(user));
    if (!account) throw new FhirError(404, [issue('not-found', `no staff account '${user}'`, 'user')]);
    const hours = b?.hours;
    const until = instant(b?.until, 'until');
    if ((until === undefined) === (hours === undefined) || (hours !== undefined && typeof hours !== 'number'))
      throw new FhirError(400, [issue('required', "give the grant one end: 'hours' (a positive number) or 'until' (an instant)", 'hours')]);
    const ends = until ? { at: until } : { hours: hours as number };
    const grant = await o.access.grant(ctx, { userId: account.id, patientId: field(b, 'patient'), reason: field(b, 'reason'), ends });
    return send(reply, 201, grant);
  });
  app.post<{ Params: { id: string; action: string } }>('/admin/access/grants/:id/:action', async (req, reply) => {
    if (req.params.action !== 'revoke') throw new FhirError(404, [issue('not-found', `no such action '${req.params.action}': revoke`)]);
    return send(reply, 200, await o.access.revoke(o.context(req), req.params.id));
  });
}
