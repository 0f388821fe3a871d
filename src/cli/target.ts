/**
 * Where a CLI command sends its FHIR requests. With PGlite, if a server already holds the data
 * directory the command goes through that server's HTTP API; otherwise it opens the database
 * itself, holding the same lock. With PostgreSQL it opens the database directly (many processes
 * may share a PostgreSQL). Either way every request passes the operation layer's stages.
 */
import type { Config } from '../config/config.js';
import type { RequestContext } from '../fhir/context.js';
import { FhirError } from '../fhir/outcome.js';
import { type FhirRequest, type FhirResponse, parseQuery } from '../fhir/rest/request.js';
import { TenantId } from '../fhir/types.js';
import { acquireLock, lockHolder } from '../runtime/lock.js';
import { openSushruta } from '../runtime/open.js';

export interface FhirTarget {
  readonly description: string;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<FhirResponse>;
  close(): Promise<void>;
}

export async function openTarget(config: Config, job: string): Promise<FhirTarget> {
  if (!config.databaseUrl) {
    const holder = lockHolder(config.dataDir);
    if (holder?.url) return httpTarget(holder.url);
  }
  const lock = config.databaseUrl ? undefined : acquireLock(config.dataDir);
  try {
    const s = await openSushruta(config);
    const ctx: RequestContext = {
      requestId: `cli-${process.pid}-${Date.now()}`,
      tenantId: TenantId(config.tenant),
      actor: { kind: 'system', job },
      provenance: { peerAddress: 'local', clientAddress: 'local', forwardedChain: [], userAgent: `sushruta-cli/${job}` },
      baseUrl: config.baseUrl ?? 'urn:sushruta:local/fhir',
      lenient: false,
    };
    return {
      description: config.databaseUrl ? 'PostgreSQL (direct)' : `PGlite data directory ${config.dataDir} (direct)`,
      async request(method, path, body, headers = {}) {
        const [p, raw = ''] = path.split('?', 2) as [string, string?];
        const req: FhirRequest = {
          method,
          path: p,
          rawQuery: raw,
          query: parseQuery(raw),
          body,
          contentType: headers['content-type'] ?? 'application/fhir+json',
          ...(headers['if-none-exist'] ? { ifNoneExist: headers['if-none-exist'] } : {}),
        };
        try {
          return await s.service.handle(ctx, req);
        } catch (err) {
          if (err instanceof FhirError) return { status: err.status, headers: err.headers, body: err.outcome };
          throw err;
        }
      },
      async close() {
        await s.close();
        lock?.release();
      },
    };
  } catch (err) {
    lock?.release();
    throw err;
  }
}

function httpTarget(serverUrl: string): FhirTarget {
  const base = `${serverUrl.replace(/\/+$/, '')}/fhir`;
  return {
    description: `the running server at ${serverUrl}`,
    async request(method, path, body, headers = {}) {
      const res = await fetch(`${base}/${path}`, {
        method,
        headers: {
          accept: 'application/fhir+json',
          ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      const out: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        out[k] = v;
      });
      return { status: res.status, headers: out, body: text ? JSON.parse(text) : undefined };
    },
    close: async () => undefined,
  };
}
