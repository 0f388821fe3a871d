/**
 * The administration API at /admin: key management (/admin/keys) and audit-log verification
 * (/admin/audit). Like FHIR requests, every call passes authenticate -> authorize (interaction
 * 'admin-keys' or 'admin-audit') -> operate -> audit, and the audit entry is written before the
 * answer. The CLI uses this API when a server holds the database.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestContext } from '../fhir/context.js';
import type { AccessPolicy, AuditSink } from '../fhir/guard.js';
import { FhirError, issue } from '../fhir/outcome.js';
import type { Interaction } from '../fhir/context.js';
import type { VerifyReport } from '../security/audit/verify.js';
import type { KeyAdmin } from '../security/crypto/key-admin.js';
import type { KeyPurpose } from '../security/crypto/keyring.js';

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
}

function field(body: unknown, name: string): string {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  if (typeof v !== 'string' || v.length === 0)
    throw new FhirError(400, [issue('required', `the request body needs a string '${name}'`, name)]);
  return v;
}

/** Wraps an admin operation in the authorize -> operate -> audit stages. */
function runner(o: AdminStages, interaction: Interaction) {
  return (action: string, op: (req: FastifyRequest) => Promise<unknown>) => async (req: FastifyRequest, reply: FastifyReply) => {
    const ctx = o.context(req);
    let status = 200;
    let rule: string | undefined;
    try {
      const decision = await o.policy.decide(ctx, { interaction });
      rule = decision.rule;
      if (!decision.allowed) throw new FhirError(403, [issue('forbidden', `access denied by rule '${decision.rule}': ${decision.reason}`)]);
      const out = await op(req);
      await o.audit.append({ ctx, interaction, query: action, outcome: { status, rule } });
      return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(out));
    } catch (err) {
      status = err instanceof FhirError ? err.status : 500;
      await o.audit.append({
        ctx,
        interaction,
        query: action,
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
