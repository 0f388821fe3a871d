/**
 * Staff sign-in for the web app, at /auth (JSON in, JSON out; errors are OperationOutcomes):
 *
 *   GET  /auth/setup              {setupNeeded}: true while the hospital has no account
 *   POST /auth/setup              {token, username, displayName, password}: the first administrator
 *   POST /auth/login              {username, password} -> {stage, csrfToken}; sets the session cookie
 *   POST /auth/password           {newPassword}            (stage 'password')
 *   POST /auth/totp/begin         -> {secret, uri}          (stage 'enrol')
 *   POST /auth/totp/confirm       {code} -> {recoveryCodes} (stage 'enrol' -> 'active')
 *   POST /auth/mfa                {code} | {recoveryCode} | {webauthn}  (stage 'mfa' -> 'active')
 *   POST /auth/webauthn/options   -> request options for a passkey (stage 'mfa')
 *   POST /auth/webauthn/register/options, /auth/webauthn/register {response, name}: add a passkey
 *                                 or security key as a second factor (signed in)
 *   GET  /auth/session            who is signed in, the stage, the CSRF token, when the session
 *                                 ends (expiresAt) and how long idleness ends it (idleTimeoutSeconds)
 *   POST /auth/logout             ends this session
 *   POST /auth/logout-everywhere  ends every session of the account
 *
 * Every POST must be JSON (an HTML form cannot send that cross-site without a CORS preflight,
 * which this server never grants) and must not come from another site (Origin / Sec-Fetch-Site);
 * those after login also need the session's CSRF token. The session cookie's secret changes at
 * every stage, so a cookie seen before MFA is worthless after it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestContext } from '../fhir/context.js';
import { FhirError, issue } from '../fhir/outcome.js';
import type { IdentityService, RelyingParty, SessionView, StaffAccount } from '../security/identity/service.js';
import {
  clearSessionCookie,
  DEVICE_COOKIE,
  readCookie,
  requireCsrf,
  SESSION_COOKIE,
  setDeviceCookie,
  setSessionCookie,
} from './authenticate.js';

export interface AuthRouteOptions {
  readonly identity: IdentityService;
  readonly context: (req: FastifyRequest) => RequestContext;
  /** The WebAuthn relying party of a request (from `baseUrl` when set, else the request's own origin). */
  readonly relyingParty: (req: FastifyRequest) => RelyingParty;
}

type Body = Record<string, unknown>;

function body(req: FastifyRequest): Body {
  const ct = String(req.headers['content-type'] ?? '');
  if (!/^application\/json\b/i.test(ct) || typeof req.body !== 'object' || req.body === null) {
    throw new FhirError(415, [issue('not-supported', 'send a JSON body with Content-Type: application/json')]);
  }
  return req.body as Body;
}

function str(b: Body, name: string): string {
  const v = b[name];
  if (typeof v !== 'string' || v.length === 0)
    throw new FhirError(400, [issue('required', `the request body needs a string '${name}'`, name)]);
  return v;
}

/** Refuses requests that a browser marks as coming from another site (login CSRF and the like). */
function sameSite(req: FastifyRequest): void {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') {
    throw new FhirError(403, [issue('forbidden', 'sign-in requests are accepted only from this site')]);
  }
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== 'null' && origin !== `${req.protocol}://${req.host}`) {
    throw new FhirError(403, [issue('forbidden', `sign-in requests are accepted only from this site, not from ${origin}`)]);
  }
  if (origin === 'null') throw new FhirError(403, [issue('forbidden', 'sign-in requests are accepted only from this site')]);
}

export function accountView(a: StaffAccount) {
  return {
    id: a.id,
    username: a.username,
    displayName: a.displayName,
    roles: a.roles,
    departments: a.departments,
    practitionerId: a.practitionerId,
    practitionerRoleIds: a.practitionerRoleIds,
    status: a.status,
    passwordMustChange: a.passwordMustChange,
    totpEnrolled: a.totpEnrolled,
    recoveryCodesLeft: a.recoveryCodesLeft,
    webauthnCredentials: a.webauthnCredentials,
    createdAt: a.createdAt,
    createdBy: a.createdBy,
  };
}

function baseSessionView(v: SessionView) {
  return { session: v.id, stage: v.stage, expiresAt: v.expiresAt.toISOString(), csrfToken: v.csrfToken, account: accountView(v.account) };
}

