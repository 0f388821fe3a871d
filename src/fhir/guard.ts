/**
 * The ports through which the operation layer asks "may this happen?" and records "this
 * happened". The operation layer calls them for every interaction, whoever the caller is (HTTP,
 * CLI, job), which is what makes it the one door of invariant 1. Implementations live in
 * src/security/ and are wired in by the composition root.
 */
import type { RequestContext, Interaction } from './context.js';
import type { Queryable } from '../store/db.js';
import type { FhirError } from './outcome.js';
import type { AnyResource, StoredResource } from './types.js';

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
  /** The interaction as a whole: role x interaction x resource type, before anything is read. */
  decide(ctx: RequestContext, req: AccessRequest): Promise<AccessDecision> | AccessDecision;
  /**
   * Resource by resource, for an interaction `decide` allowed: may each of these leave the door
   * to this caller (`read`: a read, a search match, an `_include`d resource, a history entry), or
   * be written (`write`: the new content, and the version it replaces)? One decision per resource,
   * in order. Absent, or `screens(ctx)` false: everything the interaction-level decision allowed.
   */
  screen?(
    ctx: RequestContext,
    q: Queryable,
    purpose: 'read' | 'write',
    resources: readonly AnyResource[],
  ): Promise<readonly AccessDecision[]>;
  /** Whether `screen` applies to this caller (a search result's `total` is then left out: it would count what is withheld). */
  screens?(ctx: RequestContext): boolean;
}

/**
 * Told of every version the write path stores, inside the write's transaction, so that what it
 * derives (the policy's care relationships and restriction labels) commits with the write or not
 * at all. `stored.deleted` marks a deletion.
 */
export interface WriteObserver {
  written(tx: Queryable, stored: StoredResource): Promise<void>;
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

/**
 * Break-glass (security/policy): a clinician opens one patient's record for a limited time after
 * stating a reason. Reached through the `Patient/[id]/$break-glass` operation, which the policy
 * authorizes and the operation layer audits like any other interaction.
 */
export interface BreakGlass {
  open(ctx: RequestContext, patientId: string, reason: string): Promise<{ readonly id: string; readonly expiresAt: string }>;
}
