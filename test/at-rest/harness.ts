/**
 * A Sushruta server for the encryption-at-rest tests, on storage that outlives the process: a
 * PGlite data directory on disk, or a fresh PostgreSQL schema. (test/support/server.ts uses an
 * in-memory PGlite, which can be neither copied as raw files nor restarted with another key file.)
 *
 * The server is the real composition: openSushruta (key file -> key ring -> encrypted codec ->
 * blind-index transform) + buildApp with the key and audit administration routes, listening on a random
 * loopback port, exactly as src/runtime/server.ts wires it (minus the data-directory lock, so a
 * test can reopen a directory whose previous opening failed).
 *
 * SUSHRUTA_AT_REST_SELFTEST=plaintext starts every server with `encryption: false`, and
 * SUSHRUTA_AT_REST_SELFTEST=plain-index keeps bodies encrypted but replaces the blind-index transform
 * with the identity (search values stored in plain): the tests in this directory must then FAIL.
 * It exists so anyone can check that they can (see each test file's header); never set in CI.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type Config, loadConfig } from '../../src/config/config.js';
import type { AccessPolicy } from '../../src/fhir/guard.js';
import { identityTransform, setIndexValueTransform } from '../../src/fhir/search/index.js';
import { buildApp } from '../../src/http/app.js';
import { type AuditAdmin, type Sushruta, openSushruta } from '../../src/runtime/open.js';
import type { ProofRequest } from '../../src/security/audit/prove.js';
import { freshSchemaUrl, postgresUrl } from '../support/db.js';

export const TENANT = 'at-rest-hospital';
export const FHIR_JSON = 'application/fhir+json';

// biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary FHIR JSON
export type Json = any;

export type Kind = 'pglite' | 'postgres';

/** The kinds to run on: PGlite always, PostgreSQL when the global setup found one (invariant 6). */
export function atRestKinds(): { name: Kind }[] {
  return postgresUrl() ? [{ name: 'pglite' }, { name: 'postgres' }] : [{ name: 'pglite' }];
}

/** Where one test's data lives. */
export interface Storage {
  readonly kind: Kind;
  /** Scratch directory holding the PGlite data directory and, beside it, the default key directory. */
  readonly root: string;
  readonly dataDir: string;
  /** The default key file: `<dataDir>.keys/master.kek` (config.ts), outside the data directory. */
  readonly keyFile: string;
  /** PostgreSQL only. */
  readonly databaseUrl?: string;
  /** PostgreSQL only: the fresh schema's name (from the URL's `options=-c search_path=...`). */
  readonly schema?: string;
  remove(): void;
}

