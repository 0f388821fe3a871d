/**
 * OAuth 2.0 endpoints for integrations and apps, and their discovery document:
 *
 *   POST /oauth2/token   application/x-www-form-urlencoded (RFC 6749 sections 4.1.3, 4.4, 6):
 *                        grant_type=client_credentials (integrations; optional `scope` narrows),
 *                        grant_type=authorization_code (apps: code, redirect_uri, code_verifier),
 *                        grant_type=refresh_token (apps: refresh_token, optional narrower scope).
 *                        Client authentication: HTTP Basic (client_secret_basic) or client_id +
 *                        client_secret in the body (client_secret_post); a public app sends
 *                        client_id alone (none). Answers {access_token, token_type, expires_in,
 *                        scope[, refresh_token]} or an RFC 6749 section 5.2 error.
 *   POST /oauth2/revoke  RFC 7009: token [, token_type_hint], with the same client authentication;
 *                        a refresh token revokes its whole grant, an access token itself. 200.
 *   GET  /oauth2/authorize, POST /oauth2/authorize: oauth-authorize.ts.
 *   GET  /fhir/.well-known/smart-configuration (and /.well-known/smart-configuration): SMART App
 *                        Launch 2.0 discovery.
 *
 * A token is presented as `Authorization: Bearer <token>` (authenticate.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestContext } from '../fhir/context.js';
import { type ClientService, OAuthError } from '../security/identity/clients.js';
import type { GrantService } from '../security/identity/grants.js';

export interface OAuthRouteOptions {
  readonly clients: ClientService;
  /** Apps (authorization code, refresh tokens, revocation); without it only client credentials. */
  readonly grants?: GrantService;
  readonly context: (req: FastifyRequest) => RequestContext;
  /** The server's public origin for a request (from `baseUrl` when set). */
  readonly origin: (req: FastifyRequest) => string;
}

/** A form body (RFC 6749 requires application/x-www-form-urlencoded); a parameter given twice is an error (section 3.2). */
export function oauthForm(req: FastifyRequest, what: string): URLSearchParams {
  const ct = String(req.headers['content-type'] ?? '');
  if (!/^application\/x-www-form-urlencoded\b/i.test(ct) || typeof req.body !== 'string') {
    throw new OAuthError(400, 'invalid_request', `send the ${what} request as application/x-www-form-urlencoded (RFC 6749)`);
  }
  const form = new URLSearchParams(req.body);
  const twice = [...new Set([...form.keys()].filter((k) => form.getAll(k).length > 1))];
  if (twice.length > 0) throw new OAuthError(400, 'invalid_request', `given more than once: ${twice.join(', ')}`);
  return form;
}

/** Who the client says it is (RFC 6749 section 2.3): HTTP Basic, client_id + client_secret in the body, or client_id alone (public). */
export function clientCredentials(req: FastifyRequest, form: URLSearchParams): { clientId: string; clientSecret?: string } {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^basic /i.test(auth)) {
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) throw new OAuthError(401, 'invalid_client', 'malformed Basic credentials');
    if (form.has('client_secret'))
      throw new OAuthError(400, 'invalid_request', 'use one client authentication method: HTTP Basic or client_secret, not both');
    let clientId: string;
    let clientSecret: string;
    try {
      // RFC 6749 section 2.3.1: both parts are form-urlencoded before Basic encoding.
      clientId = decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' '));
      clientSecret = decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, ' '));
    } catch {
      throw new OAuthError(401, 'invalid_client', 'malformed Basic credentials (bad percent-encoding)');
    }
    const bodyId = form.get('client_id');
    if (bodyId !== null && bodyId !== clientId)
      throw new OAuthError(400, 'invalid_request', 'client_id in the body differs from the HTTP Basic user name');
    // A public app sending Basic with an empty password (some libraries do) has no secret.
    return clientSecret === '' ? { clientId } : { clientId, clientSecret };
  }
  const clientId = form.get('client_id');
  if (!clientId) {
    throw new OAuthError(
      401,
      'invalid_client',
      'client authentication is required: HTTP Basic, client_id and client_secret, or (a public app) client_id',
    );
  }
  const clientSecret = form.get('client_secret');
  return clientSecret === null ? { clientId } : { clientId, clientSecret };
}

