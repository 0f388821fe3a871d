/**
 * Staff identity: accounts, sign-in with a second factor, sessions, and account administration.
 * Transport-free: the HTTP routes (http/auth.ts, http/admin.ts) and the CLI call it with a
 * RequestContext, and it writes every event to the audit log itself, so no path (server or CLI)
 * can sign someone in, or change an account, unrecorded.
 *
 * Sign-in is a small state machine on a server-side session:
 *
 *   password OK ──> 'password' (must choose a new password: accounts an administrator created)
 *               ──> 'enrol'    (no TOTP yet: enrol one, get recovery codes)
 *               ──> 'mfa'      (TOTP code or a recovery code)
 *                      └──> 'active' (a new session secret: the pre-MFA cookie is worthless)
 *
 * Only an 'active' session authenticates requests. Sessions expire after `idleMs` without use
 * and `maxMs` after sign-in, whichever is first; pre-MFA stages after 10 minutes.
 */
import { randomUUID } from 'node:crypto';
import type { RequestContext, StaffRole, UserActor } from '../../fhir/context.js';
import { STAFF_ROLES } from '../../fhir/context.js';
import type { AccessPolicy, AuditSink } from '../../fhir/guard.js';
import { FhirError, issue } from '../../fhir/outcome.js';
import type { Db, Queryable } from '../../store/db.js';
import { dummyHash, hashPassword, needsRehash, passwordProblems, verifyPassword } from './password.js';
import { addressKey, DEFAULT_THROTTLE, Throttle, type ThrottleKey, type ThrottlePolicy } from './throttle.js';
import { csrfTokenFor, newInitialPassword, newRecoveryCodes, newToken, recoveryCodeHash, tokenHash } from './tokens.js';
import { base32Decode, base32Encode, newTotpSecret, otpauthUri, verifyTotp } from './totp.js';
import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';

declare const userIdBrand: unique symbol;
export type UserId = string & { readonly [userIdBrand]: 'UserId' };

export type AccountStatus = 'active' | 'disabled' | 'locked';
export type SessionStage = 'password' | 'enrol' | 'mfa' | 'active';

export interface StaffAccount {
  readonly id: UserId;
  readonly username: string;
  readonly displayName: string;
  readonly roles: readonly StaffRole[];
  readonly departments: readonly string[];
  readonly practitionerId: string | null;
  readonly practitionerRoleIds: readonly string[];
  readonly status: AccountStatus;
  readonly passwordMustChange: boolean;
  readonly totpEnrolled: boolean;
  readonly recoveryCodesLeft: number;
  /** WebAuthn credentials (passkeys, security keys) registered as a second factor. */
  readonly webauthnCredentials: number;
  readonly createdAt: string;
  readonly createdBy: string;
}

export interface NewAccount {
  readonly username: string;
  readonly displayName: string;
  readonly roles: readonly string[];
  readonly departments?: readonly string[];
  readonly practitionerId?: string | null;
  readonly practitionerRoleIds?: readonly string[];
}

/** Seals per-account secrets (the TOTP secret, the display name) with the hospital's data key. */
export interface SecretSealer {
  seal(userId: string, field: string, value: string): Uint8Array;
  open(userId: string, field: string, sealed: Uint8Array): string;
}

export interface IdentityOptions {
  readonly db: Db;
  readonly tenantId: string;
  readonly sealer: SecretSealer;
  readonly audit: AuditSink;
  readonly policy: AccessPolicy;
  /** Keyed hash for throttle keys of usernames (so tried usernames are not stored). */
  readonly keyed?: (value: string) => string;
  readonly throttle?: Partial<ThrottlePolicy>;
  /** Session idle timeout (default 30 minutes) and absolute lifetime (default 12 hours: NIST SP 800-63B AAL2). */
  readonly idleMs?: number;
  readonly maxMs?: number;
  /** The issuer shown in authenticator apps. */
  readonly issuer?: string;
  readonly setupTokenMs?: number;
  readonly now?: () => Date;
}

/** Sign-in failed. `message` is the same for every reason (no enumeration); `rule` is for the audit only. */
export class IdentityError extends FhirError {
  constructor(
    status: number,
    message: string,
    readonly rule: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(
      status,
      [
        issue(
          status === 403 ? 'forbidden' : status === 429 ? 'throttled' : status === 401 ? 'login' : status === 409 ? 'conflict' : 'invalid',
          message,
        ),
      ],
      'invalid',
      retryAfterSeconds ? { 'Retry-After': String(retryAfterSeconds) } : {},
    );
  }
}

export const SIGN_IN_FAILED = 'sign-in failed: the username or password is wrong, or this account cannot sign in now';
export const SIGN_IN_THROTTLED = 'too many failed sign-ins: wait before trying again';
const MFA_FAILED = 'the code is wrong or was already used';
const SESSION_GONE = 'the session has expired or was ended; sign in again';

/** The WebAuthn relying party: the origin staff sign in at and its host name (the RP ID). */
export interface RelyingParty {
  readonly id: string;
  readonly origin: string;
}

export interface SessionView {
  readonly id: string;
  readonly stage: SessionStage;
  readonly expiresAt: Date;
  readonly account: StaffAccount;
  /** Present for an active session. */
  readonly actor: UserActor | null;
  readonly csrfToken: string;
}

export interface SignInStep {
  /** The session cookie's secret (set it; it changes when the stage reaches 'active'). */
  readonly sessionToken: string;
  readonly session: SessionView;
}

interface UserRow {
  id: string;
  username: string;
  display_name: Uint8Array;
  roles: string[];
  departments: string[];
  practitioner_id: string | null;
  practitioner_role_ids: string[];
  status: AccountStatus;
  password_hash: string;
  password_must_change: boolean;
  totp_secret: Uint8Array | null;
  totp_confirmed_at: Date | null;
  totp_last_step: string | null;
  created_at: Date;
  created_by: string;
  recovery_left: string | number;
  webauthn_count: string | number;
}

interface SessionRow {
  id: string;
  user_id: string;
  stage: SessionStage;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  mfa_failures: number;
}

