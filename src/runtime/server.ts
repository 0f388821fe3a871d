/** Starts Sushruta: database, migrations, HTTP server, demo data, graceful shutdown. */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import { buildApp } from '../http/app.js';
import { type DataDirLock, acquireLock } from './lock.js';
import { type AuditAdmin, type OpenOptions, type Sushruta, openSushruta } from './open.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly sushruta: Sushruta;
  readonly url: string;
  stop(): Promise<void>;
}

export async function startServer(config: Config, opts: { logger?: boolean; open?: OpenOptions } = {}): Promise<RunningServer> {
  const lock: DataDirLock | undefined = config.databaseUrl ? undefined : acquireLock(config.dataDir);
  let sushruta: Sushruta | undefined;
  try {
    sushruta = await openSushruta(config, opts.open);
    const s = sushruta;
    const app = await buildApp({
      config,
      service: s.service,
      tenantId: s.tenantId,
      logger: opts.logger ?? false,
      ...(s.keys ? { admin: { keys: s.keys, policy: s.policy, audit: s.audit } } : {}),
      ...(s.auditAdmin
        ? { auditAdmin: { verify: () => (s.auditAdmin as AuditAdmin).verify(), vkey: s.auditAdmin.vkey, policy: s.policy, audit: s.audit } }
        : {}),
      health: async () => {
        await s.db.query('SELECT 1');
      },
    });
    const address = await app.listen({ host: config.host, port: config.port });
    const url = address.replace('[::1]', '[::1]');
    lock?.publish(url);
    let stopping: Promise<void> | undefined;
    return {
      app,
      sushruta: s,
      url,
      stop: () => {
        stopping ??= (async () => {
          await app.close();
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
