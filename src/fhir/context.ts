/**
 * What the operation layer knows about the request it serves. Built by the HTTP edge (or by a
 * CLI command) and passed through every stage, so authorization and audit see the same facts.
 */
import type { TenantId } from './types.js';

/**
 * The staff roles of the hospital (issue 5). The access policy decides what each may do; the
 * identity module (security/identity) assigns them to accounts. Declared here, with the actor,
 * because the operation layer's ports speak of them and `fhir/` may not import `security/`.
 */
export const STAFF_ROLES = [
  'front-desk',
  'nurse',
  'doctor',
  'lab-technician',
  'pharmacist',
  'billing-clerk',
  'ward-manager',
  'hospital-admin',
  'security-officer',
  'auditor',
  'integration',
] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

/** A signed-in member of staff: an account of security/identity with a live, MFA-verified session. */
export interface UserActor {
  readonly kind: 'user';
  /** The account id (stable; usernames can change). */
  readonly id: string;
  readonly username: string;
  readonly roles: readonly StaffRole[];
  /** Department codes the account works in (the policy's care-relationship rules use them). */
  readonly departments: readonly string[];
  /** The Practitioner this account is, and the PractitionerRoles it acts in, when linked. */
  readonly practitionerId: string | null;
  readonly practitionerRoleIds: readonly string[];
  /** The session's public id (never the cookie's secret): audit records name it. For an app's token, its grant id. */
  readonly sessionId: string;
  /**
   * The SMART v2 scopes of an app's access token (OAuth 2.0 authorization code grant) acting for
   * this member of staff; absent for a web session. The policy allows only what both the roles and
   * these scopes allow.
   */
  readonly scopes?: readonly string[];
}

/** An integration (OAuth 2.0 client credentials) calling with a bearer token. */
export interface ClientActor {
  readonly kind: 'client';
  /** The OAuth client id. */
  readonly id: string;
  readonly name: string;
  /** The SMART on FHIR scopes of the token (within those granted to the client). */
  readonly scopes: readonly string[];
  /** The token's id (jti): audit records name it as the session. */
  readonly tokenId: string;
}

/**
 * Who is acting: the operator on the server's own machine (loopback, no proxy), a system job, a
 * signed-in member of staff, an integration client, or nobody yet (only sign-in and the CapabilityStatement are open).
 */
export type Actor =
  | { readonly kind: 'local-operator'; readonly description: string }
  | { readonly kind: 'system'; readonly job: string }
  | UserActor
  | ClientActor
  | { readonly kind: 'anonymous' };

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
  /** A FHIR operation (`$name`); its name travels beside the interaction. */
  | 'operation'
  /** Key management: status, rotate, verify, export, import, shred. */
  | 'admin-keys'
  /** Audit-log administration: verify the log, show its verifier key. */
  | 'admin-audit'
  /** Staff accounts and integration clients: create, list, disable, enable, reset MFA, revoke sessions. */
  | 'admin-users'
  /** Access exceptions: grants to restricted records, and the break-glass report (security officer). */
  | 'admin-access'
  /** Sign-in events (security/identity): recorded in the audit log; never gated by the policy. */
  | 'auth-setup'
  | 'auth-login'
  | 'auth-mfa'
  | 'auth-password'
  | 'auth-lockout'
  | 'auth-logout'
  /** An OAuth 2.0 access token issued (or refused) at the token endpoint. */
  | 'auth-token';