export async function makeStorage(kind: Kind): Promise<Storage> {
  const root = mkdtempSync(join(tmpdir(), 'sushruta-at-rest-'));
  const dataDir = join(root, 'data');
  const keyFile = `${dataDir}.keys/master.kek`;
  let databaseUrl: string | undefined;
  let schema: string | undefined;
  if (kind === 'postgres') {
    const url = postgresUrl();
    if (!url) throw new Error('no PostgreSQL for this run');
    databaseUrl = await freshSchemaUrl(url);
    schema = schemaOf(databaseUrl);
  }
  return {
    kind,
    root,
    dataDir,
    keyFile,
    ...(databaseUrl ? { databaseUrl } : {}),
    ...(schema ? { schema } : {}),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** The schema named in a `?options=-c search_path=<schema>` connection URL. */
export function schemaOf(databaseUrl: string): string {
  const options = new URL(databaseUrl).searchParams.get('options') ?? '';
  const m = /search_path=([A-Za-z0-9_]+)/.exec(options);
  if (!m?.[1]) throw new Error(`no search_path in ${databaseUrl}`);
  return m[1];
}

export function selfTestPlaintext(): boolean {
  return process.env.SUSHRUTA_AT_REST_SELFTEST === 'plaintext';
}

function selfTestPlainIndex(): boolean {
  return process.env.SUSHRUTA_AT_REST_SELFTEST === 'plain-index';
}

export interface Response {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: Json;
}

export interface AtRestServer {
  readonly storage: Storage;
  readonly config: Config;
  readonly sushruta: Sushruta;
  readonly app: FastifyInstance;
  readonly base: string;
  readonly backgroundErrors: unknown[];
  fhir(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

export function configFor(storage: Storage, keyFile?: string, limits: Partial<Config['limits']> = {}): Config {
  return loadConfig({
    env: {},
    flags: {
      port: 0,
      tenant: TENANT,
      dataDir: storage.dataDir,
      ...(keyFile ? { keyFile } : {}),
      ...(storage.databaseUrl ? { databaseUrl: storage.databaseUrl, databasePoolSize: 6 } : {}),
      limits: { maxCount: 1000, ...limits },
    },
  });
}

export interface StartOptions {
  /** Another key file than the default one. */
  readonly keyFile?: string;
  /** Resume unfinished key jobs in the background at start (the real server does). Default true. */
  readonly backgroundJobs?: boolean;
  readonly limits?: Partial<Config['limits']>;
  /** Another access policy than the local operator's (tests of refusals). */
  readonly policy?: AccessPolicy;
}

export async function startAtRest(storage: Storage, opts: StartOptions = {}): Promise<AtRestServer> {
  const config = configFor(storage, opts.keyFile, opts.limits);
  const backgroundErrors: unknown[] = [];
  const sushruta = await openSushruta(config, {
    encryption: !selfTestPlaintext(),
    backgroundJobs: opts.backgroundJobs ?? true,
    ...(opts.policy ? { policy: opts.policy } : {}),
    onError: (err) => backgroundErrors.push(err),
  });
  if (selfTestPlainIndex()) setIndexValueTransform(identityTransform);
  let app: FastifyInstance;
  try {
    app = await buildApp({
      config,
      service: sushruta.service,
      tenantId: sushruta.tenantId,
      ...(sushruta.keys ? { admin: { keys: sushruta.keys, policy: sushruta.policy, audit: sushruta.audit } } : {}),
      ...(sushruta.auditAdmin
        ? { auditAdmin: { ...auditAdminOf(sushruta.auditAdmin), policy: sushruta.policy, audit: sushruta.audit } }
        : {}),
    });
  } catch (err) {
    await sushruta.close();
    throw err;
  }
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `${url}/fhir`;
  let stopping: Promise<void> | undefined;
  return {
    storage,
    config,
    sushruta,
    app,
    base,
    backgroundErrors,
    fhir: (method, path, body, headers) => request(base, method, path, body, headers),
    stop: () => {
      stopping ??= (async () => {
        await app.close();
        await sushruta.close();
      })();
      return stopping;
    },
  };
}

export async function request(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const res = await fetch(`${base}${path === '' || path.startsWith('/') ? '' : '/'}${path}`, {
    method,
    headers: {
      accept: FHIR_JSON,
      ...(body !== undefined ? { 'content-type': FHIR_JSON } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* keep the text */
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** Ids of a search result Bundle's match entries, sorted. */
export function matchIds(bundle: Json): string[] {
  return ((bundle?.entry ?? []) as Json[])
    .filter((e) => (e.search?.mode ?? 'match') === 'match')
    .map((e) => e.resource.id as string)
    .sort();
}

/** POSTs a transaction Bundle and returns the ids it created, in entry order. */
export async function transact(server: AtRestServer, entries: Json[]): Promise<string[]> {
  const r = await server.fhir('POST', '', { resourceType: 'Bundle', type: 'transaction', entry: entries });
  if (r.status !== 200) throw new Error(`transaction answered ${r.status}: ${r.text.slice(0, 2000)}`);
  return (r.body.entry as Json[]).map((e) => {
    const loc = String(e.response?.location ?? '');
    const m = /^(?:.*\/)?([A-Za-z]+)\/([^/]+)\/_history\/\d+$/.exec(loc);
    if (!m?.[2]) throw new Error(`transaction response entry without a location: ${JSON.stringify(e.response)}`);
    return m[2];
  });
}

/** The resource without server-assigned meta, for comparing what was sent with what is read. */
export function content(resource: Json): Json {
  const { meta: _meta, id: _id, ...rest } = resource ?? {};
  return rest;
}

/** The audit admin operations of an opened Sushruta, as the real server exposes them at /admin/audit. */
function auditAdminOf(a: AuditAdmin) {
  return { verify: () => a.verify(), prove: (req: ProofRequest) => a.prove(req), vkey: a.vkey };
}
