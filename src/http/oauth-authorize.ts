/**
 * The authorization endpoint (RFC 6749 section 4.1.1, SMART App Launch 2.0 standalone launch):
 *
 *   GET  /oauth2/authorize   checks the request (security/identity/authorization-request.ts). An
 *                            unknown app or an unregistered redirect_uri gets an error page and is
 *                            never redirected to; any other problem goes back to the app as
 *                            `error`/`error_description`/`state`. Then it needs a signed-in staff
 *                            session (MFA complete): without one, a page (or JSON) saying to sign
 *                            in and continue; with one, a consent page naming the app, the account
 *                            and what the app may do, with Allow / Deny.
 *   POST /oauth2/authorize   the consent form: same-site, the session's CSRF token, the request's
 *                            parameters checked again; Allow redirects (303) to the app with a
 *                            one-time code, Deny with `access_denied`.
 *
 * The session cookie is SameSite=Strict, so a browser arriving from the app's site does not send
 * it on that first navigation; the sign-in page's "Continue" link (same site) does.
 *
 * Pages are plain server-rendered HTML with no script; the consent page may submit only to this
 * server and the app's redirect origin (CSP form-action), and may not be framed (clickjacking).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestContext } from '../fhir/context.js';
import type { AuthorizationRequest } from '../security/identity/authorization-request.js';
import { AUTHORIZATION_PARAMS } from '../security/identity/authorization-request.js';
import type { GrantService } from '../security/identity/grants.js';
import { describeScope } from '../security/identity/scopes.js';
import type { IdentityService, SessionView } from '../security/identity/service.js';
import { safeEqual } from '../security/identity/tokens.js';
import { readCookie, SESSION_COOKIE } from './authenticate.js';

export interface AuthorizeRouteOptions {
  readonly identity: IdentityService;
  readonly grants: GrantService;
  readonly context: (req: FastifyRequest) => RequestContext;
}

const PAGE_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function wantsJson(req: FastifyRequest): boolean {
  const accept = String(req.headers.accept ?? '');
  return /application\/json/i.test(accept) && !/text\/html/i.test(accept);
}

function page(reply: FastifyReply, status: number, title: string, body: string, csp = PAGE_CSP): FastifyReply {
  return reply
    .code(status)
    .header('Content-Security-Policy', csp)
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
        `<meta name="referrer" content="no-referrer"><title>${esc(title)} · Sushruta</title></head>` +
        `<body><main><h1>${esc(title)}</h1>${body}</main></body></html>`,
    );
}

/** An error the user sees (no redirect): JSON {error, error_description} or a page saying the same. */
function problem(req: FastifyRequest, reply: FastifyReply, status: number, error: string, description: string, note = ''): FastifyReply {
  if (wantsJson(req)) {
    return reply
      .code(status)
      .type('application/json; charset=utf-8')
      .send(JSON.stringify({ error, error_description: description }));
  }
  return page(
    reply,
    status,
    'This sign-in request cannot be used',
    `<p>${esc(description)}</p><p><code>${esc(error)}</code></p>${note ? `<p>${esc(note)}</p>` : ''}`,
  );
}

function redirect(reply: FastifyReply, location: string, status: 302 | 303): FastifyReply {
  return reply.code(status).header('Location', location).send();
}

/** The CSP source of a redirect URI: its origin (http, https) or its scheme (a native app's). */
function formTarget(uri: string): string {
  const u = new URL(uri);
  return u.protocol === 'https:' || u.protocol === 'http:' ? u.origin : u.protocol;
}

function signInNeeded(req: FastifyRequest, reply: FastifyReply, view: SessionView | null, appName: string): FastifyReply {
  const description = view
    ? 'finish signing in to Sushruta (including the second factor) in this browser, then continue'
    : 'sign in to Sushruta in this browser (with your password and authenticator), then continue';
  const again = req.url; // this same request, from a page of this site: the session cookie goes with it
  if (wantsJson(req)) {
    return reply
      .code(401)
      .type('application/json; charset=utf-8')
      .send(JSON.stringify({ error: 'login_required', error_description: description, sign_in: '/auth/login', continue: again }));
  }
  return page(
    reply,
    401,
    'Sign in to Sushruta first',
    `<p>${esc(appName)} asks to use Sushruta on your behalf. To decide, ${esc(description)}.</p>` +
      `<p><a href="${esc(again)}">Continue</a></p>`,
  );
}

