/**
 * OAuth 2.0 access tokens: JWTs in the RFC 9068 shape (`typ: at+jwt`), signed with Ed25519
 * (jose) under a key kept in a file outside the database (`identity.tokenKeyFile`), so a reader
 * of the database cannot mint one. Claims: `iss` and `aud` naming the hospital, `sub` (the
 * integration's client id, or the staff account an app acts for), `client_id`, `scope`, `jti`,
 * `iat`, `exp`, and for an app's token `grant_id`: the authorization (grants.ts) it was issued
 * under, which every request checks, so revoking a grant ends its access tokens at once.
 */
import { createPrivateKey, createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import { type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { createSecretFile, readSecretFile } from '../crypto/secret-file.js';

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

export interface AccessClaims {
  readonly sub: string;
  readonly client_id: string;
  readonly scope: string;
  readonly jti: string;
  /** The app's grant (absent for an integration's client-credentials token). */
  readonly grant_id?: string;
}

export interface Verified extends AccessClaims {
  readonly exp: number;
}

/** Issues and checks access tokens of one hospital. */
export class AccessTokens {
  readonly issuer: string;
  readonly audience: string;

  constructor(
    readonly key: TokenKey,
    tenantId: string,
    /** Lifetime of an access token (seconds). */
    readonly seconds: number,
    private readonly now: () => Date,
  ) {
    this.issuer = `urn:sushruta:${tenantId}`;
    this.audience = `urn:sushruta:${tenantId}:fhir`;
  }

  sign(claims: AccessClaims): Promise<string> {
    const { sub, jti, ...rest } = claims;
    const iat = Math.floor(this.now().getTime() / 1000);
    return new SignJWT({ ...rest })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.key.kid, typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setSubject(sub)
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.seconds)
      .sign(this.key.privateKey);
  }

  /**
   * The claims of a token whose signature, `typ`, `iss`, `aud` and (unless `allowExpired`, for
   * revocation) `exp` hold; null otherwise. Whether its client, grant and user are still live is
   * for the caller to check.
   */
  async verify(token: string, opts: { allowExpired?: boolean } = {}): Promise<Verified | null> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key.publicKey, {
        issuer: this.issuer,
        audience: this.audience,
        algorithms: ['EdDSA'],
        typ: 'at+jwt',
        currentDate: this.now(),
        // Revoking an expired token is a no-op, but it must still be recognised as ours.
        ...(opts.allowExpired ? { clockTolerance: 10 * 365 * 86_400 } : {}),
      }));
    } catch {
      return null;
    }
    const { sub, jti, scope, client_id, grant_id, exp } = payload as JWTPayload & Record<string, unknown>;
    if (typeof sub !== 'string' || typeof jti !== 'string' || typeof scope !== 'string' || typeof client_id !== 'string') return null;
    if (grant_id !== undefined && typeof grant_id !== 'string') return null;
    if (typeof exp !== 'number') return null;
    return { sub, jti, scope, client_id, exp, ...(typeof grant_id === 'string' ? { grant_id } : {}) };
  }
}
