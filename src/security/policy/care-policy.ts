/**
 * The hospital's access policy: one place decides every interaction of every caller (the
 * operation layer asks it through the AccessPolicy port, for HTTP, Bundle entries and the CLI
 * alike), in two steps:
 *
 * 1. `decide` — the interaction as a whole: does the caller's role (roles.ts) or the client's
 *    SMART scopes allow this interaction on this resource type at all?
 * 2. `screen` — every resource that would leave the door (a read, each search match, each
 *    `_include`d resource, each history entry) or be written: its category must be within the
 *    role's reach; for each patient it belongs to (the R4 Patient compartment), a restricted record
 *    needs a live grant or break-glass, and a `care` reach needs a live care relationship (or a
 *    grant or break-glass).
 *
 * Every decision names its rule; a denial names it in the OperationOutcome (never what the record
 * holds), and the audit record names it for both outcomes.
 */
import type { RequestContext, StaffRole, UserActor } from '../../fhir/context.js';
import { patientIdsOf } from '../../fhir/compartment.js';
import type { AccessDecision, AccessPolicy, AccessRequest } from '../../fhir/guard.js';
import type { AnyResource } from '../../fhir/types.js';
import type { Queryable } from '../../store/db.js';
import { careLinksOf, restrictionLabelsOf } from './care-links.js';
import { type Category, categoryOf } from './categories.js';
import { READS, ROLE_RULES, type Reach, reachOf, WRITES } from './roles.js';
import { scopeAllows, scopeCovers } from './scopes.js';
import { FactCache } from './fact-cache.js';

export interface CarePolicyOptions {
  readonly tenantId: string;
  /** How long a care relationship lasts after its encounter, appointment or order ends. */
  readonly careWindowDays: number;
  /** How long what the tables said about a patient is reused for an account (fact-cache.ts); 0: never. */
  readonly cacheSeconds?: number;
  readonly now?: () => Date;
}

const allow = (rule: string): AccessDecision => ({ allowed: true, rule });
const deny = (rule: string, reason: string): AccessDecision => ({ allowed: false, rule, reason });

/** What the policy's tables say about some patients, for one account, now. */
interface Facts {
  readonly restricted: ReadonlySet<string>;
  readonly cared: ReadonlySet<string>;
  readonly granted: ReadonlySet<string>;
  readonly brokenGlass: ReadonlySet<string>;
}

export class CarePolicy implements AccessPolicy {
  readonly #o: CarePolicyOptions;
  readonly #cache: FactCache;

  constructor(o: CarePolicyOptions) {
    this.#o = o;
    this.#cache = new FactCache((o.cacheSeconds ?? 10) * 1000);
  }

  /** Forget what is cached about these patients (their labels, care links or grants changed). */
  forgetPatients(patients: Iterable<string>): void {
    this.#cache.forgetPatients(patients);
  }

  decide(ctx: RequestContext, req: AccessRequest): AccessDecision {
    const actor = ctx.actor;
    if (actor.kind === 'local-operator' || actor.kind === 'system') return allow('local-operator');
    if (req.interaction === 'capabilities') return allow('public-capabilities');
    if (actor.kind === 'anonymous') return deny('authentication-required', 'sign in first');
    if (req.interaction === 'batch' || req.interaction === 'transaction') return allow('bundle-entries-decided-one-by-one');
    if (actor.kind === 'client') return this.#decideClient(actor.scopes, req);
    return this.#decideUser(actor, req);
  }

