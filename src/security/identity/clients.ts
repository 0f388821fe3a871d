/**
 * OAuth 2.0 clients. Two kinds:
 *
 * - integrations (client credentials, RFC 6749 section 4.4): a laboratory analyser bridge, the
 *   state's ABDM gateway, a billing system. `sushruta clients create --name NAME --scopes ...`
 *   gives an id and a 256-bit secret shown once (stored as SHA-256: it is random, so a slow hash
 *   adds nothing), traded at the token endpoint for a short-lived access token (access-token.ts)
 *   carrying the client id and its SMART `system/` scopes;
 * - apps (authorization code with PKCE, grants.ts), registered with exact redirect URIs
 *   (`--redirect-uri`), that act for a signed-in member of staff with `user/` scopes: confidential
 *   (a server-side app that keeps a secret) or public (`--public`: a browser or native app that
 *   cannot; no secret, PKCE alone binds the code to it).
 *
 * Every request with an integration's token checks the signature, expiry, issuer and audience,
 * that the token was not revoked (RFC 7009), and that the client is still active, so disabling a
 * client ends its tokens at once.
 */
import { randomUUID } from 'node:crypto';
import type { ClientActor, RequestContext } from '../../fhir/context.js';
import type { AuditSink } from '../../fhir/guard.js';
import type { Db } from '../../store/db.js';
import { AccessTokens, type TokenKey, type Verified } from './access-token.js';
import { OAuthError } from './oauth-error.js';
import { appScopeProblems, scopeProblems } from './scopes.js';
import { IdentityError } from './service.js';
import { addressKey, type Throttle } from './throttle.js';
import { newToken, safeEqual, tokenHash } from './tokens.js';

export { TokenKey } from './access-token.js';
export { OAuthError } from './oauth-error.js';
export { scopeProblems } from './scopes.js';

export type ClientType = 'confidential' | 'public';

export interface OAuthClient {
  readonly clientId: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly status: 'active' | 'disabled';
  /** `public`: no secret (an app that cannot keep one). */
  readonly type: ClientType;
  /** An app's exact redirect URIs; empty for an integration (client credentials). */
  readonly redirectUris: readonly string[];
  readonly createdAt: string;
  readonly createdBy: string;
  readonly lastTokenAt: string | null;
}

interface ClientRow {
  client_id: string;
  name: string;
  scopes: string[];
  status: 'active' | 'disabled';
  client_type: ClientType;
  redirect_uris: string[];
  secret_hash: Uint8Array | null;
  created_at: Date;
  created_by: string;
  last_token_at: Date | null;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
/** RFC 8252 section 7.1: a private-use scheme for a native app is a reversed domain name. */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/;

/**
 * Why a redirect URI cannot be registered, or null: an absolute URI without fragment or wildcard
 * (RFC 6749 section 3.1.2), https, or http only on loopback, or a native app's private-use scheme
 * (RFC 8252 sections 7.1 and 7.3). It is later compared character for character.
 */
export function redirectUriProblem(uri: string): string | null {
  if (uri.length === 0 || uri.length > 2000) return `redirect URI '${uri.slice(0, 80)}': 1 to 2000 characters`;
  if (/[\s*]/.test(uri)) return `redirect URI '${uri}': no spaces or wildcards; register each URI exactly`;
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return `redirect URI '${uri}' is not an absolute URI`;
  }
  if (uri.includes('#')) return `redirect URI '${uri}' must not contain a fragment (RFC 6749 section 3.1.2)`;
  if (u.username || u.password) return `redirect URI '${uri}' must not contain user credentials`;
  if (u.protocol === 'https:') return null;
  if (u.protocol === 'http:') {
    return LOOPBACK_HOSTS.has(u.hostname)
      ? null
      : `redirect URI '${uri}': plain http is allowed only on loopback (127.0.0.1, [::1], localhost: RFC 8252); use https`;
  }
  if (PRIVATE_USE_SCHEME.test(u.protocol)) return null;
  return `redirect URI '${uri}': the scheme must be https, http on loopback, or a native app's reversed-domain scheme such as com.example.app:/callback (RFC 8252)`;
}

/** The client a token request or a revocation authenticated as. */
export interface AuthenticatedClient {
  readonly clientId: string;
  readonly name: string;
  readonly type: ClientType;
  readonly scopes: readonly string[];
  readonly redirectUris: readonly string[];
}

