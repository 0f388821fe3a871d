/**
 * Stage 2, authenticate: who is calling.
 *
 * 1. A session cookie (staff signed in through /auth with MFA): the account becomes the actor
 *    (`kind: 'user'`, with roles and the session's public id, which audit records carry). A cookie
 *    that is expired, revoked, not past MFA, or whose account is disabled gets 401. A
 *    state-changing request (anything but GET/HEAD/OPTIONS) must also carry the session's CSRF
 *    token in `X-CSRF-Token`, or gets 403.
 * 2. No credentials, a loopback peer and no proxy headers: the operator on the server's own
 *    machine (the CLI talks to the server this way). Any Forwarded / X-Forwarded-For / X-Real-IP
 *    header means a proxy relayed the request from elsewhere, and it is not the operator, even
 *    when the proxy runs on the same machine.
 * 1b. `Authorization: Bearer <access token>` (OAuth 2.0): an integration's token (client
 *    credentials) makes the client the actor (`kind: 'client'`); an app's token (authorization
 *    code) makes the member of staff it acts for the actor (`kind: 'user'` with the token's
 *    `scopes`, `sessionId` the grant's id). Either only if the token's signature, expiry, issuer
 *    and audience hold, it was not revoked, and its client (and grant and account) are still
 *    live; otherwise 401. An app's token opens the FHIR API only (/fhir), not /admin.
 *    A TLS server's public listener has no operator path at all: the operator (and the CLI) use a
 *    second, plain-HTTP listener bound to 127.0.0.1 only.
 * 3. Otherwise nobody: only `GET /fhir/metadata` is open; everything else gets 401.
 *
 * The /auth and /oauth2 routes, SMART discovery, / and /healthz handle their own (lack of) session,
 * and so does everything outside the API paths (the web app's files and pages, web.ts): they hold
 * no data.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../fhir/context.js';
import { FhirError, issue } from '../fhir/outcome.js';
import type { ClientService } from '../security/identity/clients.js';
import type { GrantService } from '../security/identity/grants.js';
import type { IdentityService } from '../security/identity/service.js';
import { safeEqual } from '../security/identity/tokens.js';
import { isApiPath } from './web.js';

export const SESSION_COOKIE = 'sushruta-session';
export const DEVICE_COOKIE = 'sushruta-device';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

export const LOCAL_OPERATOR: Actor = { kind: 'local-operator', description: 'loopback client without proxy headers (the server machine)' };

/** Cookie names: with TLS the `__Host-` prefix (Secure, Path=/, no Domain: no subdomain can set or shadow it). */
export function cookieName(base: string, secure: boolean): string {
  return secure ? `__Host-${base}` : base;
}

export function isSecure(req: FastifyRequest): boolean {
  return req.protocol === 'https';
}