const USER_COLS = `u.id, u.username, u.display_name, u.roles, u.departments, u.practitioner_id, u.practitioner_role_ids, u.status,
  u.password_hash, u.password_must_change, u.totp_secret, u.totp_confirmed_at, u.totp_last_step::text AS totp_last_step, u.created_at, u.created_by,
  (SELECT count(*) FROM staff_recovery_code r WHERE r.tenant_id = u.tenant_id AND r.user_id = u.id AND r.used_at IS NULL) AS recovery_left,
  (SELECT count(*) FROM staff_webauthn w WHERE w.tenant_id = u.tenant_id AND w.user_id = u.id) AS webauthn_count`;

const USERNAME = /^[a-z0-9][a-z0-9._-]{1,62}$/;
const PRE_MFA_MS = 10 * 60_000;
const MFA_ATTEMPTS_PER_SESSION = 5;
const TOUCH_EVERY_MS = 60_000;

export function normaliseUsername(u: string): string {
  return u.normalize('NFKC').trim().toLowerCase();
}

export function isStaffRole(r: string): r is StaffRole {
  return (STAFF_ROLES as readonly string[]).includes(r);
}

export class IdentityService {
  readonly #o: IdentityOptions;
  readonly #db: Db;
  readonly #tenant: string;
  readonly #throttle: Throttle;
  readonly #now: () => Date;
  readonly idleMs: number;
  readonly maxMs: number;

  constructor(o: IdentityOptions) {
    this.#o = o;
    this.#db = o.db;
    this.#tenant = o.tenantId;
    this.#now = o.now ?? (() => new Date());
    this.#throttle = new Throttle(o.db, o.tenantId, { ...DEFAULT_THROTTLE, ...o.throttle }, this.#now);
    this.idleMs = o.idleMs ?? 30 * 60_000;
    this.maxMs = o.maxMs ?? 12 * 3600_000;
  }

  /** The sign-in throttle, shared with the OAuth token endpoint. */
  get throttle(): Throttle {
    return this.#throttle;
  }

  // ---------------------------------------------------------------- first administrator

  async accountCount(): Promise<number> {
    const r = await this.#db.query<{ n: string }>('SELECT count(*) AS n FROM staff_user WHERE tenant_id = $1', [this.#tenant]);
    return Number(r.rows[0]?.n ?? 0);
  }

  /**
   * When the hospital has no accounts: a new one-time setup token (replacing any earlier one),
   * valid for 24 hours; only its hash is stored. Otherwise null: there is nothing to set up.
   */
  async issueSetupToken(): Promise<string | null> {
    if ((await this.accountCount()) > 0) return null;
    const token = newToken();
    const now = this.#now();
    await this.#db.query(
      `INSERT INTO identity_setup (tenant_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id) DO UPDATE SET token_hash = $2, created_at = $3, expires_at = $4, used_at = NULL`,
      [this.#tenant, tokenHash(token), now, new Date(now.getTime() + (this.#o.setupTokenMs ?? 24 * 3600_000))],
    );
    return token;
  }