export function sendOAuthError(reply: FastifyReply, e: OAuthError): FastifyReply {
  if (e.status === 401) reply.header('WWW-Authenticate', 'Basic realm="sushruta", charset="UTF-8"');
  if (e.retryAfterSeconds) reply.header('Retry-After', String(Math.max(1, e.retryAfterSeconds)));
  return reply
    .code(e.status)
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ error: e.error, error_description: e.description }));
}

export function registerOAuthRoutes(app: FastifyInstance, o: OAuthRouteOptions): void {
  const grants = o.grants;
  const supported = grants ? 'authorization_code, refresh_token or client_credentials' : 'client_credentials';

  app.post('/oauth2/token', async (req, reply) => {
    reply.header('Pragma', 'no-cache');
    try {
      const form = oauthForm(req, 'token');
      const grant = form.get('grant_type');
      const ctx = o.context(req);
      let out: unknown;
      if (grant === 'client_credentials') {
        const scope = form.get('scope');
        out = await o.clients.token(ctx, { ...clientCredentials(req, form), ...(scope ? { scope } : {}) });
      } else if (grant === 'authorization_code' && grants) {
        out = await grants.exchangeCode(ctx, {
          ...clientCredentials(req, form),
          code: form.get('code'),
          redirectUri: form.get('redirect_uri'),
          codeVerifier: form.get('code_verifier'),
        });
      } else if (grant === 'refresh_token' && grants) {
        out = await grants.refresh(ctx, {
          ...clientCredentials(req, form),
          refreshToken: form.get('refresh_token'),
          scope: form.get('scope'),
        });
      } else if (!grant) {
        throw new OAuthError(400, 'invalid_request', `grant_type is required: ${supported}`);
      } else {
        throw new OAuthError(400, 'unsupported_grant_type', `grant_type '${grant.slice(0, 50)}' is not supported here; use ${supported}`);
      }
      return reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify(out));
    } catch (err) {
      if (err instanceof OAuthError) return sendOAuthError(reply, err);
      throw err;
    }
  });

  if (grants) {
    app.post('/oauth2/revoke', async (req, reply) => {
      try {
        const form = oauthForm(req, 'revocation');
        await grants.revoke(o.context(req), { ...clientCredentials(req, form), token: form.get('token') });
        return reply.code(200).send();
      } catch (err) {
        if (err instanceof OAuthError) return sendOAuthError(reply, err);
        throw err;
      }
    });
  }

  const discovery = async (req: FastifyRequest, reply: FastifyReply) => {
    const origin = o.origin(req);
    const apps = grants !== undefined;
    return reply
      .code(200)
      .type('application/json; charset=utf-8')
      .send(
        JSON.stringify({
          issuer: o.clients.issuer,
          ...(apps ? { authorization_endpoint: `${origin}/oauth2/authorize` } : {}),
          token_endpoint: `${origin}/oauth2/token`,
          ...(apps ? { revocation_endpoint: `${origin}/oauth2/revoke` } : {}),
          token_endpoint_auth_methods_supported: apps
            ? ['client_secret_basic', 'client_secret_post', 'none']
            : ['client_secret_basic', 'client_secret_post'],
          grant_types_supported: apps ? ['authorization_code', 'refresh_token', 'client_credentials'] : ['client_credentials'],
          scopes_supported: apps
            ? ['user/*.rs', 'user/*.cruds', 'offline_access', 'online_access', 'system/*.rs', 'system/*.cruds']
            : ['system/*.rs', 'system/*.cruds'],
          response_types_supported: apps ? ['code'] : [],
          code_challenge_methods_supported: ['S256'],
          ...(apps ? { authorization_response_iss_parameter_supported: true } : {}),
          capabilities: apps
            ? [
                'launch-standalone',
                'client-public',
                'client-confidential-symmetric',
                'permission-v2',
                'permission-v1',
                'permission-user',
                'permission-offline',
                'permission-online',
              ]
            : ['client-confidential-symmetric', 'permission-v2', 'permission-v1'],
        }),
      );
  };
  app.get('/.well-known/smart-configuration', discovery);
  app.get('/fhir/.well-known/smart-configuration', discovery);
}
