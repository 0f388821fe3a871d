/**
 * Starts Sushruta: database, migrations, HTTP server, demo data, graceful shutdown.
 *
 * Without TLS: one listener on a loopback address (config refuses any other), where requests
 * from this machine without proxy headers act as the operator.
 * With TLS: the public HTTPS listener (any address) has no operator path; a second listener,
 * plain HTTP on 127.0.0.1 (an ephemeral port, published in the data directory's lock file), is
 * the operator's and the CLI's door. Both serve the same operation layer.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import { buildApp } from '../http/app.js';
import { defaultWebRoot, webAppBuilt } from '../http/web.js';
import { type DataDirLock, acquireLock } from './lock.js';
import type { ProofRequest } from '../security/audit/prove.js';
import { type AuditAdmin, type OpenOptions, type Sushruta, openSushruta } from './open.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly sushruta: Sushruta;
  readonly url: string;
  /** Where the operator (and the CLI) reach the server: `url` itself without TLS, a loopback listener with TLS. */
  readonly operatorUrl: string;
  /** A one-time token that creates the first hospital administrator, when the hospital has no accounts yet. */
  readonly setupToken: string | null;
  /** The directory the web app is served from at `/`, or null when it is not built (`npm run build`). */
  readonly webRoot: string | null;
  stop(): Promise<void>;
}

export async function startServer(
  config: Config,
  opts: { logger?: boolean; open?: OpenOptions /** The built web app (default dist/web). */; webRoot?: string } = {},
): Promise<RunningServer> {
  const webRoot = opts.webRoot ?? defaultWebRoot();
  const web = webAppBuilt(webRoot) ? webRoot : null;
  const lock: DataDirLock | undefined = config.databaseUrl ? undefined : acquireLock(config.dataDir);
  let sushruta: Sushruta | undefined;
  try {
    sushruta = await openSushruta(config, opts.open);
    const s = sushruta;
    const tls =
      config.tls.certFile && config.tls.keyFile
        ? { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) }
        : undefined;
    const build = (extra: { https?: { cert: Buffer; key: Buffer }; operatorPath: boolean }) =>
      buildApp({
        config,
        ...extra,
        service: s.service,
        tenantId: s.tenantId,
        identity: s.identity,
        clients: s.clients,
        grants: s.grants,
        access: s.access,
        logger: opts.logger ?? false,
        ...(web ? { webRoot: web } : {}),
        ...(s.keys ? { admin: { keys: s.keys, policy: s.policy, audit: s.audit } } : {}),
        ...(s.auditAdmin ? { auditAdmin: auditAdminRoutes(s.auditAdmin, s) } : {}),
        health: async () => {
          await s.db.query('SELECT 1');
        },
      });
    const app = await build(tls ? { https: tls, operatorPath: false } : { operatorPath: true });
    const operatorApp = tls ? await build({ operatorPath: true }) : undefined;
    const url = await app.listen({ host: config.host, port: config.port });
    const operatorUrl = operatorApp ? await operatorApp.listen({ host: '127.0.0.1', port: 0 }) : url;
    lock?.publish(operatorUrl);
    const setupToken = await s.identity.issueSetupToken();
    let stopping: Promise<void> | undefined;
    return {
      app,
      sushruta: s,
      url,
      operatorUrl,
      setupToken,
      webRoot: web,
      stop: () => {
        stopping ??= (async () => {
          await app.close();
          await operatorApp?.close();
          await s.close();
          lock?.release();
        })();
        return stopping;
      },
    };
  } catch (err) {
    await sushruta?.close().catch(() => undefined);
    lock?.release();
    throw err;
  }
}

/** The audit admin operations with the server's own policy and audit stages. */
function auditAdminRoutes(a: AuditAdmin, s: Sushruta) {
  return { verify: () => a.verify(), prove: (req: ProofRequest) => a.prove(req), vkey: a.vkey, policy: s.policy, audit: s.audit };
}
