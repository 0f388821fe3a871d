/**
 * What the operation layer knows about the request it serves. Built by the HTTP edge (or by a
 * CLI command) and passed through every stage, so authorization and audit see the same facts.
 */
import type { TenantId } from './types.js';

/** Who is acting. Staff and client identities arrive with the identity issue. */
export type Actor = { readonly kind: 'local-operator'; readonly description: string } | { readonly kind: 'system'; readonly job: string };

/** Where the request came from: the peer and the proxy chain as received. */
export interface Provenance {
  readonly peerAddress: string;
  /** X-Forwarded-For / Forwarded entries, nearest proxy last, exactly as received. */
  readonly forwardedChain: readonly string[];
  /** The client address after discounting trusted proxies. */
  readonly clientAddress: string;
  readonly userAgent?: string;
}

export interface RequestContext {
  readonly requestId: string;
  readonly tenantId: TenantId;
  readonly actor: Actor;
  readonly provenance: Provenance;
  /** Base URL of the FHIR endpoint as the client sees it, without a trailing slash. */
  readonly baseUrl: string;
  /** `Prefer: handling=lenient` */
  readonly lenient: boolean;
}

export type Interaction =
  | 'read'
  | 'vread'
  | 'update'
  | 'patch'
  | 'delete'
  | 'history-instance'
  | 'history-type'
  | 'history-system'
  | 'create'
  | 'search-type'
  | 'batch'
  | 'transaction'
  | 'capabilities'
  /** Key management: status, rotate, verify, export, import, shred. */
  | 'admin-keys'
  /** Audit-log administration: verify the log, show its verifier key. */
  | 'admin-audit';
