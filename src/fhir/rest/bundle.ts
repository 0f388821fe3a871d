/**
 * batch and transaction Bundles. A transaction is one database transaction: every entry
 * succeeds or nothing is written. Entries are processed in the order the specification gives
 * (DELETE, POST, PUT/PATCH, GET), and `urn:uuid:` fullUrls of created resources are resolved to
 * the ids the server assigns, wherever they are referenced in the Bundle.
 */
import type { Bundle, BundleEntry, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { FhirError, badRequest, issue } from '../outcome.js';
import type { AnyResource } from '../types.js';
import type { Queryable } from '../../store/db.js';
import { conditionalMatches } from './conditional.js';
import type { FhirDeps } from './deps.js';
import { type FhirRequest, type FhirResponse, parseQuery, type Route } from './request.js';
import { newId } from './write.js';

export interface EntryExecutor {
  /** Runs one entry's request through the full pipeline (authorize, operate) inside `q`. */
  (req: FhirRequest, q: Queryable | undefined, assignedId?: string): Promise<FhirResponse>;
  route(req: FhirRequest): Route;
  /** Runs last inside a transaction Bundle's transaction, after every entry (the entries' audit records). */
  beforeCommit?(q: Queryable): Promise<void>;
}

interface ParsedEntry {
  readonly index: number;
  readonly fullUrl?: string;
  readonly req: FhirRequest;
}

const ORDER: Record<string, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

export function checkBundle(body: unknown, maxEntries: number): Bundle & { type: 'batch' | 'transaction' } {
  const b = body as Bundle;
  if (!b || typeof b !== 'object' || b.resourceType !== 'Bundle')
    throw badRequest('POST to the base URL needs a Bundle of type batch or transaction', 'Bundle');
  if (b.type !== 'batch' && b.type !== 'transaction')
    throw badRequest(`Bundle.type must be batch or transaction, got '${String(b.type)}'`, 'Bundle.type');
  if (b.entry !== undefined && !Array.isArray(b.entry)) throw badRequest('Bundle.entry must be an array', 'Bundle.entry');
  const n = b.entry?.length ?? 0;
  if (n > maxEntries) throw badRequest(`the Bundle has ${n} entries; this server accepts at most ${maxEntries} per Bundle`, 'Bundle.entry');
  return b as Bundle & { type: 'batch' | 'transaction' };
}

function parseEntry(e: BundleEntry | undefined, index: number): ParsedEntry {
  const at = `Bundle.entry[${index}]`;
  if (!e || typeof e !== 'object') throw badRequest(`${at} is not an object`, at);
  const r = e.request;
  if (!r || typeof r.method !== 'string' || typeof r.url !== 'string')
    throw badRequest(`${at}.request needs a method and a url`, `${at}.request`);
  const method = r.method.toUpperCase();
  if (!(method in ORDER))
    throw badRequest(`${at}.request.method '${r.method}' is not one of GET, POST, PUT, PATCH, DELETE`, `${at}.request.method`);
  const url = r.url.replace(/^\/+/, '');
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  let body: unknown = e.resource;
  let contentType = 'application/fhir+json';
  if (method === 'PATCH') {
    // FHIR carries a JSON Patch in a Binary resource inside a Bundle.
    const bin = e.resource as { resourceType?: string; contentType?: string; data?: string } | undefined;
    if (bin?.resourceType !== 'Binary' || typeof bin.data !== 'string')
      throw badRequest(`${at}.resource must be a Binary holding a JSON Patch`, `${at}.resource`);
    contentType = bin.contentType ?? '';
    try {
      body = JSON.parse(Buffer.from(bin.data, 'base64').toString('utf8'));
    } catch {
      throw badRequest(`${at}.resource.data is not base64 JSON`, `${at}.resource.data`);
    }
  }
  const req: FhirRequest = {
    method,
    path,
    rawQuery,
    query: parseQuery(rawQuery),
    body,
    contentType,
    ...(r.ifMatch ? { ifMatch: r.ifMatch } : {}),
    ...(r.ifNoneExist ? { ifNoneExist: r.ifNoneExist } : {}),
    ...(r.ifNoneMatch ? { ifNoneMatch: r.ifNoneMatch } : {}),
  };
  return { index, req, ...(e.fullUrl ? { fullUrl: e.fullUrl } : {}) };
}

function responseEntry(res: FhirResponse, baseUrl: string): BundleEntry {
  const location = res.headers.Location;
  const entry: BundleEntry = {
    response: {
      status: String(res.status),
      ...(location ? { location: location.startsWith(baseUrl) ? location.slice(baseUrl.length + 1) : location } : {}),
      ...(res.headers.ETag ? { etag: res.headers.ETag } : {}),
      ...(res.headers['Last-Modified'] ? { lastModified: new Date(res.headers['Last-Modified']).toISOString() } : {}),
    },
  };
  const body = res.body as AnyResource | undefined;
  if (body?.resourceType === 'OperationOutcome' && entry.response) entry.response.outcome = body as never;
  else if (body) entry.resource = body;
  if (body?.resourceType && body.resourceType !== 'OperationOutcome' && body.id)
    entry.fullUrl = `${baseUrl}/${body.resourceType}/${body.id}`;
  return entry;
}

function errorEntry(err: FhirError): BundleEntry {
  return { response: { status: String(err.status), outcome: err.outcome } };
}

export async function batch(bundle: Bundle, exec: EntryExecutor, baseUrl: string): Promise<FhirResponse> {
  const entries = bundle.entry ?? [];
  const out: BundleEntry[] = [];
  const touched: string[] = [];
  const patients: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    try {
      const res = await exec(parseEntry(entries[i], i).req, undefined);
      out.push(responseEntry(res, baseUrl));
      touched.push(...(res.touched ?? []));
      patients.push(...(res.patients ?? []));
    } catch (err) {
      if (!(err instanceof FhirError)) throw err;
      out.push(errorEntry(err));
    }
  }
  return {
    status: 200,
    headers: {},
    body: { resourceType: 'Bundle', type: 'batch-response', entry: out },
    touched,
    patients: [...new Set(patients)],
  };
}