  /** Creates the first hospital administrator with the setup token; works once. */
  async setup(
    ctx: RequestContext,
    input: { token: string; username: string; displayName: string; password: string },
  ): Promise<StaffAccount> {
    const audit = (status: number, rule: string, id?: string, err?: FhirError) =>
      this.#o.audit.append({
        ctx,
        interaction: 'auth-setup',
        resourceType: 'User',
        ...(id ? { id } : {}),
        outcome: { status, rule, ...(err ? { error: err } : {}) },
      });
    try {
      const account = await this.#db.transaction(async (tx) => {
        const row = await tx.query<{ token_hash: Uint8Array; expires_at: Date; used_at: Date | null }>(
          'SELECT token_hash, expires_at, used_at FROM identity_setup WHERE tenant_id = $1 FOR UPDATE',
          [this.#tenant],
        );
        const s = row.rows[0];
        const given = tokenHash(String(input.token ?? ''));
        if (!s || s.used_at || s.expires_at <= this.#now() || !Buffer.from(s.token_hash).equals(given)) {
          throw new IdentityError(
            403,
            'the setup token is wrong, expired or already used; restart the server for a new one',
            'setup-token-refused',
          );
        }
        const n = await tx.query<{ n: string }>('SELECT count(*) AS n FROM staff_user WHERE tenant_id = $1', [this.#tenant]);
        if (Number(n.rows[0]?.n ?? 0) > 0) throw new IdentityError(403, 'the hospital already has accounts', 'setup-done');
        const created = await this.#insertAccount(
          tx,
          { username: input.username, displayName: input.displayName, roles: ['hospital-admin'] },
          input.password,
          false,
          'setup-token',
        );
        await tx.query('UPDATE identity_setup SET used_at = $2 WHERE tenant_id = $1', [this.#tenant, this.#now()]);
        return created;
      });
      await audit(201, 'setup-token', account.id);
      return account;
    } catch (err) {
      if (err instanceof FhirError) await audit(err.status, err instanceof IdentityError ? err.rule : 'invalid', undefined, err);
      throw err;
    }
  }

  // ---------------------------------------------------------------- accounts

  async #insertAccount(tx: Queryable, a: NewAccount, password: string, mustChange: boolean, createdBy: string): Promise<StaffAccount> {
    const username = normaliseUsername(a.username ?? '');
    if (!USERNAME.test(username)) {
      throw new IdentityError(
        400,
        'username: 2 to 63 characters, lower-case letters, digits, ".", "_" and "-", starting with a letter or digit',
        'invalid',
      );
    }
    const displayName = String(a.displayName ?? '').trim();
    if (displayName.length === 0 || displayName.length > 200) throw new IdentityError(400, 'displayName: 1 to 200 characters', 'invalid');
    const roles = [...new Set(a.roles ?? [])];
    const bad = roles.filter((r) => !isStaffRole(r));
    if (roles.length === 0 || bad.length > 0) {
      throw new IdentityError(
        400,
        `roles: one or more of ${STAFF_ROLES.join(', ')}${bad.length ? `; unknown: ${bad.join(', ')}` : ''}`,
        'invalid',
      );
    }
    const problems = passwordProblems(password, { username, displayName, extraWords: [this.#tenant] });
    if (problems.length > 0) throw new IdentityError(400, `password: ${problems.join('; ')}`, 'weak-password');
    const exists = await tx.query('SELECT 1 FROM staff_user WHERE tenant_id = $1 AND username = $2', [this.#tenant, username]);
    if (exists.rows.length > 0) throw new IdentityError(409, `an account named '${username}' already exists`, 'duplicate');
    const id = randomUUID() as UserId;
    const now = this.#now();
    await tx.query(
      `INSERT INTO staff_user (tenant_id, id, username, display_name, roles, departments, practitioner_id, practitioner_role_ids,
         status, password_hash, password_must_change, password_changed_at, created_at, created_by, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $10, $11, $11, $12, $11)`,
      [
        this.#tenant,
        id,
        username,
        this.#o.sealer.seal(id, 'displayName', displayName),
        roles,
        [...(a.departments ?? [])],
        a.practitionerId ?? null,
        [...(a.practitionerRoleIds ?? [])],
        await hashPassword(password),
        mustChange,
        now,
        createdBy,
      ],
    );
    return this.#accountIn(tx, id) as Promise<StaffAccount>;
  }

  async #rowIn(q: Queryable, where: string, param: string): Promise<UserRow | undefined> {
    const r = await q.query<UserRow>(`SELECT ${USER_COLS} FROM staff_user u WHERE u.tenant_id = $1 AND ${where}`, [this.#tenant, param]);
    return r.rows[0];
  }

  #account(row: UserRow): StaffAccount {
    return {
      id: row.id as UserId,
      username: row.username,
      displayName: this.#o.sealer.open(row.id, 'displayName', row.display_name),
      roles: row.roles.filter(isStaffRole),
      departments: row.departments,
      practitionerId: row.practitioner_id,
      practitionerRoleIds: row.practitioner_role_ids,
      status: row.status,
      passwordMustChange: row.password_must_change,
      totpEnrolled: row.totp_confirmed_at !== null,
      recoveryCodesLeft: Number(row.recovery_left),
      webauthnCredentials: Number(row.webauthn_count),
      createdAt: row.created_at.toISOString(),
      createdBy: row.created_by,
    };
  }

  async #accountIn(q: Queryable, id: string): Promise<StaffAccount | undefined> {
    const row = await this.#rowIn(q, 'u.id = $2', id);
    return row ? this.#account(row) : undefined;
  }

  async account(id: string): Promise<StaffAccount | undefined> {
    return this.#accountIn(this.#db, id);
  }

  async accountByUsername(username: string): Promise<StaffAccount | undefined> {
    const row = await this.#rowIn(this.#db, 'u.username = $2', normaliseUsername(username));
    return row ? this.#account(row) : undefined;
  }

  // ---------------------------------------------------------------- administration (one door)

  /**
   * Account administration: authorize (interaction 'admin-users') -> operate -> audit, for the
   * HTTP admin API and the CLI alike. `target` is the account acted on.
   */
  async #admin<T>(ctx: RequestContext, action: string, target: string | undefined, op: () => Promise<T>): Promise<T> {
    return this.administer(ctx, action, 'User', target, op);
  }

  /** Authorize ('admin-users' on `resourceType`) -> operate -> audit; also for integration clients. */
  async administer<T>(
    ctx: RequestContext,
    action: string,
    resourceType: string,
    target: string | undefined,
    op: () => Promise<T>,
  ): Promise<T> {
    let rule: string | undefined;
    try {
      const d = await this.#o.policy.decide(ctx, { interaction: 'admin-users', resourceType, ...(target ? { id: target } : {}) });
      rule = d.rule;
      if (!d.allowed) throw new IdentityError(403, `access denied by rule '${d.rule}': ${d.reason}`, d.rule);
      if (target && ctx.actor.kind === 'user' && ctx.actor.id === target && action !== 'list') {
        rule = 'not-on-own-account';
        throw new IdentityError(403, 'nobody changes their own account through administration (separation of duties)', rule);
      }
      const out = await op();
      await this.#o.audit.append({
        ctx,
        interaction: 'admin-users',
        resourceType,
        ...(target ? { id: target } : {}),
        query: action,
        outcome: { status: 200, rule },
      });
      return out;
    } catch (err) {
      const fe = err instanceof FhirError ? err : undefined;
      await this.#o.audit.append({
        ctx,
        interaction: 'admin-users',
        resourceType,
        ...(target ? { id: target } : {}),
        query: action,
        outcome: { status: fe?.status ?? 500, ...(rule ? { rule } : {}), ...(fe ? { error: fe } : {}) },
      });
      throw err;
    }
  }

  async #target(idOrUsername: string): Promise<StaffAccount> {
    const a = (await this.account(idOrUsername)) ?? (await this.accountByUsername(idOrUsername));
    if (!a) throw new IdentityError(404, `no account '${idOrUsername}'`, 'not-found');
    return a;
  }

  /**
   * Creates an account with a random initial password, returned once; the person must choose their
   * own password and enrol TOTP at first sign-in. There is never a default password.
   */
  async createAccount(ctx: RequestContext, input: NewAccount): Promise<{ account: StaffAccount; initialPassword: string }> {
    const initialPassword = newInitialPassword();
    const account = await this.#admin(ctx, 'create', undefined, () =>
      this.#db.transaction((tx) => this.#insertAccount(tx, input, initialPassword, true, actorName(ctx))),
    );
    return { account, initialPassword };
  }

  listAccounts(ctx: RequestContext): Promise<StaffAccount[]> {
    return this.#admin(ctx, 'list', undefined, async () => {
      const r = await this.#db.query<UserRow>(`SELECT ${USER_COLS} FROM staff_user u WHERE u.tenant_id = $1 ORDER BY u.username`, [
        this.#tenant,
      ]);
      return r.rows.map((row) => this.#account(row));
    });
  }

  async setStatus(ctx: RequestContext, idOrUsername: string, status: AccountStatus): Promise<StaffAccount> {
    const a = await this.#target(idOrUsername);
    return this.#admin(ctx, status === 'active' ? 'enable' : status === 'locked' ? 'lock' : 'disable', a.id, async () => {
      await this.#db.transaction(async (tx) => {
        await tx.query('UPDATE staff_user SET status = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2', [
          this.#tenant,
          a.id,
          status,
          this.#now(),
        ]);
        if (status !== 'active') await this.#revokeAll(tx, a.id, `account ${status}`);
      });
      return (await this.account(a.id)) as StaffAccount;
    });
  }

  /**
   * Replaces an account's roles (and optionally departments). Nobody changes their own: an
   * attempt is refused with 403 and recorded (rule 'not-on-own-account'), for the security officer.
   */
  async setRoles(
    ctx: RequestContext,
    idOrUsername: string,
    roles: readonly string[],
    departments?: readonly string[],
  ): Promise<StaffAccount> {
    const a = await this.#target(idOrUsername);
    return this.#admin(ctx, `set-roles:${[...roles].join(',')}`, a.id, async () => {
      const wanted = [...new Set(roles)];
      const bad = wanted.filter((r) => !isStaffRole(r));
      if (wanted.length === 0 || bad.length > 0) {
        throw new IdentityError(
          400,
          `roles: one or more of ${STAFF_ROLES.join(', ')}${bad.length ? `; unknown: ${bad.join(', ')}` : ''}`,
          'invalid',
        );
      }
      await this.#db.transaction(async (tx) => {
        await tx.query(
          'UPDATE staff_user SET roles = $3, departments = COALESCE($4, departments), updated_at = $5 WHERE tenant_id = $1 AND id = $2',
          [this.#tenant, a.id, wanted, departments ? [...departments] : null, this.#now()],
        );
        // Sessions read the account's roles on every request: the change applies at the next one.
      });
      return (await this.account(a.id)) as StaffAccount;
    });
  }

  /** Removes TOTP, recovery codes and WebAuthn credentials and ends every session: the next sign-in enrols afresh. */
  async resetMfa(ctx: RequestContext, idOrUsername: string): Promise<StaffAccount> {
    const a = await this.#target(idOrUsername);
    return this.#admin(ctx, 'reset-mfa', a.id, async () => {
      await this.#db.transaction(async (tx) => {
        await tx.query(
          'UPDATE staff_user SET totp_secret = NULL, totp_confirmed_at = NULL, totp_last_step = NULL, updated_at = $3 WHERE tenant_id = $1 AND id = $2',
          [this.#tenant, a.id, this.#now()],
        );
        await tx.query('DELETE FROM staff_recovery_code WHERE tenant_id = $1 AND user_id = $2', [this.#tenant, a.id]);
        await tx.query('DELETE FROM staff_webauthn WHERE tenant_id = $1 AND user_id = $2', [this.#tenant, a.id]);
        await this.#revokeAll(tx, a.id, 'MFA reset by an administrator');
      });
      return (await this.account(a.id)) as StaffAccount;
    });
  }

  /** A new random initial password (must be changed at next sign-in); sessions end. */
  async resetPassword(ctx: RequestContext, idOrUsername: string): Promise<{ account: StaffAccount; initialPassword: string }> {
    const a = await this.#target(idOrUsername);
    const initialPassword = newInitialPassword();
    const account = await this.#admin(ctx, 'reset-password', a.id, async () => {
      const hash = await hashPassword(initialPassword);
      await this.#db.transaction(async (tx) => {
        await tx.query(
          'UPDATE staff_user SET password_hash = $3, password_must_change = true, password_changed_at = $4, updated_at = $4 WHERE tenant_id = $1 AND id = $2',
          [this.#tenant, a.id, hash, this.#now()],
        );
        await this.#revokeAll(tx, a.id, 'password reset by an administrator');
      });
      return (await this.account(a.id)) as StaffAccount;
    });
    return { account, initialPassword };
  }

  /** Ends every session of the account and revokes every app grant (refresh and access tokens) it made. */
  async revokeSessions(ctx: RequestContext, idOrUsername: string): Promise<{ revoked: number; appGrants: number }> {
    const a = await this.#target(idOrUsername);
    return this.#admin(ctx, 'revoke-sessions', a.id, async () => {
      const { sessions, grants } = await this.#db.transaction((tx) => this.#revokeAll(tx, a.id, 'revoked by an administrator'));
      return { revoked: sessions, appGrants: grants };
    });
  }

  /**
   * Ends every session of an account and revokes its app grants (grants.ts): their refresh tokens
   * are refused from now on and their access tokens at their next request.
   */
  async #revokeAll(q: Queryable, userId: string, reason: string): Promise<{ sessions: number; grants: number }> {
    const s = await q.query(
      'UPDATE staff_session SET revoked_at = $3, revoked_reason = $4 WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL',
      [this.#tenant, userId, this.#now(), reason],
    );
    const g = await q.query(
      'UPDATE oauth_grant SET revoked_at = $3, revoked_reason = $4 WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL',
      [this.#tenant, userId, this.#now(), reason],
    );
    return { sessions: s.rowCount, grants: g.rowCount };
  }

  // ---------------------------------------------------------------- sign-in

  #usernameKey(username: string): string {
    return `acct:${this.#o.keyed ? this.#o.keyed(username) : username}`;
  }

  async #knownDevice(userId: string, deviceToken: string | undefined): Promise<Buffer | null> {
    if (!deviceToken) return null;
    const h = tokenHash(deviceToken);
    const r = await this.#db.query('SELECT 1 FROM staff_device WHERE tenant_id = $1 AND user_id = $2 AND device_hash = $3', [
      this.#tenant,
      userId,
      h,
    ]);
    return r.rows.length > 0 ? h : null;
  }

  /** The counters a sign-in attempt (or an MFA attempt) by this username from this browser counts against. */
  #keysFor(ctx: RequestContext, username: string, userId: string | undefined, device: Buffer | null): ThrottleKey[] {
    if (userId && device) return [{ kind: 'device', key: `dev:${userId}:${device.toString('hex')}` }];
    return [
      { kind: 'address', key: addressKey(ctx.provenance.clientAddress) },
      { kind: 'account', key: this.#usernameKey(username) },
      { kind: 'global', key: 'global' },
    ];
  }

  async #failed(
    ctx: RequestContext,
    keys: ThrottleKey[],
    userId: string | undefined,
    interaction: 'auth-login' | 'auth-mfa',
    rule: string,
  ) {
    const counts = await this.#throttle.fail(keys);
    const err = new IdentityError(401, interaction === 'auth-login' ? SIGN_IN_FAILED : MFA_FAILED, rule);
    await this.#o.audit.append({
      ctx,
      interaction,
      resourceType: 'User',
      ...(userId ? { id: userId } : {}),
      outcome: { status: 401, rule, error: err },
    });
    for (const c of counts.filter((x) => x.started)) {
      await this.#o.audit.append({
        ctx,
        interaction: 'auth-lockout',
        resourceType: 'User',
        ...(userId && c.kind !== 'address' && c.kind !== 'global' ? { id: userId } : {}),
        query: `counter=${c.kind}&failures=${c.failures}&until=${c.blockedUntil?.toISOString()}`,
        outcome: { status: 429, rule: `throttle-${c.kind}` },
      });
    }
    return err;
  }

  /**
   * Step 1: username and password. Every failure has the same message and status (401), whether
   * the username exists or not, the password is wrong or the account is disabled; an unknown
   * username costs the same argon2id work. Throttled attempts get 429 before any hashing.
   */
  async signIn(ctx: RequestContext, input: { username: string; password: string; deviceToken?: string }): Promise<SignInStep> {
    const username = normaliseUsername(String(input.username ?? ''));
    const password = String(input.password ?? '');
    const row = username ? await this.#rowIn(this.#db, 'u.username = $2', username) : undefined;
    const device = row ? await this.#knownDevice(row.id, input.deviceToken) : null;
    const keys = this.#keysFor(ctx, username, row?.id, device);
    const block = await this.#throttle.blocked(keys);
    if (block) {
      const retry = Math.max(1, Math.ceil((block.until.getTime() - this.#now().getTime()) / 1000));
      const err = new IdentityError(429, SIGN_IN_THROTTLED, `throttle-${block.kind}`, retry);
      await this.#o.audit.append({
        ctx,
        interaction: 'auth-login',
        resourceType: 'User',
        ...(row ? { id: row.id } : {}),
        outcome: { status: 429, rule: err.rule, error: err },
      });
      throw err;
    }
    const ok =
      password.length > 0 && password.length <= 1024 && (await verifyPassword(row ? row.password_hash : await dummyHash(), password));
    if (!row || !ok) throw await this.#failed(ctx, keys, row?.id, 'auth-login', row ? 'bad-password' : 'unknown-user');
    if (row.status !== 'active') {
      const err = new IdentityError(401, SIGN_IN_FAILED, `account-${row.status}`);
      await this.#o.audit.append({
        ctx,
        interaction: 'auth-login',
        resourceType: 'User',
        id: row.id,
        outcome: { status: 401, rule: err.rule, error: err },
      });
      throw err;
    }
    if (needsRehash(row.password_hash)) {
      await this.#db.query('UPDATE staff_user SET password_hash = $3 WHERE tenant_id = $1 AND id = $2', [
        this.#tenant,
        row.id,
        await hashPassword(password),
      ]);
    }
    const stage: SessionStage = row.password_must_change ? 'password' : row.totp_confirmed_at ? 'mfa' : 'enrol';
    const step = await this.#newSession(ctx, row.id, stage, null);
    await this.#o.audit.append({
      ctx,
      interaction: 'auth-login',
      resourceType: 'User',
      id: row.id,
      query: `next=${stage}`,
      outcome: { status: 200, rule: 'password-ok' },
    });
    return step;
  }

  async #newSession(
    ctx: RequestContext,
    userId: string,
    stage: SessionStage,
    replacing: Buffer | null,
    q: Queryable = this.#db,
  ): Promise<SignInStep> {
    const token = newToken();
    const now = this.#now();
    const expires = new Date(now.getTime() + (stage === 'active' ? this.maxMs : PRE_MFA_MS));
    const id = randomUUID();
    if (replacing) {
      await q.query("UPDATE staff_session SET revoked_at = $2, revoked_reason = 'replaced' WHERE token_hash = $1 AND revoked_at IS NULL", [
        replacing,
        now,
      ]);
    }
    await q.query(
      `INSERT INTO staff_session (token_hash, id, tenant_id, user_id, stage, created_at, last_seen_at, expires_at, client_address, user_agent)
       VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9)`,
      [tokenHash(token), id, this.#tenant, userId, stage, now, expires, ctx.provenance.clientAddress, ctx.provenance.userAgent ?? null],
    );
    const view = await this.#view(token, q);
    if (!view) throw new Error('a new session could not be read back');
    return { sessionToken: token, session: view };
  }

  async #view(token: string, q: Queryable = this.#db): Promise<SessionView | null> {
    const r = await q.query<SessionRow & UserRow & { sid: string }>(
      `SELECT s.id AS sid, s.stage, s.created_at AS s_created, s.last_seen_at, s.expires_at, s.revoked_at, s.mfa_failures, ${USER_COLS}
       FROM staff_session s JOIN staff_user u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
       WHERE s.token_hash = $1 AND s.tenant_id = $2`,
      [tokenHash(token), this.#tenant],
    );
    const row = r.rows[0];
    if (!row || row.revoked_at || row.status !== 'active') return null;
    const now = this.#now();
    if (row.expires_at <= now) return null;
    if (row.stage === 'active' && now.getTime() - row.last_seen_at.getTime() > this.idleMs) return null;
    const account = this.#account(row);
    const actor: UserActor | null =
      row.stage === 'active'
        ? {
            kind: 'user',
            id: account.id,
            username: account.username,
            roles: account.roles,
            departments: account.departments,
            practitionerId: account.practitionerId,
            practitionerRoleIds: account.practitionerRoleIds,
            sessionId: row.sid,
          }
        : null;
    return { id: row.sid, stage: row.stage, expiresAt: row.expires_at, account, actor, csrfToken: csrfTokenFor(token) };
  }

  /** The session a cookie names, if it is live (not expired, idle, revoked, nor its account disabled); touches it. */
  async session(token: string | undefined): Promise<SessionView | null> {
    if (!token || token.length > 200) return null;
    const v = await this.#view(token);
    if (v?.stage === 'active') {
      // Idle time is measured from the last request; written at most once a minute per session.
      await this.#db.query('UPDATE staff_session SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $3', [
        tokenHash(token),
        this.#now(),
        new Date(this.#now().getTime() - TOUCH_EVERY_MS),
      ]);
    }
    return v;
  }

  async #stageSession(token: string | undefined, stage: SessionStage): Promise<SessionView> {
    const v = token ? await this.#view(token) : null;
    if (!v) throw new IdentityError(401, SESSION_GONE, 'no-session');
    if (v.stage !== stage) throw new IdentityError(409, `this step is not due: the session is at '${v.stage}'`, 'wrong-stage');
    return v;
  }

  #asUser(ctx: RequestContext, v: SessionView): RequestContext {
    const a = v.account;
    return {
      ...ctx,
      actor: {
        kind: 'user',
        id: a.id,
        username: a.username,
        roles: a.roles,
        departments: a.departments,
        practitionerId: a.practitionerId,
        practitionerRoleIds: a.practitionerRoleIds,
        sessionId: v.id,
      },
    };
  }

  /** Step 'password': an account with an initial password chooses its own. */
  async choosePassword(ctx: RequestContext, token: string | undefined, newPassword: string): Promise<SignInStep> {
    const v = await this.#stageSession(token, 'password');
    const uctx = this.#asUser(ctx, v);
    const a = v.account;
    const problems = passwordProblems(String(newPassword ?? ''), {
      username: a.username,
      displayName: a.displayName,
      extraWords: [this.#tenant],
    });
    const row = await this.#rowIn(this.#db, 'u.id = $2', a.id);
    if (problems.length === 0 && row && (await verifyPassword(row.password_hash, String(newPassword)))) {
      problems.push('the new password must differ from the initial one');
    }
    if (problems.length > 0) {
      const err = new IdentityError(400, `password: ${problems.join('; ')}`, 'weak-password');
      await this.#o.audit.append({
        ctx: uctx,
        interaction: 'auth-password',
        resourceType: 'User',
        id: a.id,
        outcome: { status: 400, rule: err.rule, error: err },
      });
      throw err;
    }
    const hash = await hashPassword(String(newPassword));
    const next: SessionStage = a.totpEnrolled ? 'mfa' : 'enrol';
    const step = await this.#db.transaction(async (tx) => {
      await tx.query(
        'UPDATE staff_user SET password_hash = $3, password_must_change = false, password_changed_at = $4, updated_at = $4 WHERE tenant_id = $1 AND id = $2',
        [this.#tenant, a.id, hash, this.#now()],
      );
      return this.#newSession(ctx, a.id, next, tokenHash(token as string), tx);
    });
    await this.#o.audit.append({
      ctx: uctx,
      interaction: 'auth-password',
      resourceType: 'User',
      id: a.id,
      query: `next=${next}`,
      outcome: { status: 200, rule: 'password-changed' },
    });
    return step;
  }

  /** Step 'enrol', part 1: a new TOTP secret (sealed in the database), shown once as a URI and in base32. */
  async beginTotp(ctx: RequestContext, token: string | undefined): Promise<{ secret: string; uri: string }> {
    const v = await this.#stageSession(token, 'enrol');
    const secret = newTotpSecret();
    const b32 = base32Encode(secret);
    await this.#db.query(
      'UPDATE staff_user SET totp_secret = $3, totp_confirmed_at = NULL, totp_last_step = NULL, updated_at = $4 WHERE tenant_id = $1 AND id = $2 AND totp_confirmed_at IS NULL',
      [this.#tenant, v.account.id, this.#o.sealer.seal(v.account.id, 'totp', b32), this.#now()],
    );
    await this.#o.audit.append({
      ctx: this.#asUser(ctx, v),
      interaction: 'auth-mfa',
      resourceType: 'User',
      id: v.account.id,
      query: 'totp-enrolment-started',
      outcome: { status: 200, rule: 'totp-enrol' },
    });
    return { secret: b32, uri: otpauthUri(secret, this.#o.issuer ?? `Sushruta (${this.#tenant})`, v.account.username) };
  }

  /** Step 'enrol', part 2: the first code confirms the authenticator; recovery codes are returned once. */
  async confirmTotp(ctx: RequestContext, token: string | undefined, code: string): Promise<SignInStep & { recoveryCodes: string[] }> {
    const v = await this.#stageSession(token, 'enrol');
    const row = await this.#rowIn(this.#db, 'u.id = $2', v.account.id);
    if (!row?.totp_secret) throw new IdentityError(409, 'start TOTP enrolment first', 'wrong-stage');
    const secret = base32Decode(this.#o.sealer.open(row.id, 'totp', row.totp_secret));
    const step = verifyTotp(secret, String(code ?? ''), this.#now().getTime() / 1000);
    if (step === null) throw await this.#mfaFailed(ctx, token as string, v, 'totp-enrol-wrong-code');
    const codes = newRecoveryCodes();
    const out = await this.#db.transaction(async (tx) => {
      await tx.query(
        'UPDATE staff_user SET totp_confirmed_at = $3, totp_last_step = $4, updated_at = $3 WHERE tenant_id = $1 AND id = $2',
        [this.#tenant, row.id, this.#now(), step],
      );
      await tx.query('DELETE FROM staff_recovery_code WHERE tenant_id = $1 AND user_id = $2', [this.#tenant, row.id]);
      for (const c of codes) {
        await tx.query('INSERT INTO staff_recovery_code (tenant_id, user_id, code_hash, created_at) VALUES ($1, $2, $3, $4)', [
          this.#tenant,
          row.id,
          recoveryCodeHash(c),
          this.#now(),
        ]);
      }
      return this.#newSession(ctx, row.id, 'active', tokenHash(token as string), tx);
    });
    await this.#o.audit.append({
      ctx: this.#asUser(ctx, out.session),
      interaction: 'auth-mfa',
      resourceType: 'User',
      id: row.id,
      query: 'totp-enrolled',
      outcome: { status: 200, rule: 'totp-enrolled' },
    });
    return { ...out, recoveryCodes: codes };
  }

  async #mfaFailed(ctx: RequestContext, token: string, v: SessionView, rule: string): Promise<IdentityError> {
    const r = await this.#db.query<{ mfa_failures: number }>(
      'UPDATE staff_session SET mfa_failures = mfa_failures + 1 WHERE token_hash = $1 RETURNING mfa_failures',
      [tokenHash(token)],
    );
    if (Number(r.rows[0]?.mfa_failures ?? 0) >= MFA_ATTEMPTS_PER_SESSION) {
      await this.#db.query("UPDATE staff_session SET revoked_at = $2, revoked_reason = 'too many MFA failures' WHERE token_hash = $1", [
        tokenHash(token),
        this.#now(),
      ]);
    }
    // Each wrong code also counts against the account (or this device) like a wrong password.
    return this.#failed(
      this.#asUser(ctx, v),
      this.#keysFor(ctx, v.account.username, undefined, null).filter((k) => k.kind !== 'global'),
      v.account.id,
      'auth-mfa',
      rule,
    );
  }

  /**
   * Step 'mfa': a TOTP code (each step once) or a one-time recovery code. Success replaces the
   * session's secret (no fixation) and makes the browser a known device of the account.
   */
  async verifyMfa(
    ctx: RequestContext,
    token: string | undefined,
    input: { code?: string; recoveryCode?: string; webauthn?: unknown; rp?: RelyingParty; deviceToken?: string },
  ): Promise<SignInStep & { deviceToken: string; recoveryCodesLeft: number }> {
    const v = await this.#stageSession(token, 'mfa');
    const row = await this.#rowIn(this.#db, 'u.id = $2', v.account.id);
    if (!row) throw new IdentityError(401, SESSION_GONE, 'no-session');
    let how: string;
    if (input.webauthn !== undefined) {
      if (!input.rp) throw new Error('a WebAuthn assertion needs the relying party');
      const ok = await this.#webauthnAssertion(token as string, row.id, input.webauthn, input.rp);
      if (!ok) throw await this.#mfaFailed(ctx, token as string, v, 'webauthn-failed');
      how = 'webauthn';
    } else if (input.recoveryCode) {
      const used = await this.#db.query(
        'UPDATE staff_recovery_code SET used_at = $4 WHERE tenant_id = $1 AND user_id = $2 AND code_hash = $3 AND used_at IS NULL',
        [this.#tenant, row.id, recoveryCodeHash(String(input.recoveryCode)), this.#now()],
      );
      if (used.rowCount !== 1) throw await this.#mfaFailed(ctx, token as string, v, 'recovery-code-wrong');
      how = 'recovery-code';
    } else {
      if (!row.totp_secret) throw new IdentityError(409, 'no authenticator is enrolled', 'wrong-stage');
      const secret = base32Decode(this.#o.sealer.open(row.id, 'totp', row.totp_secret));
      const last = row.totp_last_step === null ? null : BigInt(row.totp_last_step);
      const step = verifyTotp(secret, String(input.code ?? ''), this.#now().getTime() / 1000, { afterStep: last });
      if (step === null) throw await this.#mfaFailed(ctx, token as string, v, 'totp-wrong');
      // Compare-and-set: two requests racing with the same code cannot both pass.
      const set = await this.#db.query(
        'UPDATE staff_user SET totp_last_step = $3 WHERE tenant_id = $1 AND id = $2 AND (totp_last_step IS NULL OR totp_last_step < $3)',
        [this.#tenant, row.id, step],
      );
      if (set.rowCount !== 1) throw await this.#mfaFailed(ctx, token as string, v, 'totp-replayed');
      how = 'totp';
    }
    const deviceToken = input.deviceToken && input.deviceToken.length <= 200 ? input.deviceToken : newToken();
    const out = await this.#db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO staff_device (tenant_id, user_id, device_hash, created_at, last_used_at) VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (tenant_id, user_id, device_hash) DO UPDATE SET last_used_at = $4`,
        [this.#tenant, row.id, tokenHash(deviceToken), this.#now()],
      );
      return this.#newSession(ctx, row.id, 'active', tokenHash(token as string), tx);
    });
    await this.#throttle.clear([
      { kind: 'account', key: this.#usernameKey(row.username) },
      { kind: 'device', key: `dev:${row.id}:${tokenHash(deviceToken).toString('hex')}` },
    ]);
    const left = out.session.account.recoveryCodesLeft;
    await this.#o.audit.append({
      ctx: this.#asUser(ctx, out.session),
      interaction: 'auth-mfa',
      resourceType: 'User',
      id: row.id,
      query: how === 'recovery-code' ? `recovery-code-used&left=${left}` : 'totp',
      outcome: { status: 200, rule: `signed-in-${how}` },
    });
    return { ...out, deviceToken, recoveryCodesLeft: left };
  }

  // ---------------------------------------------------------------- WebAuthn (second option)

  async #challenge(token: string, challenge: string | null): Promise<void> {
    await this.#db.query('UPDATE staff_session SET webauthn_challenge = $2 WHERE token_hash = $1', [tokenHash(token), challenge]);
  }

  async #takeChallenge(token: string): Promise<string | null> {
    // One use: the challenge is cleared as it is read, whether the response verifies or not.
    const r = await this.#db.query<{ c: string | null }>(
      `UPDATE staff_session s SET webauthn_challenge = NULL FROM (SELECT webauthn_challenge AS c FROM staff_session WHERE token_hash = $1) old
       WHERE s.token_hash = $1 RETURNING old.c AS c`,
      [tokenHash(token)],
    );
    return r.rows[0]?.c ?? null;
  }

  /** Registration options for a new passkey or security key, for a signed-in (active) session. */
  async webauthnRegistrationOptions(_ctx: RequestContext, token: string | undefined, rp: RelyingParty): Promise<unknown> {
    const v = await this.#stageSession(token, 'active');
    const existing = await this.#db.query<{ credential_id: string; transports: string[] }>(
      'SELECT credential_id, transports FROM staff_webauthn WHERE tenant_id = $1 AND user_id = $2',
      [this.#tenant, v.account.id],
    );
    const options = await generateRegistrationOptions({
      rpName: this.#o.issuer ?? `Sushruta (${this.#tenant})`,
      rpID: rp.id,
      userName: v.account.username,
      userDisplayName: v.account.displayName,
      userID: Buffer.from(v.account.id, 'utf8'),
      attestationType: 'none',
      excludeCredentials: existing.rows.map((c) => ({ id: c.credential_id, transports: c.transports as AuthenticatorTransport[] })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
    await this.#challenge(token as string, options.challenge);
    return options;
  }

  /** Verifies and stores a new credential (WebAuthn registration ceremony). */
  async webauthnRegister(
    ctx: RequestContext,
    token: string | undefined,
    response: unknown,
    rp: RelyingParty,
    name: string,
  ): Promise<{ credentialId: string; name: string }> {
    const v = await this.#stageSession(token, 'active');
    const uctx = this.#asUser(ctx, v);
    const challenge = await this.#takeChallenge(token as string);
    const fail = async (why: string) => {
      const err = new IdentityError(400, `the passkey could not be registered: ${why}`, 'webauthn-register-failed');
      await this.#o.audit.append({
        ctx: uctx,
        interaction: 'auth-mfa',
        resourceType: 'User',
        id: v.account.id,
        outcome: { status: 400, rule: err.rule, error: err },
      });
      return err;
    };
    if (!challenge) throw await fail('ask for registration options first');
    let info: Awaited<ReturnType<typeof verifyRegistrationResponse>>['registrationInfo'];
    try {
      const r = await verifyRegistrationResponse({
        response: response as RegistrationResponseJSON,
        expectedChallenge: challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        requireUserVerification: false,
      });
      info = r.verified ? r.registrationInfo : undefined;
    } catch (err) {
      throw await fail((err as Error).message);
    }
    if (!info) throw await fail('the response did not verify');
    const label = String(name || 'passkey').slice(0, 100);
    await this.#db.query(
      `INSERT INTO staff_webauthn (tenant_id, credential_id, user_id, public_key, counter, transports, name, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        this.#tenant,
        info.credential.id,
        v.account.id,
        info.credential.publicKey,
        info.credential.counter,
        info.credential.transports ?? [],
        label,
        this.#now(),
      ],
    );
    await this.#o.audit.append({
      ctx: uctx,
      interaction: 'auth-mfa',
      resourceType: 'User',
      id: v.account.id,
      query: 'webauthn-registered',
      outcome: { status: 200, rule: 'webauthn-registered' },
    });
    return { credentialId: info.credential.id, name: label };
  }

  /** Authentication options at the 'mfa' stage, for an account with WebAuthn credentials. */
  async webauthnAuthenticationOptions(_ctx: RequestContext, token: string | undefined, rp: RelyingParty): Promise<unknown> {
    const v = await this.#stageSession(token, 'mfa');
    const creds = await this.#db.query<{ credential_id: string; transports: string[] }>(
      'SELECT credential_id, transports FROM staff_webauthn WHERE tenant_id = $1 AND user_id = $2',
      [this.#tenant, v.account.id],
    );
    if (creds.rows.length === 0)
      throw new IdentityError(409, 'this account has no passkey or security key; use the authenticator app', 'wrong-stage');
    const options = await generateAuthenticationOptions({
      rpID: rp.id,
      allowCredentials: creds.rows.map((c) => ({ id: c.credential_id, transports: c.transports as AuthenticatorTransport[] })),
      userVerification: 'preferred',
    });
    await this.#challenge(token as string, options.challenge);
    return options;
  }

  async #webauthnAssertion(token: string, userId: string, response: unknown, rp: RelyingParty): Promise<boolean> {
    const challenge = await this.#takeChallenge(token);
    const id = (response as { id?: unknown } | null)?.id;
    if (!challenge || typeof id !== 'string') return false;
    const r = await this.#db.query<{ public_key: Uint8Array; counter: string; transports: string[] }>(
      'SELECT public_key, counter::text AS counter, transports FROM staff_webauthn WHERE tenant_id = $1 AND user_id = $2 AND credential_id = $3',
      [this.#tenant, userId, id],
    );
    const cred = r.rows[0];
    if (!cred) return false;
    try {
      const out = await verifyAuthenticationResponse({
        response: response as AuthenticationResponseJSON,
        expectedChallenge: challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        credential: {
          id,
          publicKey: new Uint8Array(cred.public_key),
          counter: Number(cred.counter),
          transports: cred.transports as AuthenticatorTransport[],
        },
        requireUserVerification: false,
      });
      if (!out.verified) return false;
      // A counter that does not advance (when the authenticator keeps one) means a cloned key.
      const set = await this.#db.query(
        'UPDATE staff_webauthn SET counter = $4, last_used_at = $5 WHERE tenant_id = $1 AND user_id = $2 AND credential_id = $3 AND (counter = 0 OR counter < $4)',
        [this.#tenant, userId, id, out.authenticationInfo.newCounter, this.#now()],
      );
      return set.rowCount === 1 || (Number(cred.counter) === 0 && out.authenticationInfo.newCounter === 0);
    } catch {
      return false;
    }
  }

  /**
   * Ends this session (logout) or every session of its account (log out everywhere, which also
   * revokes every app grant of the account). An app with online_access loses its refresh tokens
   * when the session that approved it ends either way (grants.ts).
   */
  async signOut(ctx: RequestContext, token: string | undefined, everywhere: boolean): Promise<{ revoked: number; appGrants?: number }> {
    const v = token ? await this.#view(token) : null;
    if (!v) throw new IdentityError(401, SESSION_GONE, 'no-session');
    const all = everywhere ? await this.#db.transaction((tx) => this.#revokeAll(tx, v.account.id, 'logged out everywhere')) : null;
    const revoked = all
      ? all.sessions
      : (
          await this.#db.query(
            "UPDATE staff_session SET revoked_at = $2, revoked_reason = 'logged out' WHERE token_hash = $1 AND revoked_at IS NULL",
            [tokenHash(token as string), this.#now()],
          )
        ).rowCount;
    await this.#o.audit.append({
      ctx: this.#asUser(ctx, v),
      interaction: 'auth-logout',
      resourceType: 'User',
      id: v.account.id,
      query: everywhere ? 'everywhere' : 'this-session',
      outcome: { status: 200, rule: everywhere ? 'logout-everywhere' : 'logout' },
    });
    return all ? { revoked, appGrants: all.grants } : { revoked };
  }
}

function actorName(ctx: RequestContext): string {
  const a = ctx.actor;
  switch (a.kind) {
    case 'user':
      return `user:${a.id}`;
    case 'local-operator':
      return 'local-operator';
    case 'system':
      return `system:${a.job}`;
    case 'client':
      return `client:${a.id}`;
    case 'anonymous':
      return 'anonymous';
  }
}
