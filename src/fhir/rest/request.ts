/**
 * A FHIR REST interaction, independent of HTTP: the HTTP layer builds one from a request, a
 * batch or transaction Bundle builds one per entry, and both get a `FhirResponse` back.
 */
import { FhirError, badRequest, issue } from '../outcome.js';
import { ID_PATTERN } from '../types.js';

export interface FhirRequest {
  readonly method: string;
  /** Path below the FHIR base, without leading slash or query, e.g. `Patient/123/_history/2`. */
  readonly path: string;
  readonly query: ReadonlyArray<readonly [string, string]>;
  /** Raw query string as received, without '?', for paging links and audit. */
  readonly rawQuery: string;
  readonly ifMatch?: string;
  readonly ifNoneExist?: string;
  readonly ifNoneMatch?: string;
  readonly ifModifiedSince?: string;
  readonly preferReturn?: 'minimal' | 'representation' | 'OperationOutcome';
  readonly contentType?: string;
  readonly body?: unknown;
}

export interface FhirResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
  /** Ids (Type/id) this response carried or wrote, for audit. */
  readonly touched?: readonly string[];
  /** Ids of the patients whose data this response carried or wrote (the Patient compartment), for audit. */
  readonly patients?: readonly string[];
}

export type Route =
  | { kind: 'capabilities' }
  | { kind: 'bundle' }
  | { kind: 'history-system' }
  | { kind: 'create'; type: string }
  | { kind: 'search-type'; type: string; viaPost: boolean }
  | { kind: 'history-type'; type: string }
  | { kind: 'read'; type: string; id: string }
  | { kind: 'update'; type: string; id: string }
  | { kind: 'patch'; type: string; id: string }
  | { kind: 'delete'; type: string; id: string }
  | { kind: 'history-instance'; type: string; id: string }
  | { kind: 'vread'; type: string; id: string; versionId: string }
  /** `$name` on the system, a type or an instance; `name` without the `$`. */
  | { kind: 'operation'; name: string; type?: string; id?: string };

const OPERATION_PATTERN = /^\$([a-z][a-z0-9-]{0,63})$/i;

function operation(m: string, name: string, type?: string, id?: string): Route {
  if (m !== 'GET' && m !== 'POST') throw methodNotAllowed(m, [type, id, `$${name}`].filter(Boolean).join('/'));
  return { kind: 'operation', name, ...(type ? { type } : {}), ...(id ? { id } : {}) };
}

const TYPE_PATTERN = /^[A-Z][A-Za-z]{1,63}$/;

/**
 * Maps method and path to an interaction. `isType` says whether a segment names a resource type
 * the server knows; an unknown type is a 404 naming it, a malformed id a 400.
 */
export function route(method: string, path: string, isType: (t: string) => boolean): Route {
  const segs = path
    .split('/')
    .filter((s) => s.length > 0)
    .map(decodeSegment);
  const m = method.toUpperCase();
  const [a, b, c, d] = segs;
  if (segs.length === 0) {
    if (m === 'POST') return { kind: 'bundle' };
    throw methodNotAllowed(m, '/');
  }
  if (a === 'metadata' && segs.length === 1) {
    if (m === 'GET') return { kind: 'capabilities' };
    throw methodNotAllowed(m, 'metadata');
  }
  const systemOp = segs.length === 1 ? OPERATION_PATTERN.exec(a as string) : null;
  if (systemOp?.[1]) return operation(m, systemOp[1]);
  if (a === '_history' && segs.length === 1) {
    if (m === 'GET') return { kind: 'history-system' };
    throw methodNotAllowed(m, '_history');
  }
  const type = a as string;
  if (!TYPE_PATTERN.test(type) || !isType(type)) {
    throw new FhirError(404, [issue('not-supported', `unknown resource type or path '${type}'`)]);
  }
  if (segs.length === 1) {
    if (m === 'GET') return { kind: 'search-type', type, viaPost: false };
    if (m === 'POST') return { kind: 'create', type };
    if (m === 'PUT' || m === 'DELETE' || m === 'PATCH') {
      throw new FhirError(400, [
        issue('not-supported', `conditional ${m.toLowerCase()} (${m} ${type}?…) is not supported; address the resource by id`),
      ]);
    }
    throw methodNotAllowed(m, type);
  }
  if (b === '_search' && segs.length === 2) {
    if (m === 'POST') return { kind: 'search-type', type, viaPost: true };
    throw methodNotAllowed(m, `${type}/_search`);
  }
  const typeOp = segs.length === 2 ? OPERATION_PATTERN.exec(b as string) : null;
  if (typeOp?.[1]) return operation(m, typeOp[1], type);
  if (b === '_history' && segs.length === 2) {
    if (m === 'GET') return { kind: 'history-type', type };
    throw methodNotAllowed(m, `${type}/_history`);
  }
  const id = b as string;
  if (!ID_PATTERN.test(id)) throw badRequest(`'${id}' is not a valid resource id ([A-Za-z0-9-.]{1,64})`);
  if (segs.length === 2) {
    switch (m) {
      case 'GET':
        return { kind: 'read', type, id };
      case 'PUT':
        return { kind: 'update', type, id };
      case 'PATCH':
        return { kind: 'patch', type, id };
      case 'DELETE':
        return { kind: 'delete', type, id };
      default:
        throw methodNotAllowed(m, `${type}/${id}`);
    }
  }
  const instanceOp = segs.length === 3 ? OPERATION_PATTERN.exec(c as string) : null;
  if (instanceOp?.[1]) return operation(m, instanceOp[1], type, id);
  if (c === '_history') {
    if (m !== 'GET') throw methodNotAllowed(m, `${type}/${id}/_history`);
    if (segs.length === 3) return { kind: 'history-instance', type, id };
    if (segs.length === 4 && d) return { kind: 'vread', type, id, versionId: d };
  }
  throw new FhirError(404, [issue('not-supported', `unknown path '${path}'`)]);
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badRequest(`path segment '${s}' is not valid percent-encoding`);
  }
}

function methodNotAllowed(method: string, what: string): FhirError {
  return new FhirError(405, [issue('not-supported', `${method} is not supported on ${what}`)]);
}

/** Parses a query string into ordered pairs, keeping repeated keys (AND) in order. */
export function parseQuery(raw: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (!raw) return out;
  for (const part of raw.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    out.push([decodeQueryComponent(k), decodeQueryComponent(v)]);
  }
  return out;
}

function decodeQueryComponent(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw badRequest(`query component '${s.slice(0, 80)}' is not valid percent-encoding`);
  }
}

/** `W/"3"` or `"3"` or `3` → `3`. */
export function parseETag(tag: string): string {
  const m = /^(?:W\/)?"?([^"]*)"?$/.exec(tag.trim());
  if (!m?.[1]) throw badRequest(`If-Match value '${tag}' is not an ETag like W/"3"`);
  return m[1];
}

export const etag = (versionId: string): string => `W/"${versionId}"`;
