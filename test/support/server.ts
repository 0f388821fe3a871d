/**
 * An in-process Sushruta on a test database, listening on a random loopback port, for tests
 * that speak HTTP (our own fetches and third-party FHIR clients alike).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type Config, loadConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/http/app.js';
import { type Sushruta, openSushruta } from '../../src/runtime/open.js';
import { MemoryAuditSink } from '../../src/security/audit/memory-sink.js';
import type { TestDbKind } from './db.js';

export interface TestServer {
  readonly url: string;
  readonly base: string;
  readonly app: FastifyInstance;
  readonly sushruta: Sushruta;
  readonly audit: MemoryAuditSink;
  readonly config: Config;
  fhir(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface TestResponse {
  readonly status: number;
  readonly headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary FHIR JSON
  readonly body: any;
}

export async function startTestServer(kind: TestDbKind, overrides: Partial<Config['limits']> = {}): Promise<TestServer> {
  const keyDir = mkdtempSync(join(tmpdir(), 'sushruta-test-keys-'));
  const config = loadConfig({
    env: {},
    flags: { port: 0, tenant: 'test-hospital', keyFile: join(keyDir, 'master.kek'), limits: overrides },
  });
  const db = await kind.open();
  const audit = new MemoryAuditSink();
  const sushruta = await openSushruta(config, { db, audit });
  const app = await buildApp({
    config,
    service: sushruta.service,
    tenantId: sushruta.tenantId,
    ...(sushruta.keys ? { admin: { keys: sushruta.keys, policy: sushruta.policy, audit: sushruta.audit } } : {}),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `${url}/fhir`;
  return {
    url,
    base,
    app,
    sushruta,
    audit,
    config,
    async fhir(method, path, body, headers = {}) {
      const isString = typeof body === 'string';
      const res = await fetch(`${base}${path.startsWith('/') || path === '' ? '' : '/'}${path}`, {
        method,
        headers: {
          accept: 'application/fhir+json',
          ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: isString ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        /* keep text */
      }
      return { status: res.status, headers: res.headers, body: parsed };
    },
    async close() {
      await app.close();
      await sushruta.close();
      rmSync(keyDir, { recursive: true, force: true });
    },
  };
}
