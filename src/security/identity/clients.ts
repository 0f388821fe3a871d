/**
 * OAuth 2.0 client credentials (RFC 6749 section 4.4) for integrations: a laboratory analyser
 * bridge, the state's ABDM gateway, a billing system. An administrator on the server creates a
 * client (`sushruta clients create --name NAME --scopes ...`), which gets an id and a 256-bit
 * secret shown once (stored as SHA-256: it is random, so a slow hash adds nothing). The client
 * trades them at the token endpoint for a short-lived access token: a JWT signed with Ed25519
 * (jose) under a key kept in a file outside the database (`identity.tokenKeyFile`), carrying the
 * client id and its SMART on FHIR v2 scopes. Every request with the token checks the signature,
 * expiry, issuer and audience, and that the client is still active, so disabling a client ends
 * its tokens at once.
 */
import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { ClientActor, RequestContext } from '../../fhir/context.js';
import type { AuditSink } from '../../fhir/guard.js';
import type { Db } from '../../store/db.js';
import { createSecretFile, readSecretFile } from '../crypto/secret-file.js';
import { IdentityError } from './service.js';
import { addressKey, type Throttle } from './throttle.js';
import { newToken, safeEqual, tokenHash } from './tokens.js';

/** SMART on FHIR scopes: v2 (`system/Patient.rs`) and v1 (`system/Patient.read`), with `*` for every type. */
const SCOPE = /^(system|user|patient)\/(\*|[A-Z][A-Za-z]{1,63})\.(\*|read|write|c?r?u?d?s?)$/;

export function scopeProblems(scopes: readonly string[]): string[] {
  const out: string[] = [];
  if (scopes.length === 0) out.push('at least one scope is needed, e.g. system/Patient.rs');
  for (const s of scopes) {
    const m = SCOPE.exec(s);
    if (!m || m[3] === '') out.push(`'${s}' is not a SMART scope (context/Type.permissions, e.g. system/Observation.cruds or system/*.rs)`);
  }
  return out;
}

export interface OAuthClient {
  readonly clientId: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly status: 'active' | 'disabled';
  readonly createdAt: string;
  readonly createdBy: string;
  readonly lastTokenAt: string | null;
}

interface ClientRow {
  client_id: string;
  name: string;
  scopes: string[];
  status: 'active' | 'disabled';
  secret_hash: Uint8Array;
  created_at: Date;
  created_by: string;
  last_token_at: Date | null;
}

const TOKEN_KEY_PREFIX = 'sushruta-token-signing-key-v1:';
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The Ed25519 key that signs access tokens, from its file (created on first start). */
export class TokenKey {
  private constructor(
    readonly privateKey: KeyObject,
    readonly publicKey: KeyObject,
    readonly kid: string,
  ) {}

  static open(path: string, opts: { create: boolean; onCreate?: (path: string) => void }): TokenKey {
    let seed: Buffer;
    try {
      seed = readSecretFile(path, TOKEN_KEY_PREFIX, 32, 'it is created on first start; every app server needs the same file');
    } catch (err) {
      if (!opts.create || (err as { problem?: string }).problem?.startsWith('does not exist') !== true) throw err;
      seed = randomBytes(32);
      createSecretFile(path, TOKEN_KEY_PREFIX, seed, 'an access-token signing key');
      opts.onCreate?.(path);
    }
    try {
      return TokenKey.fromSeed(seed);
    } finally {
      seed.fill(0);
    }
  }

  static fromSeed(seed: Buffer): TokenKey {
    const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
    const publicKey = createPublicKey(privateKey);
    const raw = publicKey.export({ format: 'jwk' }) as { x: string };
    return new TokenKey(privateKey, publicKey, raw.x.slice(0, 16));
  }
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
}

export class ClientService {
  readonly #o: ClientServiceOptions;
  readonly #now: () => Date;
  readonly issuer: string;
  readonly audience: string;

  constructor(o: ClientServiceOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
    this.issuer = `urn:sushruta:${o.tenantId}`;
    this.audience = `urn:sushruta:${o.tenantId}:fhir`;
  }