  #decideUser(actor: UserActor, req: AccessRequest): AccessDecision {
    const roles = actor.roles;
    if (roles.length === 0) return deny('no-role', 'this account has no role');
    const i = req.interaction;
    if (i === 'admin-keys') return deny('operator-only', 'key management is done on the server itself (sushruta keys)');
    if (i.startsWith('admin-')) {
      const role = roles.find((r) => ROLE_RULES[r].admin?.includes(i));
      return role ? allow(`role:${role}`) : deny('separation-of-duties', `${i} is not part of the work of ${roleList(roles)}`);
    }
    if (i === 'operation') {
      const name = req.operation ?? '';
      const role = roles.find((r) => ROLE_RULES[r].operations?.includes(name));
      return role ? allow(`role:${role}`) : deny('role-operation', `$${name} is not part of the work of ${roleList(roles)}`);
    }
    if (req.aspect === 'audit-sealed-fields') {
      const role = roles.find((r) => ROLE_RULES[r].sealedAuditFields);
      return role
        ? allow(`role:${role}`)
        : deny('sealed-audit-fields', 'only the security officer sees the sealed fields of audit records');
    }
    const purpose = READS.has(i) ? 'read' : WRITES.has(i) ? 'write' : undefined;
    if (!purpose) return deny('default-deny', `no rule allows ${i}`);
    if (req.resourceType === undefined) {
      // history-system: every entry is screened by its own type.
      return roles.some((r) => Object.keys(ROLE_RULES[r].read).length > 0)
        ? allow('screened-history')
        : deny('role-category', 'nothing to read');
    }
    const type = req.resourceType;
    const category = categoryOf(type);
    const got = reachOf(roles, purpose, type, category);
    if (!got) return deny('role-category', `${roleList(roles)} may not ${purpose} ${category} data (${type})`);
    if (actor.scopes && !scopeAllows(actor.scopes, 'user', type, i)) {
      return deny('token-scope', `the app's token has no scope for ${i} on ${type}`);
    }
    return allow(`role:${got.role}`);
  }

  #decideClient(scopes: readonly string[], req: AccessRequest): AccessDecision {
    const i = req.interaction;
    if (i.startsWith('admin-') || i === 'operation') return deny('client-scope', `an integration client may not use ${i}`);
    if (!req.resourceType) return deny('client-scope', `${i} needs a resource type for a client`);
    if (categoryOf(req.resourceType) === 'audit') return deny('client-scope', 'integration clients do not read the audit trail');
    return scopeAllows(scopes, 'system', req.resourceType, i)
      ? allow('client-scope')
      : deny('client-scope', `the client's scopes do not include ${i} on ${req.resourceType}`);
  }

  screens(ctx: RequestContext): boolean {
    return ctx.actor.kind === 'user' || ctx.actor.kind === 'client';
  }

  async screen(
    ctx: RequestContext,
    q: Queryable,
    purpose: 'read' | 'write',
    resources: readonly AnyResource[],
  ): Promise<readonly AccessDecision[]> {
    const actor = ctx.actor;
    if (actor.kind !== 'user' && actor.kind !== 'client') return resources.map(() => allow('local-operator'));
    // Step 1: category and reach, and which patients each resource belongs to.
    const plan = resources.map((r) => this.#plan(actor, purpose, r));
    const patients = new Set<string>();
    for (const p of plan) if ('patients' in p) for (const id of p.patients) patients.add(id);
    if (patients.size === 0) return plan.map((p) => ('decision' in p ? p.decision : allow(p.rule)));
    // Step 2: one round trip for what the tables say about those patients and this account.
    const facts = await this.#facts(q, actor, [...patients]);
    return plan.map((p, k) => {
      if ('decision' in p) return p.decision;
      const resource = resources[k] as AnyResource;
      // A Patient's own labels count as soon as they are read (a version the projection has not seen yet).
      const labelled = resource.resourceType === 'Patient' && purpose === 'read' && restrictionLabelsOf(resource).length > 0;
      // Writing an encounter or appointment that names you (or your department) is how care begins.
      const startsCare = purpose === 'write' && actor.kind === 'user' && this.#namesActor(actor, resource);
      let rule = p.rule;
      for (const id of p.patients) {
        if (facts.brokenGlass.has(id)) {
          rule = 'break-glass';
          continue;
        }
        if (facts.granted.has(id)) {
          if (rule !== 'break-glass') rule = 'grant';
          continue;
        }
        if (facts.restricted.has(id) || (labelled && id === resource.id)) {
          return deny(
            'restricted-patient',
            "this patient's record is restricted; it needs an explicit grant from the security officer" +
              (p.breakGlass ? ', or break-glass (Patient/[id]/$break-glass with a reason)' : ''),
          );
        }
        if (p.reach === 'care' && !facts.cared.has(id) && !startsCare) {
          return deny(
            'care-relationship',
            `no care relationship with this patient (an encounter, appointment, episode, care team or order for your department or you, live or ended within ${this.#o.careWindowDays} days)` +
              (p.breakGlass ? '; in an emergency use break-glass (Patient/[id]/$break-glass with a reason)' : ''),
          );
        }
        if (p.reach === 'care' && rule === p.rule) rule = 'care-relationship';
      }
      return allow(rule);
    });
  }

  #plan(
    actor: UserActor | { kind: 'client'; scopes: readonly string[] },
    purpose: 'read' | 'write',
    resource: AnyResource,
  ): { decision: AccessDecision } | { patients: string[]; reach: Reach; rule: string; breakGlass: boolean } {
    const type = resource.resourceType;
    const category: Category = categoryOf(type);
    let reach: Reach;
    let rule: string;
    let breakGlass = false;
    if (actor.kind === 'client') {
      if (category === 'audit' || !scopeCovers(actor.scopes, 'system', type, purpose))
        return { decision: deny('client-scope', `the client's scopes do not cover ${type}`) };
      reach = 'all';
      rule = 'client-scope';
    } else {
      const got = reachOf(actor.roles, purpose, type, category);
      if (!got) return { decision: deny('role-category', `${roleList(actor.roles)} may not ${purpose} ${category} data (${type})`) };
      if (actor.scopes && !scopeCovers(actor.scopes, 'user', type, purpose))
        return { decision: deny('token-scope', `the app's token has no scope for ${type}`) };
      reach = got.reach;
      rule = `role:${got.role}`;
      breakGlass = actor.roles.some((r) => ROLE_RULES[r].breakGlass);
    }
    if (category === 'directory' || category === 'audit') return { decision: allow(rule) };
    return { patients: patientIdsOf(resource), reach, rule, breakGlass };
  }

  #namesActor(actor: UserActor, resource: AnyResource): boolean {
    const mine = new Set([
      ...(actor.practitionerId ? [`Practitioner/${actor.practitionerId}`] : []),
      ...actor.practitionerRoleIds.map((id) => `PractitionerRole/${id}`),
    ]);
    return careLinksOf(resource).some(
      (l) => (l.department !== null && actor.departments.includes(l.department)) || (l.practitioner !== null && mine.has(l.practitioner)),
    );
  }

  async #facts(q: Queryable, actor: UserActor | { kind: 'client' }, patients: string[]): Promise<Facts> {
    const now = this.#o.now?.() ?? new Date();
    const window = this.#o.careWindowDays * 86_400_000;
    const t = this.#o.tenantId;
    const restricted = new Set<string>();
    const cared = new Set<string>();
    const granted = new Set<string>();
    const brokenGlass = new Set<string>();
    if (actor.kind !== 'user') {
      const r = await q.query<{ patient_id: string }>(
        'SELECT patient_id FROM policy_restricted_patient WHERE tenant_id = $1 AND patient_id = ANY($2)',
        [t, patients],
      );
      for (const row of r.rows) restricted.add(row.patient_id);
      return { restricted, cared, granted, brokenGlass };
    }
    const cache = this.#cache;
    const at = now.getTime();
    const missing: string[] = [];
    for (const id of patients) {
      const f = cache.get(actor.id, id, at);
      if (!f) {
        missing.push(id);
        continue;
      }
      if (f.restricted) restricted.add(id);
      if (f.cared) cared.add(id);
      if (f.granted) granted.add(id);
      if (f.brokenGlass) brokenGlass.add(id);
    }
    if (missing.length === 0) return { restricted, cared, granted, brokenGlass };
    const staff = [
      ...(actor.practitionerId ? [`Practitioner/${actor.practitionerId}`] : []),
      ...actor.practitionerRoleIds.map((id) => `PractitionerRole/${id}`),
    ];
    const r = await q.query<{ what: string; patient_id: string; expires_at: Date | string | null }>(
      `SELECT 'restricted' AS what, patient_id, NULL::timestamptz AS expires_at
         FROM policy_restricted_patient WHERE tenant_id = $1 AND patient_id = ANY($2)
       UNION ALL
       SELECT DISTINCT 'care' AS what, patient_id, NULL::timestamptz AS expires_at FROM policy_care_link
        WHERE tenant_id = $1 AND patient_id = ANY($2) AND (department = ANY($3) OR practitioner = ANY($4))
          AND (starts_at IS NULL OR starts_at <= $6) AND (ends_at IS NULL OR ends_at >= $7)
       UNION ALL
       SELECT kind AS what, patient_id, expires_at FROM policy_grant
        WHERE tenant_id = $1 AND user_id = $5 AND patient_id = ANY($2) AND revoked_at IS NULL AND expires_at > $8 AND created_at <= $8`,
      [t, missing, [...actor.departments], staff, actor.id, new Date(at + window), new Date(at - window), now],
    );
    const found = new Map<string, { restricted: boolean; cared: boolean; granted: boolean; brokenGlass: boolean; ends?: number }>();
    for (const id of missing) found.set(id, { restricted: false, cared: false, granted: false, brokenGlass: false });
    for (const row of r.rows) {
      const f = found.get(row.patient_id);
      if (!f) continue;
      if (row.what === 'restricted') f.restricted = true;
      else if (row.what === 'care') f.cared = true;
      else if (row.what === 'grant' || row.what === 'break-glass') {
        if (row.what === 'grant') f.granted = true;
        else f.brokenGlass = true;
        const ends = new Date(row.expires_at as string | Date).getTime();
        f.ends = f.ends === undefined ? ends : Math.min(f.ends, ends);
      }
    }
    for (const [id, f] of found) {
      if (f.restricted) restricted.add(id);
      if (f.cared) cared.add(id);
      if (f.granted) granted.add(id);
      if (f.brokenGlass) brokenGlass.add(id);
      cache.set(actor.id, id, f, at, f.ends);
    }
    return { restricted, cared, granted, brokenGlass };
  }
}

function roleList(roles: readonly StaffRole[]): string {
  return roles.length === 1 ? `the ${roles[0]} role` : `the roles ${roles.join(', ')}`;
}
