/**
 * The FHIR operation layer: the one door of invariant 1. Every read and write of patient data,
 * from HTTP, a Bundle entry or a CLI command, is a `FhirRequest` handled here, and passes the
 * same stages: authorize -> operate -> audit. The audit entry is appended (and awaited) before
 * the response is returned; if it cannot be written, the caller gets an error, not the data.
 */
import { readAuditEvent, refuseAuditEventWrites, searchAuditEvents } from '../auditevent/rest.js';
import { patientIdsOf } from '../compartment.js';
import { FhirError, issue } from '../outcome.js';
import type { RequestContext } from '../context.js';
import type { AccessRequest, AuditEntry } from '../guard.js';
import { isResourceType } from '../validation/resource-types.js';
import type { Queryable } from '../../store/db.js';
import type { Bundle } from '@medplum/fhirtypes';
import { batch, checkBundle, type EntryExecutor, transaction } from './bundle.js';
import { capabilityStatement } from './capability.js';
import { create, patch, read, remove, update, vread } from './crud.js';
import type { FhirDeps } from './deps.js';
import { AccessDenied, Gate } from './gate.js';
import { checkOperation, runOperation } from './operations.js';
import { type FhirRequest, type FhirResponse, type Route, route } from './request.js';
import { history, searchType } from './search.js';

export class FhirService {
  /**
   * Audit entries of a transaction Bundle's entries, appended together just before the Bundle
   * commits. Taking the audit chain's lock is then the last thing every write transaction does,
   * so a transaction holding it never waits for a row lock and no deadlock can form.
   */
  readonly #deferred = new WeakMap<Queryable, AuditEntry[]>();

  constructor(readonly deps: FhirDeps) {}

  /** Handles one request through every stage. Errors come back as `FhirError`s, already audited. */
  async handle(ctx: RequestContext, req: FhirRequest): Promise<FhirResponse> {
    return this.#run(ctx, req, undefined, undefined);
  }

