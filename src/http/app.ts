/**
 * The HTTP edge of the FHIR server. The request pipeline is explicit:
 *   edge (request id, peer, proxy chain) -> authenticate -> [operation layer: authorize ->
 *   operate -> audit] -> response
 * The operation layer (FhirService) owns authorize and audit, so Bundle entries and CLI
 * commands pass the same stages as HTTP requests.
 */
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { Config } from '../config/config.js';
import type { Actor, Provenance, RequestContext } from '../fhir/context.js';
import { FhirError, issue } from '../fhir/outcome.js';
import { type FhirRequest, parseQuery } from '../fhir/rest/request.js';
import type { FhirService } from '../fhir/rest/service.js';
import type { TenantId } from '../fhir/types.js';
import type { AccessPolicy, AuditSink } from '../fhir/guard.js';
import type { KeyAdmin } from '../security/crypto/key-admin.js';
import type { AuditProof, ProofRequest } from '../security/audit/prove.js';
import type { VerifyReport } from '../security/audit/verify.js';
import type { ClientService } from '../security/identity/clients.js';
import type { GrantService } from '../security/identity/grants.js';
import type { IdentityService } from '../security/identity/service.js';
import type { AccessGrantService } from '../security/policy/grants.js';
import {
  registerAccessAdminRoutes,
  registerAdminRoutes,
  registerAuditAdminRoutes,
  registerClientAdminRoutes,
  registerUserAdminRoutes,
} from './admin.js';
import { registerAuthRoutes } from './auth.js';
import { registerOAuthRoutes } from './oauth.js';
import { registerAuthorizeRoutes } from './oauth-authorize.js';
import { PatientRegistration } from '../hospital/registration/register.js';
import { registerRegistrationRoutes } from './registration.js';
import { registerWebApp } from './web.js';
import { authenticate } from './authenticate.js';
import { provenance, requestId } from './edge.js';
import { internalError, toFhirError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    sushruta: { provenance: Provenance; actor?: Actor };
  }
}

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export interface AppOptions {
  readonly config: Config;
  readonly service: FhirService;
  readonly tenantId: TenantId;
  readonly logger?: boolean;
  /** Extra liveness check, e.g. a database ping. */
  readonly health?: () => Promise<void>;
  /** Key management, exposed at /admin/keys with the given policy and audit stages. */
  readonly admin?: { readonly keys: KeyAdmin; readonly policy: AccessPolicy; readonly audit: AuditSink };
  /** Audit-log verification and proofs, exposed at /admin/audit with the given policy and audit stages. */
  readonly auditAdmin?: {
    readonly verify: () => Promise<VerifyReport>;
    readonly prove: (req: ProofRequest) => Promise<AuditProof>;
    readonly vkey: string;
    readonly policy: AccessPolicy;
    readonly audit: AuditSink;
  };
  /** Staff sign-in (/auth), account administration (/admin/users) and session authentication. */
  readonly identity?: IdentityService;
  /** Grants and the break-glass report at /admin/access (needs `identity` to name accounts). */
  readonly access?: AccessGrantService;
  /** OAuth 2.0 integration clients: the token endpoint, SMART discovery, bearer tokens, /admin/clients. */
  readonly clients?: ClientService;
  /** Apps acting for staff (authorization code with PKCE, refresh tokens, revocation); needs `identity` and `clients`. */
  readonly grants?: GrantService;
  /** Serve HTTPS with this certificate and key (PEM). */
  readonly https?: { readonly cert: Buffer; readonly key: Buffer };
  /**
   * Whether loopback requests without credentials or proxy headers act as the local operator
   * (default true). The public listener of a TLS server has no operator path: the operator has a
   * loopback-only listener of its own.
   */
  readonly operatorPath?: boolean;
  /** Serve the web app built into this directory (dist/web) at `/`; without it `/` is a plain page. */
  readonly webRoot?: string;
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { config, service } = opts;
  const app = Fastify({
    ...(opts.https ? { https: { cert: opts.https.cert, key: opts.https.key, minVersion: 'TLSv1.2' as const } } : {}),
    logger: opts.logger ? { level: 'info', redact: ['req.headers.authorization', 'req.headers.cookie'] } : false,
    bodyLimit: config.limits.bodyBytes,
    trustProxy: config.trustedProxies.length > 0 ? config.trustedProxies : false,
    genReqId: (req) => requestId(req.headers),
    requestIdHeader: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    // One line per request, written below: query strings carry names and phone numbers, so the
    // log records the path only.
    logController: new LogController({ disableRequestLogging: true }),
    // With `https` Fastify's instance is typed for an https.Server; the routes are the same.
  }) as unknown as FastifyInstance;

  const publicOrigin = (req: FastifyRequest) => (config.baseUrl ? new URL(config.baseUrl).origin : `${req.protocol}://${req.host}`);
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser(['application/fhir+json', 'application/json-patch+json'], { parseAs: 'string' }, jsonParser);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  await app.register(fastifyCookie);

  // Stage 1: edge.
  app.decorateRequest('sushruta', null as never);
  app.addHook('onRequest', async (req, reply) => {
    req.sushruta = { provenance: provenance(req.socket.remoteAddress ?? 'unknown', req.ip, req.headers) };
    reply.header('X-Request-Id', req.id);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Cache-Control', 'no-store');
    // An API, not pages: nothing may frame it, run scripts from it or leak where a link came from.
    reply.header('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('Cross-Origin-Opener-Policy', 'same-origin');
    reply.header('Cross-Origin-Resource-Policy', 'same-origin');
    reply.header('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
    if (req.protocol === 'https' && config.tls.hstsMaxAge > 0) {
      reply.header('Strict-Transport-Security', `max-age=${config.tls.hstsMaxAge}; includeSubDomains`);
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.info(
      { method: req.method, path: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });
  // Stage 2: authenticate.
  app.addHook('preHandler', async (req) => {
    req.sushruta.actor = await authenticate(req, opts.identity, opts.clients, opts.operatorPath ?? true, opts.grants);
  });

  const web = opts.webRoot ? await registerWebApp(app, opts.webRoot) : undefined;
  app.setErrorHandler((err, req, reply) => {
    const fe = toFhirError(err, config.limits);
    if (fe) return sendOutcome(reply, fe);
    req.log.error({ err }, 'unexpected error');
    return sendOutcome(reply, internalError(req.id));
  });
  app.setNotFoundHandler((req, reply) => {
    const page = web?.clientRoute(req, reply);
    if (page) return page;
    sendOutcome(reply, new FhirError(404, [issue('not-found', `no such endpoint: ${req.method} ${req.url.split('?')[0]}`)]));
  });

  app.get('/healthz', async (_req, reply) => {
    await opts.health?.();
    reply.send({ status: 'ok' });
  });
  if (!web) {
    app.get('/', async (_req, reply) => {
      reply
        .type('text/html; charset=utf-8')
        .send('<!doctype html><title>Sushruta</title><h1>Sushruta</h1><p>FHIR R4 server at <a href="/fhir/metadata">/fhir</a>.</p>');
    });
  }

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const ctx = context(req, config, opts.tenantId);
    const res = await service.handle(ctx, fhirRequest(req));
    for (const [k, v] of Object.entries(res.headers)) reply.header(k, v);
    reply.code(res.status);
    if (res.body === undefined) return reply.send();
    return reply.type(FHIR_JSON).send(JSON.stringify(res.body));
  };
  if (opts.admin) registerAdminRoutes(app, { ...opts.admin, context: (req) => context(req, config, opts.tenantId) });
  if (opts.identity) {
    registerAuthRoutes(app, {
      identity: opts.identity,
      context: (req) => context(req, config, opts.tenantId),
      relyingParty: (req) => {
        const origin = publicOrigin(req);
        return { origin, id: new URL(origin).hostname };
      },
    });
    registerUserAdminRoutes(app, { identity: opts.identity, context: (req) => context(req, config, opts.tenantId) });
    if (opts.access) {
      registerAccessAdminRoutes(app, {
        access: opts.access,
        identity: opts.identity,
        context: (req) => context(req, config, opts.tenantId),
      });
    }
  }
  if (opts.clients) {
    const grants = opts.identity ? opts.grants : undefined;
    registerOAuthRoutes(app, {
      clients: opts.clients,
      ...(grants ? { grants } : {}),
      context: (req) => context(req, config, opts.tenantId),
      origin: publicOrigin,
    });
    if (grants && opts.identity) {
      registerAuthorizeRoutes(app, { identity: opts.identity, grants, context: (req) => context(req, config, opts.tenantId) });
    }
    registerClientAdminRoutes(app, { clients: opts.clients, context: (req) => context(req, config, opts.tenantId) });
  }
  registerRegistrationRoutes(app, {
    registration: new PatientRegistration({ service, uhidPrefix: config.uhidPrefix }),
    context: (req) => context(req, config, opts.tenantId),
  });
  if (opts.auditAdmin) registerAuditAdminRoutes(app, { ...opts.auditAdmin, context: (req) => context(req, config, opts.tenantId) });
  for (const url of ['/fhir', '/fhir/*']) {
    app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url, handler });
  }
  return app;
}

function sendOutcome(reply: FastifyReply, err: FhirError): FastifyReply {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply.code(err.status).type(FHIR_JSON).send(JSON.stringify(err.outcome));
}

function baseUrl(req: FastifyRequest, config: Config): string {
  if (config.baseUrl) return config.baseUrl.replace(/\/+$/, '');
  return `${req.protocol}://${req.host}/fhir`;
}

function context(req: FastifyRequest, config: Config, tenantId: TenantId): RequestContext {
  const prefer = header(req, 'prefer') ?? '';
  return {
    requestId: req.id,
    tenantId,
    actor: req.sushruta.actor ?? { kind: 'anonymous' },
    provenance: req.sushruta.provenance,
    baseUrl: baseUrl(req, config),
    lenient: /\bhandling\s*=\s*lenient\b/i.test(prefer),
  };
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function fhirRequest(req: FastifyRequest): FhirRequest {
  const url = req.url;
  const q = url.indexOf('?');
  const pathname = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  const query = parseQuery(rawQuery).filter(([k]) => k !== '_format' && k !== '_pretty');
  const format = parseQuery(rawQuery).find(([k]) => k === '_format')?.[1];
  if (format && !/json/i.test(format)) {
    throw new FhirError(406, [issue('not-supported', `_format '${format}' is not supported; this server speaks application/fhir+json`)]);
  }
  const prefer = header(req, 'prefer') ?? '';
  const ret = /\breturn\s*=\s*(minimal|representation|OperationOutcome)\b/.exec(prefer)?.[1] as FhirRequest['preferReturn'];
  const ifMatch = header(req, 'if-match');
  const ifNoneExist = header(req, 'if-none-exist');
  const ifNoneMatch = header(req, 'if-none-match');
  const contentType = header(req, 'content-type');
  return {
    method: req.method,
    path: pathname.replace(/^\/fhir\/?/, ''),
    rawQuery,
    query,
    body: req.body,
    ...(ret ? { preferReturn: ret } : {}),
    ...(ifMatch ? { ifMatch } : {}),
    ...(ifNoneExist ? { ifNoneExist } : {}),
    ...(ifNoneMatch ? { ifNoneMatch } : {}),
    ...(contentType ? { contentType } : {}),
  };
}