  #view(r: ClientRow): OAuthClient {
    return {
      clientId: r.client_id,
      name: r.name,
      scopes: r.scopes,
      status: r.status,
      createdAt: r.created_at.toISOString(),
      createdBy: r.created_by,
      lastTokenAt: r.last_token_at?.toISOString() ?? null,
    };
  }

  async #row(clientId: string): Promise<ClientRow | undefined> {
    const r = await this.#o.db.query<ClientRow>('SELECT * FROM oauth_client WHERE tenant_id = $1 AND client_id = $2', [
      this.#o.tenantId,
      clientId,
    ]);
    return r.rows[0];
  }

  /** Creates a client; its secret is returned once and only its hash is stored. */
  async create(
    ctx: RequestContext,
    input: { name: string; scopes: readonly string[] },
  ): Promise<{ client: OAuthClient; clientSecret: string }> {
    const clientSecret = newToken();
    const client = await this.#o.administer(ctx, 'create-client', 'Client', undefined, async () => {
      const name = String(input.name ?? '').trim();
      if (name.length === 0 || name.length > 200) throw new IdentityError(400, 'name: 1 to 200 characters', 'invalid');
      const scopes = [...new Set(input.scopes ?? [])];
      const problems = scopeProblems(scopes);
      if (problems.length > 0) throw new IdentityError(400, `scopes: ${problems.join('; ')}`, 'invalid');
      const clientId = `c-${randomUUID()}`;
      await this.#o.db.query(
        `INSERT INTO oauth_client (tenant_id, client_id, name, scopes, status, secret_hash, created_at, created_by)
         VALUES ($1, $2, $3, $4, 'active', $5, $6, $7)`,
        [this.#o.tenantId, clientId, name, scopes, tokenHash(clientSecret), this.#now(), actorLabel(ctx)],
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

  /**
   * The token endpoint's work (client credentials grant). Failures are RFC 6749 errors; a wrong
   * id or secret is `invalid_client` whichever it was, and counts against the address and the
   * client id like a failed staff sign-in.
   */
  async token(ctx: RequestContext, input: { clientId: string; clientSecret: string; scope?: string }): Promise<TokenResponse> {
    const keys = [
      { kind: 'address' as const, key: addressKey(ctx.provenance.clientAddress) },
      { kind: 'account' as const, key: `client:${input.clientId.slice(0, 100)}` },
    ];
    const audit = (status: number, rule: string, scope?: string, actorCtx: RequestContext = ctx) =>
      this.#o.audit.append({
        ctx: actorCtx,
        interaction: 'auth-token',
        resourceType: 'Client',
        id: input.clientId.slice(0, 100),
        ...(scope ? { query: `scope=${scope}` } : {}),
        outcome: { status, rule },
      });
    const block = await this.#o.throttle.blocked(keys);
    if (block) {
      await audit(429, `throttle-${block.kind}`);
      throw new OAuthError(
        429,
        'invalid_client',
        'too many failed attempts: wait before trying again',
        Math.ceil((block.until.getTime() - this.#now().getTime()) / 1000),
      );
    }
    const row = await this.#row(input.clientId);
    const ok = row !== undefined && safeEqual(Buffer.from(row.secret_hash).toString('hex'), tokenHash(input.clientSecret).toString('hex'));
    if (!row || !ok || row.status !== 'active') {
      if (!row || !ok) await this.#o.throttle.fail(keys);
      await audit(401, !row ? 'unknown-client' : !ok ? 'bad-secret' : 'client-disabled');
      throw new OAuthError(401, 'invalid_client', 'client authentication failed');
    }
    const asked = input.scope ? input.scope.split(/\s+/).filter(Boolean) : row.scopes;
    const notGranted = asked.filter((s) => !row.scopes.includes(s));
    if (notGranted.length > 0) {
      await audit(400, 'invalid-scope', asked.join(' '));
      throw new OAuthError(400, 'invalid_scope', `not granted to this client: ${notGranted.join(' ')}`);
    }
    const jti = randomUUID();
    const scope = asked.join(' ');
    const access_token = await new SignJWT({ scope, client_id: row.client_id })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.#o.key.kid, typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setSubject(row.client_id)
      .setJti(jti)
      .setIssuedAt(Math.floor(this.#now().getTime() / 1000))
      .setExpirationTime(Math.floor(this.#now().getTime() / 1000) + this.#o.tokenSeconds)
      .sign(this.#o.key.privateKey);
    await this.#o.db.query('UPDATE oauth_client SET last_token_at = $3 WHERE tenant_id = $1 AND client_id = $2', [
      this.#o.tenantId,
      row.client_id,
      this.#now(),
    ]);
    await this.#o.throttle.clear([keys[1] as (typeof keys)[number]]);
    await audit(200, 'token-issued', scope, {
      ...ctx,
      actor: { kind: 'client', id: row.client_id, name: row.name, scopes: asked, tokenId: jti },
    });
    return { access_token, token_type: 'Bearer', expires_in: this.#o.tokenSeconds, scope };
  }

  /** The client a bearer token stands for, or null when it is forged, expired, or its client disabled. */
  async bearer(token: string): Promise<ClientActor | null> {
    try {
      const { payload } = await jwtVerify(token, this.#o.key.publicKey, {
        issuer: this.issuer,
        audience: this.audience,
        algorithms: ['EdDSA'],
        typ: 'at+jwt',
        currentDate: this.#now(),
      });
      const clientId = typeof payload.sub === 'string' ? payload.sub : '';
      const row = await this.#row(clientId);
      if (row?.status !== 'active' || typeof payload.jti !== 'string') return null;
      const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter((s) => row.scopes.includes(s)) : [];
      return { kind: 'client', id: clientId, name: row.name, scopes, tokenId: payload.jti };
    } catch {
      return null;
    }
  }
}

/** An RFC 6749 section 5.2 error. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_scope',
    readonly description: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
  }
}

function actorLabel(ctx: RequestContext): string {
  const a = ctx.actor;
  return a.kind === 'user' ? `user:${a.id}` : a.kind === 'system' ? `system:${a.job}` : a.kind === 'client' ? `client:${a.id}` : a.kind;
}