export function readCookie(req: FastifyRequest, base: string): string | undefined {
  const c = (req as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies ?? {};
  return c[cookieName(base, true)] ?? (isSecure(req) ? undefined : c[base]);
}

export function setSessionCookie(req: FastifyRequest, reply: FastifyReply, token: string): void {
  // No Max-Age: the browser forgets it when closed; the server enforces idle and absolute expiry.
  reply.setCookie(cookieName(SESSION_COOKIE, isSecure(req)), token, {
    httpOnly: true,
    secure: isSecure(req),
    sameSite: 'strict',
    path: '/',
  });
}

export function setDeviceCookie(req: FastifyRequest, reply: FastifyReply, token: string): void {
  reply.setCookie(cookieName(DEVICE_COOKIE, isSecure(req)), token, {
    httpOnly: true,
    secure: isSecure(req),
    sameSite: 'strict',
    path: '/',
    maxAge: 365 * 24 * 3600,
  });
}

export function clearSessionCookie(req: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(cookieName(SESSION_COOKIE, isSecure(req)), { httpOnly: true, secure: isSecure(req), sameSite: 'strict', path: '/' });
}

/** Host names a program on this machine uses to reach the server (with or without a port). */
const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?$/i;

/**
 * The request came straight from a program on this machine, not through a proxy and not from a
 * web browser. A browser on the server machine must not become the operator: a page it loads from
 * anywhere could reach 127.0.0.1 (DNS rebinding sends the attacker's host name; a page's own
 * requests carry Origin or Sec-Fetch-* headers), so those requests need a session like any other.
 */
export function isLocalOperator(req: FastifyRequest): boolean {
  const h = req.headers;
  if (h.forwarded !== undefined || h['x-forwarded-for'] !== undefined || h['x-real-ip'] !== undefined) return false;
  // Sec-Fetch-Site: every current browser sends it; Node's fetch sends Sec-Fetch-Mode but not this.
  if (h.origin !== undefined || h['sec-fetch-site'] !== undefined) return false;
  if (typeof h.host !== 'string' || !LOOPBACK_HOST.test(h.host)) return false;
  return LOOPBACK.test(req.socket.remoteAddress ?? '');
}

/** 403 unless the request carries the session's CSRF token. */
export function requireCsrf(req: FastifyRequest, expected: string): void {
  const given = req.headers[CSRF_HEADER];
  if (typeof given !== 'string' || !safeEqual(given, expected)) {
    throw new FhirError(403, [
      issue('forbidden', `a state-changing request with a session cookie needs the session's CSRF token in the ${CSRF_HEADER} header`),
    ]);
  }
}

const SELF_HANDLED = (path: string) =>
  !isApiPath(path) ||
  path === '/healthz' ||
  path.startsWith('/auth/') ||
  path === '/oauth2/token' ||
  path === '/oauth2/revoke' ||
  path === '/oauth2/authorize' ||
  path === '/.well-known/smart-configuration' ||
  path === '/fhir/.well-known/smart-configuration';

export async function authenticate(
  req: FastifyRequest,
  identity: IdentityService | undefined,
  clients?: ClientService,
  operatorPath = true,
  grants?: GrantService,
): Promise<Actor> {
  const path = req.url.split('?')[0] ?? '';
  if (SELF_HANDLED(path)) return { kind: 'anonymous' };
  const auth = req.headers.authorization;
  const bearer = grants ?? clients;
  if (bearer && typeof auth === 'string' && /^bearer /i.test(auth)) {
    // RFC 6750: a bearer token; no cookie or CSRF token is involved.
    const actor = await bearer.bearer(auth.slice(7).trim());
    if (!actor) {
      throw new FhirError(
        401,
        [issue('login', 'the access token is invalid, expired or revoked; request a new one at /oauth2/token')],
        'invalid',
        {
          'WWW-Authenticate': 'Bearer error="invalid_token"',
        },
      );
    }
    if (actor.kind === 'user' && path !== '/fhir' && !path.startsWith('/fhir/')) {
      // SMART scopes speak of FHIR resources; administration is for a signed-in person only.
      throw new FhirError(403, [
        issue('forbidden', "an app's access token opens only the FHIR API (/fhir); administration needs a signed-in session"),
      ]);
    }
    return actor;
  }
  const token = identity ? readCookie(req, SESSION_COOKIE) : undefined;
  if (token && identity) {
    const view = await identity.session(token);
    if (!view?.actor) {
      throw new FhirError(401, [issue('login', 'the session has expired or was ended, or sign-in is not complete; sign in again')]);
    }
    if (!SAFE.has(req.method)) requireCsrf(req, view.csrfToken);
    return view.actor;
  }
  if (req.headers.authorization !== undefined) {
    throw new FhirError(401, [
      issue(
        'login',
        'only Bearer access tokens (OAuth 2.0, /oauth2/token) are accepted in the Authorization header; staff sign in at /auth/login',
      ),
    ]);
  }
  if (operatorPath && isLocalOperator(req)) return LOCAL_OPERATOR;
  if (req.method === 'GET' && (path === '/fhir/metadata' || path === '/fhir/metadata/')) return { kind: 'anonymous' };
  throw new FhirError(401, [issue('login', 'sign in first: POST /auth/login, then /auth/mfa')]);
}
