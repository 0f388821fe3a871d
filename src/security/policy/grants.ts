/**
 * Exceptions to the care-relationship rule, each one explicit, time-boxed and on the record:
 *
 * - break-glass: a clinician (a role with `breakGlass`) opens one patient's record, restricted or
 *   not, for `breakGlassMinutes`, after stating a reason. Every access under it is audited with
 *   the rule `break-glass`; the security officer's report lists every break-glass with its reason.
 * - grant: the security officer gives one account access to one (restricted) patient until a
 *   time, with a reason (a VIP's treating team, a medico-legal review).
 *
 * Reasons are sealed with the hospital's data key (they may describe the patient). Both kinds can
 * be revoked by the security officer. The grant's id is the request id of the request that made
 * it, so the audit record of that request and the grant name each other.
 */
import type { RequestContext } from '../../fhir/context.js';
import type { AccessPolicy, AuditSink } from '../../fhir/guard.js';
import { FhirError, issue } from '../../fhir/outcome.js';
import type { Db } from '../../store/db.js';

export interface ReasonSealer {
  seal(grantId: string, reason: string): Uint8Array;
  open(grantId: string, sealed: Uint8Array): string;
}

export interface AccessGrant {
  readonly id: string;
  readonly kind: 'grant' | 'break-glass';
  readonly userId: string;
  readonly patientId: string;
  /** The stated reason, or a note that it can no longer be opened (keys shredded). */
  readonly reason: string;
  readonly grantedBy: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly revokedAt: string | null;
  readonly revokedBy: string | null;
  readonly active: boolean;
}

export interface AccessGrantServiceOptions {
  readonly db: Db;
  readonly tenantId: string;
  readonly sealer: ReasonSealer;
  readonly policy: AccessPolicy;
  readonly audit: AuditSink;
  readonly breakGlassMinutes: number;
  /** Longest grant the security officer may give (days). */
  readonly maxGrantDays: number;
  /** Told of the patient whose grants changed (the policy forgets what it cached). */
  readonly onChange?: (patientId: string) => void;
  readonly now?: () => Date;
}

interface GrantRow {
  id: string;
  kind: 'grant' | 'break-glass';
  user_id: string;
  patient_id: string;
  reason: Uint8Array;
  granted_by: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_by: string | null;
}

const MIN_REASON = 10;
const MAX_REASON = 1000;
const PATIENT_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function checkReason(reason: unknown): string {
  if (typeof reason !== 'string' || reason.trim().length < MIN_REASON) {
    throw new FhirError(400, [
      issue('required', `state the reason in at least ${MIN_REASON} characters (it goes to the security officer)`, 'reason'),
    ]);
  }
  if (reason.length > MAX_REASON)
    throw new FhirError(400, [issue('too-long', `the reason is longer than ${MAX_REASON} characters`, 'reason')]);
  return reason.trim();
}

const actorName = (ctx: RequestContext): string => {
  const a = ctx.actor;
  return a.kind === 'user' ? `user:${a.username}` : a.kind === 'client' ? `client:${a.id}` : a.kind;
};

export class AccessGrantService {
  readonly #o: AccessGrantServiceOptions;

  constructor(o: AccessGrantServiceOptions) {
    this.#o = o;
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }

  /**
   * Break-glass by the signed-in clinician on one patient. The caller (the `$break-glass`
   * operation) has already been authorized and is audited by the operation layer.
   */
  async breakGlass(ctx: RequestContext, patientId: string, reason: string): Promise<AccessGrant> {
    const actor = ctx.actor;
    if (actor.kind !== 'user') throw new FhirError(403, [issue('forbidden', 'break-glass is for signed-in clinicians')]);
    const why = checkReason(reason);
    const now = this.#now();
    const expires = new Date(now.getTime() + this.#o.breakGlassMinutes * 60_000);
    return this.#insert(ctx.requestId, 'break-glass', actor.id, patientId, why, actorName(ctx), now, expires);
  }

  /** The security officer grants one account access to one patient until a time, or for some hours from now. */
  async grant(
    ctx: RequestContext,
    input: { userId: string; patientId: string; reason: string; ends: { readonly at: Date } | { readonly hours: number } },
  ): Promise<AccessGrant> {
    return this.#administer(ctx, 'grant', input.patientId, async () => {
      if (!PATIENT_ID.test(input.patientId))
        throw new FhirError(400, [issue('invalid', `'${input.patientId}' is not a Patient id`, 'patient')]);
      const why = checkReason(input.reason);
      const now = this.#now();
      let expires: Date;
      if ('hours' in input.ends) {
        if (!Number.isFinite(input.ends.hours) || input.ends.hours <= 0)
          throw new FhirError(400, [issue('invalid', 'hours must be a positive number', 'hours')]);
        expires = new Date(now.getTime() + input.ends.hours * 3_600_000);
      } else {
        expires = input.ends.at;
      }
      if (Number.isNaN(expires.getTime()) || expires <= now)
        throw new FhirError(400, [issue('invalid', 'the grant must end in the future', 'until')]);
      if (expires.getTime() - now.getTime() > this.#o.maxGrantDays * 86_400_000)
        throw new FhirError(400, [
          issue('invalid', `a grant lasts at most ${this.#o.maxGrantDays} days; grant again when it ends`, 'until'),
        ]);
      if (ctx.actor.kind === 'user' && ctx.actor.id === input.userId)
        throw new FhirError(403, [issue('forbidden', 'nobody grants access to themselves (separation of duties)')]);
      return this.#insert(ctx.requestId, 'grant', input.userId, input.patientId, why, actorName(ctx), now, expires);
    });
  }

