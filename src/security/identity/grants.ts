/**
 * Apps acting for staff: the OAuth 2.0 authorization code grant with PKCE (RFC 6749 section 4.1,
 * RFC 7636, SMART App Launch 2.0 standalone launch) and rotating refresh tokens.
 *
 * A **grant** is one approval: a signed-in (MFA-verified) member of staff lets one app use some
 * `user/` scopes. It is born with an authorization code and is the family of every token issued
 * under it:
 *
 * - the **code**: 256 random bits, stored as SHA-256, single use, 60 seconds, bound to the client,
 *   the redirect URI and the PKCE challenge. Any failed exchange spends it; a code presented a
 *   second time revokes the grant and so every token issued from it (RFC 6749 section 4.1.2).
 * - **refresh tokens** (only with `offline_access` or `online_access`): 256 random bits, stored as
 *   SHA-256, one row per token of the family. Each use returns a new one and spends the old; a
 *   spent one presented again means two parties hold the family (the app and a thief), so the
 *   whole grant is revoked and an `auth-token` record with rule `refresh-token-reuse` is written
 *   (OAuth 2.0 Security BCP, RFC 9700 section 4.14.2). An offline grant ends `offlineMs` after
 *   approval, an online one with the sign-in session that approved it (logout, revoke, its limit).
 * - **access tokens** (access-token.ts) carry the grant id; every request checks that the grant is
 *   not revoked, the account active and the client active, so a revoked grant's access tokens stop
 *   at once, not when they expire. They authenticate as the member of staff (`UserActor`) with
 *   `scopes`: the access policy allows only what both the person's roles and the scopes allow.
 *
 * A grant also ends when its account is disabled, logs out everywhere, or an administrator
 * revokes its sessions or resets its password or MFA (service.ts revokes the account's grants
 * with its sessions).
 */
import { randomUUID } from 'node:crypto';
import type { ClientActor, RequestContext, UserActor } from '../../fhir/context.js';
import type { Db, Queryable } from '../../store/db.js';
import type { Verified } from './access-token.js';
import { type AuthorizationCheck, type AuthorizationRequest, checkAuthorizationRequest, withQuery } from './authorization-request.js';
import type { AuthenticatedClient, ClientService, TokenResponse } from './clients.js';
import { OAuthError } from './oauth-error.js';
import { verifierMatches, verifierProblem } from './pkce.js';
import { intersectScopes, OFFLINE_ACCESS, ONLINE_ACCESS, uncoveredScopes } from './scopes.js';
import { isStaffRole } from './service.js';
import { newToken, tokenHash } from './tokens.js';

/** How long an authorization code lives (RFC 6749 section 4.1.2 recommends at most 10 minutes). */
export const CODE_SECONDS = 60;
/** Refresh-token rows of grants that ended this long ago are deleted (reuse of them is then merely unknown). */
const KEEP_ENDED_MS = 30 * 86_400_000;

export interface GrantServiceOptions {
  readonly db: Db;
  readonly tenantId: string;
  /** Client lookups and authentication, access tokens, and the `auth-token` audit records. */
  readonly clients: ClientService;
  /** How long an `offline_access` grant (its refresh tokens) lasts after approval. */
  readonly offlineMs: number;
  readonly now?: () => Date;
}

/** The signed-in session approving an app. */
export interface ApprovingSession {
  readonly id: string;
  readonly actor: UserActor;
  readonly expiresAt: Date;
}

type Access = 'none' | 'online' | 'offline';

interface GrantRow {
  id: string;
  client_id: string;
  user_id: string;
  scopes: string[];
  redirect_uri: string;
  code_challenge: string;
  code_expires_at: Date;
  access: Access;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: string | null;
}

/** A grant with what a request or a refresh needs to know about its account, client and session. */
interface LiveRow extends GrantRow {
  username: string;
  roles: string[];
  departments: string[];
  practitioner_id: string | null;
  practitioner_role_ids: string[];
  user_status: string;
  client_status: string;
  client_scopes: string[];
  session_revoked_at: Date | null;
  session_expires_at: Date | null;
}