export interface ClientServiceOptions {
  readonly db: Db;
  readonly tenantId: string;
  readonly audit: AuditSink;
  readonly throttle: Throttle;
  readonly key: TokenKey;
  /** Lifetime of an access token (seconds). */
  readonly tokenSeconds: number;
  /** Account administration's authorize -> operate -> audit wrapper (IdentityService.administer). */
  readonly administer: <T>(
    ctx: RequestContext,
    action: string,
    resourceType: string,
    target: string | undefined,
    op: () => Promise<T>,
  ) => Promise<T>;
  readonly now?: () => Date;
}

export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope: string;
  /** An app's rotating refresh token (grants.ts), when offline_access or online_access was granted. */
  readonly refresh_token?: string;
}

export interface NewClient {
  readonly name: string;
  readonly scopes: readonly string[];
  /** An app's exact redirect URIs; none for an integration (client credentials). */
  readonly redirectUris?: readonly string[];
  /** An app without a secret (browser or native); needs redirect URIs. */
  readonly public?: boolean;
}

/** Audit rule names of client authentication failures. */
type AuthFailure = 'unknown-client' | 'bad-secret' | 'client-disabled' | 'secret-missing' | 'public-client-secret';

export class ClientService {
  readonly #o: ClientServiceOptions;
  readonly #now: () => Date;
  /** Signs and checks access tokens (shared with the app grants of grants.ts). */
  readonly tokens: AccessTokens;
  readonly issuer: string;
  readonly audience: string;

  constructor(o: ClientServiceOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
    this.tokens = new AccessTokens(o.key, o.tenantId, o.tokenSeconds, this.#now);
    this.issuer = this.tokens.issuer;
    this.audience = this.tokens.audience;
  }

  #view(r: ClientRow): OAuthClient {
    return {
      clientId: r.client_id,
      name: r.name,
      scopes: r.scopes,
      status: r.status,
      type: r.client_type,
      redirectUris: r.redirect_uris,
      createdAt: r.created_at.toISOString(),
      createdBy: r.created_by,
      lastTokenAt: r.last_token_at?.toISOString() ?? null,
    };
  }