export async function transaction(
  deps: FhirDeps,
  bundle: Bundle,
  exec: EntryExecutor,
  baseUrl: string,
  lenient: boolean,
): Promise<FhirResponse> {
  const parsed = (bundle.entry ?? []).map(parseEntry);
  checkDuplicates(parsed);
  const order = [...parsed].sort((a, b) => (ORDER[a.req.method] ?? 9) - (ORDER[b.req.method] ?? 9) || a.index - b.index);
  const results = new Array<BundleEntry>(parsed.length);
  const touched: string[] = [];
  const patients: string[] = [];
  await deps.db.transaction(async (tx) => {
    // 1. Decide the id of every created resource (or the existing match of a conditional
    //    create) before any write, so references between entries can be rewritten.
    const urnMap = new Map<string, string>();
    const assigned = new Map<number, string>();
    const existing = new Map<number, string>();
    for (const e of parsed) {
      if (e.req.method !== 'POST') continue;
      const r = exec.route(e.req);
      if (r.kind !== 'create') continue;
      let target: string | undefined;
      if (e.req.ifNoneExist) {
        const matches = await conditionalMatches(deps, tx, r.type, e.req.ifNoneExist, lenient);
        if (matches.length > 1)
          throw entryError(e.index, new FhirError(412, [issue('duplicate', `If-None-Exist matches ${matches.length} resources`)]));
        if (matches[0]) {
          target = `${r.type}/${matches[0].id}`;
          existing.set(e.index, matches[0].id);
        }
      }
      if (!target) {
        const id = newId();
        assigned.set(e.index, id);
        target = `${r.type}/${id}`;
      }
      if (e.fullUrl?.startsWith('urn:uuid:') || e.fullUrl?.startsWith('urn:oid:')) urnMap.set(e.fullUrl, target);
    }
    // 2. Rewrite urn references everywhere, then run the entries in the prescribed order.
    for (const e of order) {
      const req =
        urnMap.size > 0 ? { ...e.req, body: rewriteReferences(e.req.body, urnMap), path: urnMap.get(e.req.path) ?? e.req.path } : e.req;
      try {
        const res = await exec(req, tx, assigned.get(e.index));
        results[e.index] = responseEntry(res, baseUrl);
        touched.push(...(res.touched ?? []));
        patients.push(...(res.patients ?? []));
      } catch (err) {
        throw entryError(e.index, err);
      }
    }
    await exec.beforeCommit?.(tx);
  });
  return {
    status: 200,
    headers: {},
    body: { resourceType: 'Bundle', type: 'transaction-response', entry: results },
    touched,
    patients: [...new Set(patients)],
  };
}

/** Locates a failure at the entry that caused it; the whole transaction is rolled back. */
function entryError(index: number, err: unknown): unknown {
  if (!(err instanceof FhirError)) return err;
  const at = `Bundle.entry[${index}]`;
  const issues: OperationOutcomeIssue[] = err.issues.map((i) => ({
    ...i,
    diagnostics: `${at}: ${i.diagnostics ?? ''} (the transaction was rolled back; nothing was written)`,
    expression: (i.expression ?? ['']).map((x) => (x ? `${at}.resource.${x.replace(/^[A-Z][A-Za-z]+\./, '')}` : at)),
  }));
  return new FhirError(err.status, issues, 'processing', err.headers);
}

function checkDuplicates(entries: ParsedEntry[]): void {
  const seen = new Map<string, number>();
  for (const e of entries) {
    if (e.req.method === 'GET' || e.req.method === 'POST') continue;
    const prev = seen.get(e.req.path);
    if (prev !== undefined) {
      throw badRequest(
        `Bundle.entry[${prev}] and Bundle.entry[${e.index}] both change ${e.req.path}; a transaction may touch a resource once`,
        `Bundle.entry[${e.index}].request.url`,
      );
    }
    seen.set(e.req.path, e.index);
  }
}

/** Replaces every `reference` (and Attachment/uri value) equal to a urn from the map. */
export function rewriteReferences(value: unknown, map: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') return map.get(value) ?? value;
  if (Array.isArray(value)) return value.map((v) => rewriteReferences(v, map));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = rewriteReferences(v, map);
    return out;
  }
  return value;
}