  async #run(ctx: RequestContext, req: FhirRequest, tx: Queryable | undefined, assignedId: string | undefined): Promise<FhirResponse> {
    let r: Route | undefined;
    let rule: string | undefined;
    const gate = new Gate(this.deps.policy, ctx);
    try {
      r = route(req.method, req.path, isResourceType);
      // What no caller may do, refused before the policy is asked: writing the audit log, or an
      // operation this server does not have.
      refuseAuditEventWrites(r);
      if (r.kind === 'operation') checkOperation(r);
      const access = accessRequest(r);
      const decision = await this.deps.policy.decide(ctx, access);
      rule = decision.rule;
      if (!decision.allowed) {
        throw new FhirError(403, [issue('forbidden', `access denied by rule '${decision.rule}': ${decision.reason}`)]);
      }
      const rt: Route = r;
      let res: FhirResponse;
      if (tx || SINGLE_WRITES.has(rt.kind)) {
        // A write and its audit record commit together (invariant 3 and 4): inside the caller's
        // transaction (a transaction Bundle's entry) or one of its own.
        const writeAndAudit = async (q: Queryable) => {
          const out = await this.#operate(ctx, gate, rt, req, q, assignedId);
          await this.#audit(ctx, rt, req, out.status, auditedRule(rule, gate), out, undefined, out.headers.ETag, q, tx !== undefined);
          return out;
        };
        res = tx ? await writeAndAudit(tx) : await this.deps.db.transaction(writeAndAudit);
      } else {
        res = await this.#operate(ctx, gate, rt, req, tx, assignedId);
        await this.#audit(ctx, rt, req, res.status, auditedRule(rule, gate), res, undefined, res.headers.ETag);
      }
      if (!tx && WRITES.has(rt.kind) && res.status < 300) this.deps.statistics?.noteWrites(res.touched?.length ?? 1);
      return res;
    } catch (caught) {
      const err = storedDataError(caught) ?? caught;
      const fe = err instanceof FhirError ? err : undefined;
      // A resource-level refusal is recorded under the rule that refused it.
      if (err instanceof AccessDenied) rule = err.rule;
      // An unexpected error is audited as a 500 and rethrown for the edge to log and mask. Not
      // audited here: a failed audit (the audit log is what failed), and a failed entry of a
      // transaction Bundle (its transaction rolls back; the Bundle's own record tells the failure).
      if (!tx && !(err instanceof AuditFailure)) {
        const patients = await this.#targetPatients(r);
        await this.#audit(ctx, r, req, fe?.status ?? 500, rule, patients ? { patients } : undefined, fe);
      }
      throw err;
    }
  }

  async #audit(
    ctx: RequestContext,
    r: Route | undefined,
    req: FhirRequest,
    status: number,
    rule: string | undefined,
    res: Pick<FhirResponse, 'touched' | 'patients'> | undefined,
    error: FhirError | undefined,
    etagHeader?: string,
    tx?: Queryable,
    defer = false,
  ): Promise<void> {
    const sink = this.deps.audit;
    try {
      const entry: AuditEntry = {
        ctx,
        interaction: r ? auditedInteraction(r, req) : 'read',
        ...(r?.kind === 'operation' ? { operation: r.name } : {}),
        ...(r && 'type' in r ? { resourceType: r.type } : {}),
        ...idOf(r, res),
        ...(etagHeader ? { versionId: etagHeader.replace(/^W\/"|"$/g, '') } : {}),
        ...(req.rawQuery ? { query: req.rawQuery } : {}),
        ...(res?.touched ? { resources: res.touched } : {}),
        ...(res?.patients ? { patients: res.patients } : {}),
        outcome: { status, ...(rule ? { rule } : {}), ...(error ? { error } : {}) },
      };
      if (tx && defer) {
        const list = this.#deferred.get(tx) ?? [];
        list.push(entry);
        this.#deferred.set(tx, list);
      } else if (tx && sink.appendWithin) await sink.appendWithin(tx, entry);
      else await sink.append(entry);
    } catch {
      // Fail closed (invariant 3): no audit, no answer (and inside a transaction, no write).
      throw new AuditFailure();
    }
  }

  /**
   * Whose record a refused or failed instance interaction was aimed at (the resource's Patient
   * compartment), so that the patient's access report shows attempts too, not only successes.
   * Nothing of the resource leaves the server; an unreadable one names no patient.
   */
  async #targetPatients(r: Route | undefined): Promise<string[] | undefined> {
    if (!r || !('id' in r) || r.id === undefined || r.type === undefined || r.type === 'AuditEvent') return undefined;
    if (r.type === 'Patient') return [r.id];
    try {
      const s = await this.deps.store.current(this.deps.db, r.type, r.id);
      return s ? patientIdsOf(s.resource) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Appends the deferred audit entries of a transaction Bundle inside its transaction. */
  async #flushDeferred(tx: Queryable): Promise<void> {
    const list = this.#deferred.get(tx) ?? [];
    this.#deferred.delete(tx);
    const sink = this.deps.audit;
    try {
      for (const entry of list) {
        if (sink.appendWithin) await sink.appendWithin(tx, entry);
        else await sink.append(entry);
      }
    } catch {
      throw new AuditFailure();
    }
  }

  async #operate(
    ctx: RequestContext,
    gate: Gate,
    r: Route,
    req: FhirRequest,
    tx: Queryable | undefined,
    assignedId: string | undefined,
  ): Promise<FhirResponse> {
    const d = this.deps;
    const base = ctx.baseUrl;
    const inTx = <T>(fn: (q: Queryable) => Promise<T>): Promise<T> => (tx ? fn(tx) : d.db.transaction(fn));
    switch (r.kind) {
      case 'capabilities':
        return { status: 200, headers: {}, body: capabilityStatement(base, d.limits) };
      case 'create':
        return inTx((q) => create(d, gate, q, r.type, req, base, ctx.lenient, assignedId));
      case 'read':
        if (r.type === 'AuditEvent') return readAuditEvent(d, tx ?? d.db, ctx, r.id);
        return read(d, gate, tx ?? d.db, r.type, r.id, req);
      case 'vread':
        return vread(d, gate, tx ?? d.db, r.type, r.id, r.versionId);
      case 'update':
        return inTx((q) => update(d, gate, q, r.type, r.id, req, base));
      case 'patch':
        return inTx((q) => patch(d, gate, q, r.type, r.id, req, base));
      case 'delete':
        return inTx((q) => remove(d, gate, q, r.type, r.id, req));
      case 'search-type': {
        if (tx) throw new FhirError(400, [issue('not-supported', 'searches inside a transaction Bundle are not supported; use a batch')]);
        const params = r.viaPost ? [...req.query, ...formParams(req.body)] : req.query;
        if (r.type === 'AuditEvent') return searchAuditEvents(d, ctx, params, gate);
        return searchType(d, gate, r.type, params, base, ctx.lenient);
      }
      case 'history-instance':
        return history(d, gate, { type: r.type, id: r.id }, req.query, base, ctx.lenient);
      case 'history-type':
        return history(d, gate, { type: r.type }, req.query, base, ctx.lenient);
      case 'history-system':
        return history(d, gate, {}, req.query, base, ctx.lenient);
      case 'operation':
        if (tx) throw new FhirError(400, [issue('not-supported', 'operations inside a transaction Bundle are not supported; use a batch')]);
        return runOperation(d, ctx, r, req);
      case 'bundle': {
        if (tx) throw new FhirError(400, [issue('not-supported', 'a Bundle may not contain another batch or transaction')]);
        const bundle: Bundle = checkBundle(req.body, d.limits.bundleEntries);
        const exec = Object.assign((entryReq: FhirRequest, q: Queryable | undefined, id?: string) => this.#run(ctx, entryReq, q, id), {
          route: (entryReq: FhirRequest) => route(entryReq.method, entryReq.path, isResourceType),
          beforeCommit: (q: Queryable) => this.#flushDeferred(q),
        }) satisfies EntryExecutor;
        return bundle.type === 'transaction' ? transaction(d, bundle, exec, base, ctx.lenient) : batch(bundle, exec, base);
      }
    }
  }
}