  async revoke(ctx: RequestContext, id: string): Promise<AccessGrant> {
    return this.#administer(ctx, 'revoke', undefined, async () => {
      const r = await this.#o.db.query<GrantRow>(
        `UPDATE policy_grant SET revoked_at = $3, revoked_by = $4
          WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING *`,
        [this.#o.tenantId, id, this.#now(), actorName(ctx)],
      );
      const row = r.rows[0];
      if (row) this.#o.onChange?.(row.patient_id);
      if (!row) {
        const exists = await this.#o.db.query('SELECT 1 FROM policy_grant WHERE tenant_id = $1 AND id = $2', [this.#o.tenantId, id]);
        throw new FhirError(exists.rows.length ? 409 : 404, [
          issue(exists.rows.length ? 'conflict' : 'not-found', exists.rows.length ? `grant ${id} was already revoked` : `no grant ${id}`),
        ]);
      }
      return this.#view(row);
    });
  }

  /** Grants and break-glass accesses, newest first: all since `since`, or only the live ones. */
  async list(ctx: RequestContext, filter: { kind?: 'grant' | 'break-glass'; since?: Date; activeOnly?: boolean }): Promise<AccessGrant[]> {
    return this.#administer(ctx, filter.kind === 'break-glass' ? 'break-glass-report' : 'list', undefined, async () => {
      const now = this.#now();
      const r = await this.#o.db.query<GrantRow>(
        `SELECT * FROM policy_grant WHERE tenant_id = $1
           AND ($2::text IS NULL OR kind = $2) AND created_at >= $3
           AND (NOT $4 OR (revoked_at IS NULL AND expires_at > $5))
         ORDER BY created_at DESC, id LIMIT 1000`,
        [this.#o.tenantId, filter.kind ?? null, filter.since ?? new Date(0), filter.activeOnly ?? false, now],
      );
      return r.rows.map((row) => this.#view(row));
    });
  }

  async #insert(
    id: string,
    kind: 'grant' | 'break-glass',
    userId: string,
    patientId: string,
    reason: string,
    by: string,
    now: Date,
    expires: Date,
  ): Promise<AccessGrant> {
    const r = await this.#o.db.query<GrantRow>(
      `INSERT INTO policy_grant (tenant_id, id, kind, user_id, patient_id, reason, granted_by, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
      [this.#o.tenantId, id, kind, userId, patientId, this.#o.sealer.seal(id, reason), by, now, expires],
    );
    this.#o.onChange?.(patientId);
    return this.#view(r.rows[0] as GrantRow);
  }

  #view(row: GrantRow): AccessGrant {
    let reason: string;
    try {
      reason = this.#o.sealer.open(row.id, row.reason);
    } catch {
      reason = '(the reason can no longer be opened: the key that sealed it is gone)';
    }
    const now = this.#now();
    return {
      id: row.id,
      kind: row.kind,
      userId: row.user_id,
      patientId: row.patient_id,
      reason,
      grantedBy: row.granted_by,
      createdAt: new Date(row.created_at).toISOString(),
      expiresAt: new Date(row.expires_at).toISOString(),
      revokedAt: row.revoked_at ? new Date(row.revoked_at).toISOString() : null,
      revokedBy: row.revoked_by,
      active: !row.revoked_at && new Date(row.expires_at) > now,
    };
  }

  /** Authorize ('admin-access') -> operate -> audit, with the patient named when there is one. */
  async #administer<T>(ctx: RequestContext, action: string, patientId: string | undefined, op: () => Promise<T>): Promise<T> {
    let rule: string | undefined;
    const record = (status: number, error?: FhirError) =>
      this.#o.audit.append({
        ctx,
        interaction: 'admin-access',
        resourceType: 'AccessGrant',
        query: action,
        ...(patientId ? { patients: [patientId] } : {}),
        outcome: { status, ...(rule ? { rule } : {}), ...(error ? { error } : {}) },
      });
    try {
      const d = await this.#o.policy.decide(ctx, { interaction: 'admin-access' });
      rule = d.rule;
      if (!d.allowed) throw new FhirError(403, [issue('forbidden', `access denied by rule '${d.rule}': ${d.reason}`)]);
      const out = await op();
      await record(200);
      return out;
    } catch (err) {
      const fe = err instanceof FhirError ? err : undefined;
      await record(fe?.status ?? 500, fe);
      throw err;
    }
  }
}