/** The grant with its account, client and approving session; `extra` adds columns. */
const liveSelect = (
  extra = '',
) => `SELECT g.id, g.client_id, g.user_id, g.scopes, g.redirect_uri, g.code_challenge, g.code_expires_at, g.access,
    g.expires_at, g.revoked_at, g.revoked_reason,
    u.username, u.roles, u.departments, u.practitioner_id, u.practitioner_role_ids, u.status AS user_status,
    c.status AS client_status, c.scopes AS client_scopes,
    s.revoked_at AS session_revoked_at, s.expires_at AS session_expires_at${extra}
  FROM oauth_grant g
  JOIN staff_user u ON u.tenant_id = g.tenant_id AND u.id = g.user_id
  JOIN oauth_client c ON c.tenant_id = g.tenant_id AND c.client_id = g.client_id
  LEFT JOIN staff_session s ON s.tenant_id = g.tenant_id AND s.id = g.session_id`;

export class GrantService {
  readonly #o: GrantServiceOptions;
  readonly #db: Db;
  readonly #tenant: string;
  readonly #now: () => Date;
  readonly #clients: ClientService;

  constructor(o: GrantServiceOptions) {
    this.#o = o;
    this.#db = o.db;
    this.#tenant = o.tenantId;
    this.#now = o.now ?? (() => new Date());
    this.#clients = o.clients;
  }

  get issuer(): string {
    return this.#clients.issuer;
  }

  // ---------------------------------------------------------------- authorization endpoint

