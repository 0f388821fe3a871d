/**
 * The port through which the operation layer reads the audit log, so that auditors see it as FHIR
 * AuditEvent resources through the same door (authorize -> operate -> audit) as everything else.
 * src/security/audit/ implements it over `audit_log`; the composition root wires it in.
 *
 * The port speaks in the log's own terms (sequence numbers, action names, HTTP statuses); turning
 * FHIR search parameters into these conditions and records into AuditEvents is the operation
 * layer's job (fhir/auditevent/), reading and decrypting records is security's.
 */
import type { Queryable } from '../store/db.js';
import type { TenantId } from './types.js';

/**
 * A personal field of a record (a query, an error text, a break-glass reason) as handed out:
 * decrypted when the caller may see it, otherwise only the reason it is not shown.
 */
export type Disclosed = { readonly shown: string } | { readonly hidden: string };

/** One audit record as the reader hands it out: the stored entry, with sealed fields disclosed or not. */
export interface AuditRecordView {
  /** Position in the log, from 1; the AuditEvent's id. */
  readonly seq: number;
  /** When the record was made (ISO 8601, UTC). */
  readonly time: string;
  readonly request: string;
  readonly who: {
    readonly kind: string;
    readonly id: string;
    readonly role: string | null;
    readonly session: string | null;
    readonly client: string | null;
  };
  /** The interaction (`read`, `search-type`, ...), `$name` for an operation, or an administrative action. */
  readonly action: string;
  readonly type: string | null;
  readonly id: string | null;
  readonly version: string | null;
  readonly query: Disclosed | null;
  /** Resources returned or written (Type/id), as many as the record lists, and how many in all. */
  readonly resources: readonly string[];
  readonly resourceCount: number;
  readonly patients: readonly string[];
  readonly where: {
    readonly peer: string;
    readonly forwarded: readonly string[];
    readonly client: string;
    readonly agent: string | null;
  };
  readonly why: { readonly purpose: string | null; readonly breakGlass: Disclosed | null };
  readonly outcome: { readonly status: number; readonly rule: string | null; readonly reason: Disclosed | null };
}

/** An inclusive range of HTTP statuses. */
export interface StatusRange {
  readonly from: number;
  readonly to: number;
}

/** An inclusive range of instants; an absent end is open. */
export interface TimeRange {
  readonly from?: Date;
  readonly to?: Date;
}

export interface ResourceRef {
  readonly type: string;
  readonly id: string;
}

/** One condition on records; it holds when any of its values matches. Conditions are AND-ed. */
export type AuditCondition =
  /** The record names one of these patients (audit_log.patients, GIN-indexed). */
  | { readonly on: 'patient'; readonly any: readonly string[] }
  /** Who acted, as the log stores it: `kind:id`. */
  | { readonly on: 'agent'; readonly any: readonly string[] }
  | { readonly on: 'action'; readonly any: readonly string[] }
  | { readonly on: 'status'; readonly any: readonly StatusRange[] }
  | { readonly on: 'recorded'; readonly any: readonly TimeRange[] }
  /** The interaction addressed this resource, or (for a Patient) the record names that patient. */
  | { readonly on: 'entity'; readonly any: readonly ResourceRef[] }
  | { readonly on: 'seq'; readonly any: readonly number[] };

/** A record's place in time order: its time, then its log position for records of the same millisecond. */
export interface AuditPosition {
  readonly time: string;
  readonly seq: number;
}

export interface AuditQuery {
  readonly tenantId: TenantId;
  readonly where: readonly AuditCondition[];
  /** By recorded time, then log position: `desc` is newest first. */
  readonly order: 'asc' | 'desc';
  /** Only records after this position in `order` (keyset paging). */
  readonly after?: AuditPosition;
  readonly limit: number;
  /** Decrypt sealed fields (the policy allowed it for this caller), or hand out `hidden` in their place. */
  readonly reveal: boolean;
}

export interface AuditReader {
  /** Records of `query.tenantId` only, in the order asked, at most `limit`. */
  find(q: Queryable, query: AuditQuery): Promise<AuditRecordView[]>;
  /** How many records of the tenant satisfy every condition. */
  count(q: Queryable, tenantId: TenantId, where: readonly AuditCondition[]): Promise<number>;
}
