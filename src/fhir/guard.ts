/**
 * The ports through which the operation layer asks "may this happen?" and records "this
 * happened". The operation layer calls them for every interaction, whoever the caller is (HTTP,
 * CLI, job), which is what makes it the one door of invariant 1. Implementations live in
 * src/security/ and are wired in by the composition root.
 */
import type { RequestContext, Interaction } from './context.js';
import type { Queryable } from '../store/db.js';
import type { FhirError } from './outcome.js';

export interface AccessRequest {
  readonly interaction: Interaction;
  readonly resourceType?: string;
  readonly id?: string;
  /** The operation's name without `$` (`access-report`) when the interaction is `operation`. */
  readonly operation?: string;
  /**
   * A narrower question about an interaction already allowed. `audit-sealed-fields`: may this
   * caller see the decrypted personal fields of audit records (queries, error texts, break-glass
   * reasons), or only who did what, when, from where and with what outcome?
   */
  readonly aspect?: 'audit-sealed-fields';
}

export type AccessDecision =
  | { readonly allowed: true; readonly rule: string }
  | { readonly allowed: false; readonly rule: string; readonly reason: string };

export interface AccessPolicy {
  decide(ctx: RequestContext, req: AccessRequest): Promise<AccessDecision> | AccessDecision;
}

export interface AuditEntry {
  readonly ctx: RequestContext;
  readonly interaction: Interaction;
  /** The operation's name without `$` when the interaction is `operation`. */
  readonly operation?: string;
  readonly resourceType?: string;
  readonly id?: string;
  readonly versionId?: string;
  /** The query string of a search or history, as received. */
  readonly query?: string;
  /** Every resource returned or written (Type/id), `_include`d ones too. */
  readonly resources?: readonly string[];
  /** Ids of the patients whose data was returned or written (the Patient compartment of `resources`). */
  readonly patients?: readonly string[];
  readonly outcome: { readonly status: number; readonly rule?: string; readonly error?: FhirError };
}

export interface AuditSink {
  /** Resolves once the entry is durable. A rejection fails the request (fail closed). */
  append(entry: AuditEntry): Promise<void>;
  /**
   * Appends the entry inside the caller's open write transaction, so the write and its audit
   * record commit together or not at all. A sink without it gets `append` after the commit.
   */
  appendWithin?(tx: Queryable, entry: AuditEntry): Promise<void>;
}