/**
 * The rule an audit record names: the interaction-level rule, with the resource-level rule that
 * let a screened resource through when it was an exception (break-glass, a grant), and how many
 * results were withheld and by which rule.
 */
function auditedRule(rule: string | undefined, gate: Gate): string | undefined {
  let out = rule;
  if (gate.allowedRule && gate.allowedRule !== rule) out = out ? `${out}; ${gate.allowedRule}` : gate.allowedRule;
  if (gate.withheld > 0) out = `${out ?? ''}; withheld ${gate.withheld} by ${gate.withheldRule}`;
  return out;
}

/**
 * Failures of the encryption layer, which fhir/ knows only by name (it must not import security/):
 * they are server-side integrity or key problems, answered clearly and never with data.
 */
function storedDataError(err: unknown): FhirError | undefined {
  const e = err as { name?: string; reason?: string; context?: { resourceType: string; id: string; versionId: string } };
  if (e?.name === 'DecryptionError' && e.context) {
    if (/destroyed/.test(e.reason ?? '')) {
      return new FhirError(410, [
        issue('deleted', "this hospital's encryption keys were destroyed (crypto-shredding); its data can no longer be read"),
      ]);
    }
    return new FhirError(500, [
      issue(
        'exception',
        `stored data of ${e.context.resourceType}/${e.context.id} version ${e.context.versionId} failed its integrity check (${e.reason}); nothing was returned — report this to the security officer`,
      ),
    ]);
  }
  if (e?.name === 'KeyUnavailableError' && e.reason === 'destroyed') {
    return new FhirError(410, [
      issue('deleted', "this hospital's encryption keys were destroyed (crypto-shredding); its data can no longer be read or written"),
    ]);
  }
  return undefined;
}

/**
 * The id the interaction addressed: from the URL, or for a create the id the server assigned, so
 * that the record (and `AuditEvent?entity=Type/id`) names the resource a create wrote.
 */
function idOf(r: Route | undefined, res: Pick<FhirResponse, 'touched'> | undefined): { id?: string } {
  if (r && 'id' in r && r.id !== undefined) return { id: r.id };
  const created = r?.kind === 'create' ? res?.touched?.[0]?.split('/')[1] : undefined;
  return created ? { id: created } : {};
}

const WRITES = new Set<Route['kind']>(['create', 'update', 'patch', 'delete', 'bundle']);
/** Writes of one resource: each runs in one transaction with its audit record. */
const SINGLE_WRITES = new Set<Route['kind']>(['create', 'update', 'patch', 'delete']);

/** The audit log could not record a request: it is refused (503), and not audited again. */
class AuditFailure extends FhirError {
  constructor() {
    super(503, [issue('transient', 'the audit log could not record this request, so it was refused; try again shortly')]);
  }
}

/** The interaction a record names: a Bundle says whether it was a batch or a transaction. */
function auditedInteraction(r: Route, req: FhirRequest): AccessRequest['interaction'] {
  if (r.kind === 'bundle' && (req.body as { type?: unknown } | undefined)?.type === 'transaction') return 'transaction';
  return accessRequest(r).interaction;
}

function accessRequest(r: Route): AccessRequest {
  switch (r.kind) {
    case 'capabilities':
      return { interaction: 'capabilities' };
    case 'bundle':
      return { interaction: 'batch' };
    case 'history-system':
      return { interaction: 'history-system' };
    case 'operation':
      return { interaction: 'operation', operation: r.name, ...(r.type ? { resourceType: r.type } : {}), ...(r.id ? { id: r.id } : {}) };
    case 'create':
    case 'search-type':
    case 'history-type':
      return { interaction: r.kind, resourceType: r.type };
    default:
      return { interaction: r.kind, resourceType: r.type, id: r.id };
  }
}

/** POST _search carries its parameters as application/x-www-form-urlencoded. */
function formParams(body: unknown): Array<[string, string]> {
  if (typeof body !== 'string') return [];
  return [...new URLSearchParams(body).entries()];
}