export function registerAuthRoutes(app: FastifyInstance, o: AuthRouteOptions): void {
  const { identity } = o;
  /**
   * The session as the web app sees it. `expiresAt` is the absolute end; `idleTimeoutSeconds` how
   * long without a request ends it sooner (measured from the last request, to within a minute).
   */
  const sessionView = (v: SessionView) => ({ ...baseSessionView(v), idleTimeoutSeconds: Math.round(identity.idleMs / 1000) });
  const json = (reply: FastifyReply, status: number, value: unknown) =>
    reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(value));
  /** A POST of a signed-in (or signing-in) browser: same site, JSON, CSRF token of its session. */
  const pending = async (req: FastifyRequest) => {
    sameSite(req);
    const token = readCookie(req, SESSION_COOKIE);
    const view = token ? await identity.session(token) : null;
    if (!token || !view) throw new FhirError(401, [issue('login', 'the session has expired or was ended; sign in again')]);
    requireCsrf(req, view.csrfToken);
    return token;
  };

  app.get('/auth/setup', async (_req, reply) => json(reply, 200, { setupNeeded: (await identity.accountCount()) === 0 }));

  app.post('/auth/setup', async (req, reply) => {
    sameSite(req);
    const b = body(req);
    const account = await identity.setup(o.context(req), {
      token: str(b, 'token'),
      username: str(b, 'username'),
      displayName: str(b, 'displayName'),
      password: str(b, 'password'),
    });
    return json(reply, 201, { account: accountView(account), next: 'sign in at /auth/login and enrol an authenticator' });
  });

  app.post('/auth/login', async (req, reply) => {
    sameSite(req);
    const b = body(req);
    const device = readCookie(req, DEVICE_COOKIE);
    const step = await identity.signIn(o.context(req), {
      username: str(b, 'username'),
      password: str(b, 'password'),
      ...(device ? { deviceToken: device } : {}),
    });
    setSessionCookie(req, reply, step.sessionToken);
    return json(reply, 200, sessionView(step.session));
  });

  app.post('/auth/password', async (req, reply) => {
    const token = await pending(req);
    const step = await identity.choosePassword(o.context(req), token, str(body(req), 'newPassword'));
    setSessionCookie(req, reply, step.sessionToken);
    return json(reply, 200, sessionView(step.session));
  });

  app.post('/auth/totp/begin', async (req, reply) => {
    const token = await pending(req);
    return json(reply, 200, await identity.beginTotp(o.context(req), token));
  });

  app.post('/auth/totp/confirm', async (req, reply) => {
    const token = await pending(req);
    const out = await identity.confirmTotp(o.context(req), token, str(body(req), 'code'));
    setSessionCookie(req, reply, out.sessionToken);
    return json(reply, 200, {
      ...sessionView(out.session),
      recoveryCodes: out.recoveryCodes,
      note: 'store the recovery codes offline; each works once',
    });
  });

  app.post('/auth/mfa', async (req, reply) => {
    const token = await pending(req);
    const b = body(req);
    const device = readCookie(req, DEVICE_COOKIE);
    const out = await identity.verifyMfa(o.context(req), token, {
      ...(typeof b.code === 'string' ? { code: b.code } : {}),
      ...(typeof b.recoveryCode === 'string' ? { recoveryCode: b.recoveryCode } : {}),
      ...(b.webauthn !== undefined ? { webauthn: b.webauthn, rp: o.relyingParty(req) } : {}),
      ...(device ? { deviceToken: device } : {}),
    });
    setSessionCookie(req, reply, out.sessionToken);
    setDeviceCookie(req, reply, out.deviceToken);
    return json(reply, 200, { ...sessionView(out.session), recoveryCodesLeft: out.recoveryCodesLeft });
  });

  app.post('/auth/webauthn/options', async (req, reply) => {
    const token = await pending(req);
    return json(reply, 200, await identity.webauthnAuthenticationOptions(o.context(req), token, o.relyingParty(req)));
  });

  app.post('/auth/webauthn/register/options', async (req, reply) => {
    const token = await pending(req);
    return json(reply, 200, await identity.webauthnRegistrationOptions(o.context(req), token, o.relyingParty(req)));
  });

  app.post('/auth/webauthn/register', async (req, reply) => {
    const token = await pending(req);
    const b = body(req);
    const name = typeof b.name === 'string' ? b.name : 'passkey';
    return json(reply, 200, await identity.webauthnRegister(o.context(req), token, b.response, o.relyingParty(req), name));
  });

  app.get('/auth/session', async (req, reply) => {
    const view = await identity.session(readCookie(req, SESSION_COOKIE));
    if (!view) throw new FhirError(401, [issue('login', 'not signed in')]);
    return json(reply, 200, sessionView(view));
  });

  for (const [path, everywhere] of [
    ['/auth/logout', false],
    ['/auth/logout-everywhere', true],
  ] as const) {
    app.post(path, async (req, reply) => {
      const token = await pending(req);
      const out = await identity.signOut(o.context(req), token, everywhere);
      clearSessionCookie(req, reply);
      return json(reply, 200, out);
    });
  }
}