  /** Checks an authorization request (authorization-request.ts); failures are audited. */
  async checkAuthorization(ctx: RequestContext, params: URLSearchParams): Promise<AuthorizationCheck> {
    const check = await checkAuthorizationRequest(params, { fhirBase: ctx.baseUrl, app: (id) => this.#clients.activeApp(id) });
    if (check.kind !== 'ok') {
      const redirectUri = params.get('redirect_uri');
      await this.#clients.audit(
        ctx,
        check.kind === 'invalid' ? check.clientId : check.client.clientId,
        400,
        check.rule,
        [redirectUri ? `redirect_uri=${redirectUri.slice(0, 500)}` : '', `error=${check.error.error}`].filter(Boolean).join('&'),
      );
    }
    return check;
  }

  /** Where the browser goes with an authorization error (RFC 6749 section 4.1.2.1; `iss`: RFC 9207). */
  errorRedirect(redirectUri: string, state: string | null, error: OAuthError): string {
    return withQuery(redirectUri, {
      error: error.error,
      error_description: error.description,
      ...(state !== null ? { state } : {}),
      iss: this.issuer,
    });
  }

  /**
   * The member of staff approves: a grant is created with a fresh authorization code, and the
   * browser is sent to the app with it. Returns the redirect URL.
   */
  async approve(ctx: RequestContext, session: ApprovingSession, req: AuthorizationRequest): Promise<string> {
    const code = newToken();
    const id = `g-${randomUUID()}`;
    const now = this.#now();
    const access: Access = req.scopes.includes(OFFLINE_ACCESS) ? 'offline' : req.scopes.includes(ONLINE_ACCESS) ? 'online' : 'none';
    const expires =
      access === 'offline'
        ? new Date(now.getTime() + this.#o.offlineMs)
        : access === 'online'
          ? session.expiresAt
          : new Date(now.getTime() + (CODE_SECONDS + this.#clients.tokens.seconds) * 1000);
    await this.#db.query(
      `INSERT INTO oauth_grant (tenant_id, id, client_id, user_id, scopes, redirect_uri, code_hash, code_challenge, code_expires_at,
         session_id, access, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [
        this.#tenant,
        id,
        req.client.clientId,
        session.actor.id,
        [...req.scopes],
        req.redirectUri,
        tokenHash(code),
        req.codeChallenge,
        new Date(now.getTime() + CODE_SECONDS * 1000),
        session.id,
        access,
        now,
        expires,
      ],
    );
    await this.#prune(now);
    await this.#clients.audit(
      ctx,
      req.client.clientId,
      200,
      'authorize-approved',
      `grant=${id}&scope=${req.scopes.join(' ')}&redirect_uri=${req.redirectUri}`,
    );
    return withQuery(req.redirectUri, { code, state: req.state, iss: this.issuer });
  }

  /** The member of staff refuses: the app hears `access_denied`. Returns the redirect URL. */
  async deny(ctx: RequestContext, req: AuthorizationRequest): Promise<string> {
    await this.#clients.audit(ctx, req.client.clientId, 403, 'authorize-denied', `scope=${req.requested.join(' ')}`);
    return this.errorRedirect(req.redirectUri, req.state, new OAuthError(403, 'access_denied', 'the user did not allow this app'));
  }

  /** Deletes the refresh-token rows of grants that ended long ago (a grant's own row stays: audit records name it). */
  async #prune(now: Date): Promise<void> {
    await this.#db.query(
      `DELETE FROM oauth_refresh r USING oauth_grant g
       WHERE r.tenant_id = $1 AND g.tenant_id = r.tenant_id AND g.id = r.grant_id AND (g.expires_at < $2 OR g.revoked_at < $2)`,
      [this.#tenant, new Date(now.getTime() - KEEP_ENDED_MS)],
    );
  }

  // ---------------------------------------------------------------- token endpoint

  async #app(ctx: RequestContext, creds: { clientId: string; clientSecret?: string }, grantType: string): Promise<AuthenticatedClient> {
    const client = await this.#clients.authenticate(ctx, creds);
    if (client.redirectUris.length === 0) {
      await this.#clients.audit(ctx, client.clientId, 400, 'unauthorized-client', `grant_type=${grantType}`);
      throw new OAuthError(
        400,
        'unauthorized_client',
        `this client is an integration (client credentials); grant_type ${grantType} is for apps registered with redirect URIs`,
      );
    }
    return client;
  }

  async #live(q: Queryable, grantId: string): Promise<LiveRow | undefined> {
    const r = await q.query<LiveRow>(`${liveSelect()} WHERE g.tenant_id = $1 AND g.id = $2`, [this.#tenant, grantId]);
    return r.rows[0];
  }

  /** Revokes a grant: its refresh tokens and access tokens stop working. */
  async #revoke(q: Queryable, grantId: string, reason: string): Promise<boolean> {
    const r = await q.query(
      'UPDATE oauth_grant SET revoked_at = $3, revoked_reason = $4 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL',
      [this.#tenant, grantId, this.#now(), reason],
    );
    return r.rowCount === 1;
  }

  #actor(g: LiveRow, scopes: readonly string[]): UserActor {
    return {
      kind: 'user',
      id: g.user_id,
      username: g.username,
      roles: g.roles.filter(isStaffRole),
      departments: g.departments,
      practitionerId: g.practitioner_id,
      practitionerRoleIds: g.practitioner_role_ids,
      sessionId: g.id,
      scopes,
    };
  }

  /** Why a grant cannot issue tokens now, or null. */
  #deadReason(g: LiveRow): { rule: string; description: string } | null {
    const now = this.#now();
    if (g.revoked_at)
      return { rule: 'grant-revoked', description: `this grant was revoked (${g.revoked_reason ?? 'revoked'}); sign in to the app again` };
    if (g.user_status !== 'active') return { rule: 'user-inactive', description: 'the account this app acts for is disabled or locked' };
    if (g.client_status !== 'active') return { rule: 'client-disabled', description: 'this app is disabled' };
    if (g.expires_at <= now) return { rule: 'grant-expired', description: 'this grant has expired; sign in to the app again' };
    if (g.access === 'online' && (!g.session_expires_at || g.session_revoked_at || g.session_expires_at <= now)) {
      return {
        rule: 'session-ended',
        description: 'online_access: the sign-in session that approved this app has ended; sign in to the app again',
      };
    }
    return null;
  }

  async #issue(
    ctx: RequestContext,
    g: LiveRow,
    scopes: readonly string[],
    refreshToken: string | null,
    rule: string,
    query: string,
  ): Promise<TokenResponse> {
    const jti = randomUUID();
    const scope = scopes.join(' ');
    const access_token = await this.#clients.tokens.sign({ sub: g.user_id, client_id: g.client_id, scope, jti, grant_id: g.id });
    await this.#clients.touched(g.client_id);
    await this.#clients.audit({ ...ctx, actor: this.#actor(g, scopes) }, g.client_id, 200, rule, `${query}&grant=${g.id}&scope=${scope}`);
    return {
      access_token,
      token_type: 'Bearer',
      expires_in: this.#clients.tokens.seconds,
      scope,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
    };
  }

  async #newRefresh(q: Queryable, grantId: string, generation: number): Promise<string> {
    const token = newToken();
    await q.query('INSERT INTO oauth_refresh (tenant_id, token_hash, grant_id, generation, issued_at) VALUES ($1, $2, $3, $4, $5)', [
      this.#tenant,
      tokenHash(token),
      grantId,
      generation,
      this.#now(),
    ]);
    return token;
  }

  /** grant_type=authorization_code: the code, its redirect URI and the PKCE verifier, for tokens. */
  async exchangeCode(
    ctx: RequestContext,
    input: { clientId: string; clientSecret?: string; code: string | null; redirectUri: string | null; codeVerifier: string | null },
  ): Promise<TokenResponse> {
    const client = await this.#app(ctx, input, 'authorization_code');
    const refuse = async (
      status: number,
      error: 'invalid_request' | 'invalid_grant',
      rule: string,
      description: string,
      grant?: string,
    ) => {
      await this.#clients.audit(ctx, client.clientId, status, rule, `grant_type=authorization_code${grant ? `&grant=${grant}` : ''}`);
      return new OAuthError(status, error, description);
    };
    if (!input.code) throw await refuse(400, 'invalid_request', 'invalid-request', 'code is required');
    if (!input.redirectUri)
      throw await refuse(400, 'invalid_request', 'invalid-request', 'redirect_uri is required: the one of the authorization request');
    const vp = verifierProblem(input.codeVerifier);
    if (vp) throw await refuse(400, 'invalid_request', 'pkce-missing', vp);
    const hash = tokenHash(input.code);
    // Spend the code first (compare-and-set): whatever follows, it never works again.
    const spent = await this.#db.query<{ id: string }>(
      'UPDATE oauth_grant SET code_used_at = $3 WHERE tenant_id = $1 AND code_hash = $2 AND code_used_at IS NULL RETURNING id',
      [this.#tenant, hash, this.#now()],
    );
    const grantId = spent.rows[0]?.id;
    if (!grantId) {
      const old = await this.#db.query<{ id: string; client_id: string }>(
        'SELECT id, client_id FROM oauth_grant WHERE tenant_id = $1 AND code_hash = $2',
        [this.#tenant, hash],
      );
      const reused = old.rows[0];
      if (!reused) throw await refuse(400, 'invalid_grant', 'code-unknown', 'the authorization code is not valid');
      const revoked = await this.#revoke(this.#db, reused.id, 'authorization code used twice');
      throw await refuse(
        400,
        'invalid_grant',
        'code-reuse',
        `the authorization code was already used; ${revoked ? 'every token issued from it is now revoked' : 'its grant is revoked'} (RFC 6749 section 4.1.2)`,
        reused.id,
      );
    }
    const g = (await this.#live(this.#db, grantId)) as LiveRow;
    const fail = async (rule: string, description: string) => {
      await this.#revoke(this.#db, g.id, `authorization code refused: ${rule}`);
      return refuse(400, 'invalid_grant', rule, description, g.id);
    };
    if (g.client_id !== client.clientId) throw await fail('code-wrong-client', 'the authorization code was issued to another client');
    if (g.code_expires_at <= this.#now())
      throw await fail('code-expired', `the authorization code has expired (codes live ${CODE_SECONDS} seconds); authorize again`);
    if (g.redirect_uri !== input.redirectUri)
      throw await fail('redirect-uri-mismatch', "redirect_uri differs from the authorization request's");
    if (!verifierMatches(input.codeVerifier as string, g.code_challenge))
      throw await fail('pkce-failed', 'code_verifier does not match the code_challenge of the authorization request (PKCE S256)');
    const dead = this.#deadReason(g);
    if (dead) throw await fail(dead.rule, dead.description);
    const refresh = g.access === 'none' ? null : await this.#newRefresh(this.#db, g.id, 1);
    return this.#issue(ctx, g, g.scopes, refresh, 'token-issued', 'grant_type=authorization_code');
  }

  /**
   * grant_type=refresh_token: a new access token and a new refresh token; the one presented is
   * spent. A spent one presented again revokes the whole grant (reuse detection).
   */
  async refresh(
    ctx: RequestContext,
    input: { clientId: string; clientSecret?: string; refreshToken: string | null; scope: string | null },
  ): Promise<TokenResponse> {
    const client = await this.#app(ctx, input, 'refresh_token');
    const refuse = async (
      error: 'invalid_request' | 'invalid_grant' | 'invalid_scope',
      rule: string,
      description: string,
      grant?: string,
    ) => {
      await this.#clients.audit(ctx, client.clientId, 400, rule, `grant_type=refresh_token${grant ? `&grant=${grant}` : ''}`);
      return new OAuthError(400, error, description);
    };
    if (!input.refreshToken) throw await refuse('invalid_request', 'invalid-request', 'refresh_token is required');
    const hash = tokenHash(input.refreshToken);
    const found = await this.#db.query<{ grant_id: string; generation: number; used_at: Date | null }>(
      'SELECT grant_id, generation, used_at FROM oauth_refresh WHERE tenant_id = $1 AND token_hash = $2',
      [this.#tenant, hash],
    );
    const r = found.rows[0];
    if (!r) throw await refuse('invalid_grant', 'refresh-unknown', 'the refresh token is not valid');
    const g = (await this.#live(this.#db, r.grant_id)) as LiveRow;
    if (g.client_id !== client.clientId)
      throw await refuse('invalid_grant', 'refresh-wrong-client', 'the refresh token was issued to another client', g.id);
    const reuse = async () => {
      const revoked = await this.#revoke(this.#db, g.id, 'refresh token reused');
      // A security event: two parties hold this family. The detector and the security officer look for this rule.
      await this.#clients.audit(
        { ...ctx, actor: this.#actor(g, g.scopes) },
        g.client_id,
        400,
        'refresh-token-reuse',
        `grant_type=refresh_token&grant=${g.id}&generation=${r.generation}&family=${revoked ? 'revoked-now' : 'already-revoked'}`,
      );
      return new OAuthError(
        400,
        'invalid_grant',
        'this refresh token was already used once; as it may have been stolen, the whole grant and every token issued under it is revoked: sign in to the app again',
      );
    };
    if (r.used_at) throw await reuse();
    const dead = this.#deadReason(g);
    if (dead) throw await refuse('invalid_grant', dead.rule, dead.description, g.id);
    const asked = input.scope === null ? null : input.scope.split(' ').filter(Boolean);
    if (asked !== null) {
      const wider = uncoveredScopes(asked, g.scopes);
      if (asked.length === 0 || wider.length > 0) {
        throw await refuse(
          'invalid_scope',
          'invalid-scope',
          asked.length === 0
            ? 'scope is empty; leave it out to keep the granted scopes'
            : `not granted to this app by the user: ${wider.join(' ')}`,
          g.id,
        );
      }
    }
    const next = await this.#db.transaction(async (tx) => {
      const used = await tx.query('UPDATE oauth_refresh SET used_at = $3 WHERE tenant_id = $1 AND token_hash = $2 AND used_at IS NULL', [
        this.#tenant,
        hash,
        this.#now(),
      ]);
      if (used.rowCount !== 1) return null; // spent meanwhile by a concurrent request: reuse
      return this.#newRefresh(tx, g.id, r.generation + 1);
    });
    if (next === null) throw await reuse();
    return this.#issue(ctx, g, asked ?? g.scopes, next, 'token-refreshed', `grant_type=refresh_token&generation=${r.generation + 1}`);
  }

  // ---------------------------------------------------------------- revocation endpoint (RFC 7009)

  /**
   * Revokes a refresh token (its whole grant: every refresh and access token of it) or one access
   * token. An unknown or malformed token is not an error (RFC 7009 section 2.2); a token of another
   * client is refused.
   */
  async revoke(ctx: RequestContext, input: { clientId: string; clientSecret?: string; token: string | null }): Promise<void> {
    const client = await this.#clients.authenticate(ctx, input);
    if (!input.token) {
      await this.#clients.audit(ctx, client.clientId, 400, 'invalid-request', 'revoke');
      throw new OAuthError(400, 'invalid_request', 'token is required');
    }
    const notYours = async (what: string) => {
      await this.#clients.audit(ctx, client.clientId, 400, 'revoke-wrong-client', `revoke&${what}`);
      return new OAuthError(400, 'unauthorized_client', 'the token was issued to another client');
    };
    const refresh = await this.#db.query<{ grant_id: string; client_id: string }>(
      `SELECT r.grant_id, g.client_id FROM oauth_refresh r JOIN oauth_grant g ON g.tenant_id = r.tenant_id AND g.id = r.grant_id
       WHERE r.tenant_id = $1 AND r.token_hash = $2`,
      [this.#tenant, tokenHash(input.token)],
    );
    const rt = refresh.rows[0];
    if (rt) {
      if (rt.client_id !== client.clientId) throw await notYours(`grant=${rt.grant_id}`);
      await this.#revoke(this.#db, rt.grant_id, 'revoked by the app (RFC 7009)');
      await this.#clients.audit(ctx, client.clientId, 200, 'token-revoked', `revoke&refresh_token&grant=${rt.grant_id}`);
      return;
    }
    const at = await this.#clients.tokens.verify(input.token, { allowExpired: true });
    if (at) {
      if (at.client_id !== client.clientId) throw await notYours(`jti=${at.jti}`);
      await this.#clients.revokeJti(at.jti, at.exp);
      await this.#clients.audit(
        ctx,
        client.clientId,
        200,
        'token-revoked',
        `revoke&access_token&jti=${at.jti}${at.grant_id ? `&grant=${at.grant_id}` : ''}`,
      );
      return;
    }
    await this.#clients.audit(ctx, client.clientId, 200, 'revoke-unknown-token', 'revoke');
  }

  // ---------------------------------------------------------------- bearer tokens

  /**
   * Who a bearer token stands for: an integration (`ClientActor`), or the member of staff an app
   * acts for (`UserActor` with the token's scopes); null when the token is forged, expired or
   * revoked, or its grant, account or client no longer live.
   */
  async bearer(token: string): Promise<ClientActor | UserActor | null> {
    const claims = await this.#clients.tokens.verify(token);
    if (!claims) return null;
    if (claims.grant_id === undefined) return this.#clients.clientActor(claims);
    return this.#userActor(claims, claims.grant_id);
  }

  async #userActor(claims: Verified, grantId: string): Promise<UserActor | null> {
    const r = await this.#db.query<LiveRow & { token_revoked: boolean }>(
      `${liveSelect(
        ',\n    EXISTS (SELECT 1 FROM oauth_revoked_token t WHERE t.tenant_id = g.tenant_id AND t.jti = $3) AS token_revoked',
      )} WHERE g.tenant_id = $1 AND g.id = $2`,
      [this.#tenant, grantId, claims.jti],
    );
    const g = r.rows[0];
    if (!g || g.token_revoked || g.user_id !== claims.sub || g.client_id !== claims.client_id) return null;
    const dead = this.#deadReason(g);
    // An access token outlives neither its grant nor (online) its session; the grant's own end
    // bounds refreshes only, so a token issued just before it runs its few minutes.
    if (dead && dead.rule !== 'grant-expired') return null;
    // Scopes: the token's, within what the app is registered for now.
    return this.#actor(g, intersectScopes(claims.scope.split(' '), g.client_scopes));
  }
}
