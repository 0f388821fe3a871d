/**
 * OAuth 2.0 for integrations, and its discovery document:
 *
 *   POST /oauth2/token   grant_type=client_credentials (application/x-www-form-urlencoded, RFC 6749
 *                        section 4.4), client authentication with HTTP Basic (client_secret_basic)
 *                        or client_id + client_secret in the body (client_secret_post); optional
 *                        `scope` narrows the client's scopes. Answers {access_token, token_type,
 *                        expires_in, scope} or an RFC 6749 section 5.2 error.
 *   GET  /fhir/.well-known/smart-configuration (and /.well-known/smart-configuration): SMART App
 *                        Launch 2.0 discovery, naming the token endpoint.
 *
 * A token is presented as `Authorization: Bearer <token>` (authenticate.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestContext } from '../fhir/context.js';
import { type ClientService, OAuthError } from '../security/identity/clients.js';

export interface OAuthRouteOptions {
  readonly clients: ClientService;
  readonly context: (req: FastifyRequest) => RequestContext;
  /** The server's public origin for a request (from `baseUrl` when set). */
  readonly origin: (req: FastifyRequest) => string;
}

function clientCredentials(req: FastifyRequest, form: URLSearchParams): { clientId: string; clientSecret: string } {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^basic /i.test(auth)) {
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) throw new OAuthError(401, 'invalid_client', 'malformed Basic credentials');
    // RFC 6749 section 2.3.1: both parts are form-urlencoded before Basic encoding.
    return {
      clientId: decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' ')),
      clientSecret: decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, ' ')),
    };
  }
  const clientId = form.get('client_id');
  const clientSecret = form.get('client_secret');
  if (!clientId || !clientSecret)
    throw new OAuthError(401, 'invalid_client', 'client authentication is required (HTTP Basic or client_id and client_secret)');
  return { clientId, clientSecret };
}

export function registerOAuthRoutes(app: FastifyInstance, o: OAuthRouteOptions): void {
  const fail = (reply: FastifyReply, e: OAuthError) => {
    if (e.status === 401) reply.header('WWW-Authenticate', 'Basic realm="sushruta", charset="UTF-8"');
    if (e.retryAfterSeconds) reply.header('Retry-After', String(Math.max(1, e.retryAfterSeconds)));
    return reply
      .code(e.status)
      .type('application/json; charset=utf-8')
      .send(JSON.stringify({ error: e.error, error_description: e.description }));
  };

  app.post('/oauth2/token', async (req, reply) => {
    reply.header('Pragma', 'no-cache');
    try {
      const ct = String(req.headers['content-type'] ?? '');
      if (!/^application\/x-www-form-urlencoded\b/i.test(ct) || typeof req.body !== 'string') {
        throw new OAuthError(400, 'invalid_request', 'send the token request as application/x-www-form-urlencoded (RFC 6749)');
      }
      const form = new URLSearchParams(req.body);
      const grant = form.get('grant_type');
      if (grant !== 'client_credentials') {
        throw new OAuthError(400, 'unsupported_grant_type', `grant_type '${grant ?? ''}' is not supported here; use client_credentials`);
      }
      const creds = clientCredentials(req, form);
      const scope = form.get('scope');
      const out = await o.clients.token(o.context(req), { ...creds, ...(scope ? { scope } : {}) });
      return reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify(out));
    } catch (err) {
      if (err instanceof OAuthError) return fail(reply, err);
      throw err;
    }
  });

  const discovery = async (req: FastifyRequest, reply: FastifyReply) => {
    const origin = o.origin(req);
    return reply
      .code(200)
      .type('application/json; charset=utf-8')
      .send(
        JSON.stringify({
          issuer: o.clients.issuer,
          token_endpoint: `${origin}/oauth2/token`,
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
          grant_types_supported: ['client_credentials'],
          scopes_supported: ['system/*.rs', 'system/*.cruds'],
          response_types_supported: [],
          capabilities: ['client-confidential-symmetric', 'permission-v2', 'permission-v1'],
          code_challenge_methods_supported: ['S256'],
        }),
      );
  };
  app.get('/.well-known/smart-configuration', discovery);
  app.get('/fhir/.well-known/smart-configuration', discovery);
}