  async #row(clientId: string): Promise<ClientRow | undefined> {
    const r = await this.#o.db.query<ClientRow>('SELECT * FROM oauth_client WHERE tenant_id = $1 AND client_id = $2', [
      this.#o.tenantId,
      clientId.slice(0, 200),
    ]);
    return r.rows[0];
  }

  /** An active app (a client with redirect URIs), for the authorization endpoint; undefined otherwise. */
  async activeApp(clientId: string): Promise<OAuthClient | undefined> {
    const row = await this.#row(clientId);
    return row && row.status === 'active' && row.redirect_uris.length > 0 ? this.#view(row) : undefined;
  }

  /**
   * Creates a client. An integration or a confidential app gets a secret, returned once (only its
   * hash is stored); a public app gets none.
   */
  async create(ctx: RequestContext, input: NewClient): Promise<{ client: OAuthClient; clientSecret: string | null }> {
    const redirectUris = [...new Set(input.redirectUris ?? [])];
    const isPublic = input.public === true;
    const clientSecret = isPublic ? null : newToken();
    const client = await this.#o.administer(ctx, 'create-client', 'Client', undefined, async () => {
      const name = String(input.name ?? '').trim();
      if (name.length === 0 || name.length > 200) throw new IdentityError(400, 'name: 1 to 200 characters', 'invalid');
      const scopes = [...new Set(input.scopes ?? [])];
      if (isPublic && redirectUris.length === 0) {
        throw new IdentityError(
          400,
          'a public client is an app: give its redirect URIs (an integration without a user needs a secret for client credentials)',
          'invalid',
        );
      }
      if (redirectUris.length > 10) throw new IdentityError(400, 'redirect URIs: at most 10', 'invalid');
      const uriProblems = redirectUris.map(redirectUriProblem).filter((p): p is string => p !== null);
      if (uriProblems.length > 0) throw new IdentityError(400, uriProblems.join('; '), 'invalid');
      const problems = redirectUris.length > 0 ? appScopeProblems(scopes) : scopeProblems(scopes);
      if (problems.length > 0) throw new IdentityError(400, `scopes: ${problems.join('; ')}`, 'invalid');
      const clientId = `c-${randomUUID()}`;
      await this.#o.db.query(
        `INSERT INTO oauth_client (tenant_id, client_id, name, scopes, status, secret_hash, created_at, created_by, client_type, redirect_uris)
         VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9)`,
        [
          this.#o.tenantId,
          clientId,
          name,
          scopes,
          clientSecret === null ? null : tokenHash(clientSecret),
          this.#now(),
          actorLabel(ctx),
          isPublic ? 'public' : 'confidential',
          redirectUris,
        ],
      );
      return this.#view((await this.#row(clientId)) as ClientRow);
    });
    return { client, clientSecret };
  }

  list(ctx: RequestContext): Promise<OAuthClient[]> {
    return this.#o.administer(ctx, 'list-clients', 'Client', undefined, async () => {
      const r = await this.#o.db.query<ClientRow>('SELECT * FROM oauth_client WHERE tenant_id = $1 ORDER BY created_at', [
        this.#o.tenantId,
      ]);
      return r.rows.map((x) => this.#view(x));
    });
  }

  async setStatus(ctx: RequestContext, clientId: string, status: 'active' | 'disabled'): Promise<OAuthClient> {
    return this.#o.administer(ctx, status === 'active' ? 'enable-client' : 'disable-client', 'Client', clientId, async () => {
      const r = await this.#o.db.query('UPDATE oauth_client SET status = $3 WHERE tenant_id = $1 AND client_id = $2', [
        this.#o.tenantId,
        clientId,
        status,
      ]);
      if (r.rowCount !== 1) throw new IdentityError(404, `no client '${clientId}'`, 'not-found');
      return this.#view((await this.#row(clientId)) as ClientRow);
    });
  }

  /** Records an `auth-token` event of the token or revocation endpoint. */
  audit(ctx: RequestContext, clientId: string, status: number, rule: string, query?: string): Promise<void> {
    return this.#o.audit.append({
      ctx,
      interaction: 'auth-token',
      resourceType: 'Client',
      ...(clientId ? { id: clientId.slice(0, 100) } : {}),
      ...(query ? { query } : {}),
      outcome: { status, rule },
    });
  }

  /**
   * Client authentication at the token and revocation endpoints (RFC 6749 section 2.3): a
   * confidential client (integration or app) proves its secret; a public app names itself and
   * must not send a secret. A wrong id or secret is `invalid_client` whichever it was, and counts
   * against the address and the client id like a failed staff sign-in (429 once blocked).
   */
  async authenticate(ctx: RequestContext, input: { clientId: string; clientSecret?: string }): Promise<AuthenticatedClient> {
    const keys = [
      { kind: 'address' as const, key: addressKey(ctx.provenance.clientAddress) },
      { kind: 'account' as const, key: `client:${input.clientId.slice(0, 100)}` },
    ];
    const block = await this.#o.throttle.blocked(keys);
    if (block) {
      await this.audit(ctx, input.clientId, 429, `throttle-${block.kind}`);
      throw new OAuthError(
        429,
        'invalid_client',
        'too many failed attempts: wait before trying again',
        Math.ceil((block.until.getTime() - this.#now().getTime()) / 1000),
      );
    }
    const row = await this.#row(input.clientId);
    let failure: AuthFailure | null = null;
    if (!row) failure = 'unknown-client';
    else if (row.client_type === 'public') {
      if (input.clientSecret !== undefined) failure = 'public-client-secret';
    } else if (input.clientSecret === undefined) failure = 'secret-missing';
    else if (!row.secret_hash || !safeEqual(Buffer.from(row.secret_hash).toString('hex'), tokenHash(input.clientSecret).toString('hex'))) {
      failure = 'bad-secret';
    }
    if (!failure && row?.status !== 'active') failure = 'client-disabled';
    if (failure || !row) {
      if (failure === 'unknown-client' || failure === 'bad-secret') await this.#o.throttle.fail(keys);
      await this.audit(ctx, input.clientId, 401, failure ?? 'unknown-client');
      const description =
        failure === 'secret-missing'
          ? 'this client is confidential: authenticate with its secret (HTTP Basic or client_secret in the body)'
          : failure === 'public-client-secret'
            ? 'this client is public and has no secret: send only client_id'
            : 'client authentication failed';
      throw new OAuthError(401, 'invalid_client', description);
    }
    if (row.secret_hash) await this.#o.throttle.clear([keys[1] as (typeof keys)[number]]);
    return { clientId: row.client_id, name: row.name, type: row.client_type, scopes: row.scopes, redirectUris: row.redirect_uris };
  }

  /** Notes that a client was issued a token (`clients list` shows it). */
  async touched(clientId: string): Promise<void> {
    await this.#o.db.query('UPDATE oauth_client SET last_token_at = $3 WHERE tenant_id = $1 AND client_id = $2', [
      this.#o.tenantId,
      clientId,
      this.#now(),
    ]);
  }

  /**
   * The token endpoint's client credentials grant, for integrations. Failures are RFC 6749 errors
   * (client authentication as in `authenticate`); an app (a client with redirect URIs) is
   * `unauthorized_client`: it acts for a user through the authorization code grant.
   */
  async token(ctx: RequestContext, input: { clientId: string; clientSecret?: string; scope?: string }): Promise<TokenResponse> {
    const client = await this.authenticate(ctx, input);
    if (client.redirectUris.length > 0) {
      await this.audit(ctx, client.clientId, 400, 'unauthorized-client', 'grant_type=client_credentials');
      throw new OAuthError(
        400,
        'unauthorized_client',
        'this client is an app registered with redirect URIs: it uses the authorization code grant with PKCE, not client_credentials',
      );
    }
    const asked = input.scope ? input.scope.split(/\s+/).filter(Boolean) : [...client.scopes];
    const notGranted = asked.filter((s) => !client.scopes.includes(s));
    if (notGranted.length > 0) {
      await this.audit(ctx, client.clientId, 400, 'invalid-scope', `scope=${asked.join(' ')}`);
      throw new OAuthError(400, 'invalid_scope', `not granted to this client: ${notGranted.join(' ')}`);
    }
    const jti = randomUUID();
    const scope = asked.join(' ');
    const access_token = await this.tokens.sign({ sub: client.clientId, client_id: client.clientId, scope, jti });
    await this.touched(client.clientId);
    await this.audit(
      { ...ctx, actor: { kind: 'client', id: client.clientId, name: client.name, scopes: asked, tokenId: jti } },
      client.clientId,
      200,
      'token-issued',
      `scope=${scope}`,
    );
    return { access_token, token_type: 'Bearer', expires_in: this.tokens.seconds, scope };
  }

  /** Whether an access token's id is on the revocation list (RFC 7009). */
  async revokedJti(jti: string): Promise<boolean> {
    const r = await this.#o.db.query('SELECT 1 FROM oauth_revoked_token WHERE tenant_id = $1 AND jti = $2', [this.#o.tenantId, jti]);
    return r.rows.length > 0;
  }

  /** Puts one access token on the revocation list until it would have expired anyway. */
  async revokeJti(jti: string, exp: number): Promise<void> {
    const now = this.#now();
    await this.#o.db.query('DELETE FROM oauth_revoked_token WHERE tenant_id = $1 AND expires_at < $2', [this.#o.tenantId, now]);
    await this.#o.db.query(
      'INSERT INTO oauth_revoked_token (tenant_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT (tenant_id, jti) DO NOTHING',
      [this.#o.tenantId, jti, new Date(exp * 1000)],
    );
  }

  /** The integration a verified client-credentials token stands for, or null when revoked or its client disabled. */
  async clientActor(claims: Verified): Promise<ClientActor | null> {
    const r = await this.#o.db.query<{ name: string; status: string; scopes: string[]; redirect_uris: string[]; revoked: boolean }>(
      `SELECT c.name, c.status, c.scopes, c.redirect_uris,
         EXISTS (SELECT 1 FROM oauth_revoked_token t WHERE t.tenant_id = c.tenant_id AND t.jti = $3) AS revoked
       FROM oauth_client c WHERE c.tenant_id = $1 AND c.client_id = $2`,
      [this.#o.tenantId, claims.sub, claims.jti],
    );
    const row = r.rows[0];
    if (row?.status !== 'active' || row.revoked || row.redirect_uris.length > 0 || claims.client_id !== claims.sub) return null;
    const scopes = claims.scope.split(' ').filter((s) => row.scopes.includes(s));
    return { kind: 'client', id: claims.sub, name: row.name, scopes, tokenId: claims.jti };
  }

  /** The client a bearer token stands for, or null when it is forged, expired, revoked, or its client disabled. */
  async bearer(token: string): Promise<ClientActor | null> {
    const claims = await this.tokens.verify(token);
    if (!claims || claims.grant_id !== undefined) return null;
    return this.clientActor(claims);
  }
}

function actorLabel(ctx: RequestContext): string {
  const a = ctx.actor;
  return a.kind === 'user' ? `user:${a.id}` : a.kind === 'system' ? `system:${a.job}` : a.kind === 'client' ? `client:${a.id}` : a.kind;
}