function consentPage(reply: FastifyReply, req: AuthorizationRequest, view: SessionView): FastifyReply {
  const a = view.account;
  const dropped = req.requested.filter((s) => !req.scopes.includes(s));
  const hidden = AUTHORIZATION_PARAMS.filter((p) => req.params[p] !== undefined)
    .map((p) => `<input type="hidden" name="${p}" value="${esc(req.params[p] as string)}">`)
    .join('');
  const target = formTarget(req.redirectUri);
  return page(
    reply,
    200,
    `Allow ${req.client.name}?`,
    `<p><strong>${esc(req.client.name)}</strong> asks to use Sushruta as <strong>${esc(a.displayName)}</strong> (${esc(a.username)}). It may:</p>` +
      `<ul>${req.scopes.map((s) => `<li>${esc(describeScope(s))} <small><code>${esc(s)}</code></small></li>`).join('')}</ul>` +
      (dropped.length > 0
        ? `<p>It also asked for what it is not registered for, which it will not get: <code>${esc(dropped.join(' '))}</code></p>`
        : '') +
      '<p>It never gets more than your own role allows. Every access it makes is recorded under your name.</p>' +
      `<p>After you decide you return to <code>${esc(target)}</code>.</p>` +
      `<form method="post" action="/oauth2/authorize">${hidden}<input type="hidden" name="csrf_token" value="${esc(view.csrfToken)}">` +
      '<button type="submit" name="decision" value="approve">Allow</button> ' +
      '<button type="submit" name="decision" value="deny">Deny</button></form>',
    `default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self' ${target}`,
  );
}

export function registerAuthorizeRoutes(app: FastifyInstance, o: AuthorizeRouteOptions): void {
  const { grants, identity } = o;

  /** The live session of the browser, and the request context with its user as the actor. */
  const signedIn = async (req: FastifyRequest) => {
    const view = await identity.session(readCookie(req, SESSION_COOKIE));
    const ctx = o.context(req);
    return { view, ctx: view?.actor ? { ...ctx, actor: view.actor } : ctx };
  };

  /** Checks the parameters; answers an error (page or redirect) and returns null when they fail. */
  const check = async (req: FastifyRequest, reply: FastifyReply, ctx: RequestContext, params: URLSearchParams) => {
    const c = await grants.checkAuthorization(ctx, params);
    if (c.kind === 'invalid') {
      problem(
        req,
        reply,
        400,
        c.error.error,
        c.error.description,
        'You were not sent back to the app: its address could not be trusted. Tell whoever runs the app.',
      );
      return null;
    }
    if (c.kind === 'redirect') {
      redirect(reply, grants.errorRedirect(c.redirectUri, c.state, c.error), 302);
      return null;
    }
    return c.request;
  };

  app.get('/oauth2/authorize', async (req, reply) => {
    const { view, ctx } = await signedIn(req);
    const q = req.url.indexOf('?');
    const request = await check(req, reply, ctx, new URLSearchParams(q < 0 ? '' : req.url.slice(q + 1)));
    if (!request) return reply;
    if (!view?.actor) return signInNeeded(req, reply, view, request.client.name);
    return consentPage(reply, request, view);
  });

  app.post('/oauth2/authorize', async (req, reply) => {
    const ct = String(req.headers['content-type'] ?? '');
    if (!/^application\/x-www-form-urlencoded\b/i.test(ct) || typeof req.body !== 'string') {
      return problem(req, reply, 415, 'invalid_request', 'the consent form is sent as application/x-www-form-urlencoded');
    }
    // Only this site's own consent page may submit it (besides the CSRF token below).
    const site = req.headers['sec-fetch-site'];
    const origin = req.headers.origin;
    if (
      (typeof site === 'string' && site !== 'same-origin' && site !== 'none') ||
      (typeof origin === 'string' && origin !== `${req.protocol}://${req.host}`)
    ) {
      return problem(req, reply, 403, 'access_denied', 'the consent form is accepted only from this site');
    }
    const form = new URLSearchParams(req.body);
    const { view, ctx } = await signedIn(req);
    if (!view?.actor) return signInNeeded(req, reply, view, 'An app');
    const csrf = form.get('csrf_token');
    if (!csrf || !safeEqual(csrf, view.csrfToken)) {
      return problem(req, reply, 403, 'access_denied', "the consent form lacks this session's CSRF token; open the app's sign-in again");
    }
    const request = await check(req, reply, ctx, form);
    if (!request) return reply;
    const decision = form.get('decision');
    if (decision === 'approve') {
      return redirect(reply, await grants.approve(ctx, { id: view.id, actor: view.actor, expiresAt: view.expiresAt }, request), 303);
    }
    if (decision === 'deny') return redirect(reply, await grants.deny(ctx, request), 303);
    return problem(req, reply, 400, 'invalid_request', "decision must be 'approve' or 'deny'");
  });
}
