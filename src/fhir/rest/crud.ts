/** Instance-level interactions: create, read, vread, update, patch, delete. */
import jsonpatch from 'fast-json-patch';
import { validateResource } from '../validation/index.js';
import { FhirError, badRequest, gone, informational, issue, notFound } from '../outcome.js';
import type { AnyResource, StoredResource } from '../types.js';
import type { Queryable } from '../../store/db.js';
import type { FhirDeps } from './deps.js';
import { type FhirRequest, type FhirResponse, etag, parseETag } from './request.js';
import { checkIfMatch, newId, writeDeletion, writeVersion } from './write.js';
import { patientIdsOf } from '../compartment.js';
import { conditionalMatches } from './conditional.js';
import type { Gate } from './gate.js';

/** Tells the write observers (the policy's projections) of a stored version, inside its transaction. */
async function observe(deps: FhirDeps, tx: Queryable, stored: StoredResource): Promise<StoredResource> {
  for (const o of deps.observers ?? []) await o.written(tx, stored);
  return stored;
}

export function resourceHeaders(s: StoredResource, baseUrl?: string): Record<string, string> {
  const h: Record<string, string> = { ETag: etag(s.versionId), 'Last-Modified': s.lastUpdated.toUTCString() };
  if (baseUrl) h.Location = `${baseUrl}/${s.resourceType}/${s.id}/_history/${s.versionId}`;
  return h;
}

/** Body according to `Prefer: return=`. */
export function writeResponse(status: number, s: StoredResource, req: FhirRequest, baseUrl: string): FhirResponse {
  const headers = resourceHeaders(s, baseUrl);
  const touched = [`${s.resourceType}/${s.id}`];
  const patients = patientIdsOf(s.resource);
  if (req.preferReturn === 'minimal') return { status, headers, touched, patients };
  if (req.preferReturn === 'OperationOutcome') {
    return { status, headers, touched, patients, body: informational(`${s.resourceType}/${s.id} version ${s.versionId} stored`) };
  }
  return { status, headers, body: s.resource, touched, patients };
}

function requireBody(req: FhirRequest, type: string): AnyResource {
  if (req.body === undefined || req.body === null) throw badRequest(`a ${type} resource is required in the request body`);
  validateResource(req.body, type);
  return req.body as AnyResource;
}

export async function create(
  deps: FhirDeps,
  gate: Gate,
  tx: Queryable,
  type: string,
  req: FhirRequest,
  baseUrl: string,
  lenient: boolean,
  assignedId?: string,
): Promise<FhirResponse> {
  const resource = requireBody(req, type);
  if (req.ifNoneExist !== undefined) {
    const matches = await conditionalMatches(deps, tx, type, req.ifNoneExist, lenient);
    if (matches.length > 1) {
      throw new FhirError(412, [
        issue('duplicate', `If-None-Exist '${req.ifNoneExist}' matches ${matches.length} ${type} resources; make the criteria selective`),
      ]);
    }
    const existing = matches[0];
    if (existing) {
      // The match is returned as a read would return it, so the caller must be allowed to read it.
      await gate.mayRead(tx, existing.resource);
      return { ...writeResponse(200, existing, { ...req, preferReturn: req.preferReturn }, baseUrl) };
    }
  }
  await gate.mayWrite(tx, resource, undefined);
  // The server assigns ids on create; a client-sent id is ignored as the specification says.
  const stored = await observe(deps, tx, await writeVersion(tx, deps.store, resource, assignedId ?? newId(), undefined));
  return writeResponse(201, stored, req, baseUrl);
}

export async function read(deps: FhirDeps, gate: Gate, q: Queryable, type: string, id: string, req: FhirRequest): Promise<FhirResponse> {
  const s = await deps.store.current(q, type, id);
  if (!s) throw notFound(`${type}/${id} does not exist`);
  await gate.mayRead(q, s.resource);
  if (s.deleted)
    throw new FhirError(410, [issue('deleted', `${type}/${id} was deleted (version ${s.versionId})`)], 'deleted', {
      ETag: etag(s.versionId),
    });
  if (req.ifNoneMatch !== undefined && parseETag(req.ifNoneMatch) === s.versionId) {
    return { status: 304, headers: resourceHeaders(s), touched: [`${type}/${id}`], patients: patientIdsOf(s.resource) };
  }
  return { status: 200, headers: resourceHeaders(s), body: s.resource, touched: [`${type}/${id}`], patients: patientIdsOf(s.resource) };
}

export async function vread(deps: FhirDeps, gate: Gate, q: Queryable, type: string, id: string, versionId: string): Promise<FhirResponse> {
  const s = await deps.store.version(q, type, id, versionId);
  if (!s) {
    const any = await deps.store.current(q, type, id);
    if (any) await gate.mayRead(q, any.resource);
    throw notFound(any ? `${type}/${id} has no version ${versionId} (current is ${any.versionId})` : `${type}/${id} does not exist`);
  }
  await gate.mayRead(q, s.resource);
  if (s.deleted) throw gone(`version ${versionId} of ${type}/${id} is its deletion`);
  return { status: 200, headers: resourceHeaders(s), body: s.resource, touched: [`${type}/${id}`], patients: patientIdsOf(s.resource) };
}

export async function update(
  deps: FhirDeps,
  gate: Gate,
  tx: Queryable,
  type: string,
  id: string,
  req: FhirRequest,
  baseUrl: string,
): Promise<FhirResponse> {
  const resource = requireBody(req, type);
  if (resource.id === undefined) throw badRequest(`the ${type} in the body has no id; it must be '${id}' as in the URL`, `${type}.id`);
  if (resource.id !== id) throw badRequest(`the id in the body ('${resource.id}') differs from the id in the URL ('${id}')`, `${type}.id`);
  const current = await deps.store.current(tx, type, id, true);
  // A deleted version still names its patient: restoring it is writing over it.
  await gate.mayWrite(tx, resource, current?.resource);
  checkIfMatch(req.ifMatch, current, `${type}/${id}`, parseETag);
  const stored = await observe(deps, tx, await writeVersion(tx, deps.store, resource, id, current));
  return writeResponse(current && !current.deleted ? 200 : 201, stored, req, baseUrl);
}

export async function patch(
  deps: FhirDeps,
  gate: Gate,
  tx: Queryable,
  type: string,
  id: string,
  req: FhirRequest,
  baseUrl: string,
): Promise<FhirResponse> {
  const ct = (req.contentType ?? '').split(';')[0]?.trim();
  if (ct !== 'application/json-patch+json') {
    throw new FhirError(415, [
      issue('not-supported', `PATCH needs Content-Type application/json-patch+json (JSON Patch, RFC 6902); got '${ct || 'none'}'`),
    ]);
  }
  if (!Array.isArray(req.body)) throw badRequest('a JSON Patch document (an array of operations) is required');
  const current = await deps.store.current(tx, type, id, true);
  if (!current) throw notFound(`${type}/${id} does not exist`);
  if (current.deleted) throw gone(`${type}/${id} was deleted (version ${current.versionId})`);
  await gate.mayWrite(tx, undefined, current.resource);
  checkIfMatch(req.ifMatch, current, `${type}/${id}`, parseETag);
  const ops = req.body as jsonpatch.Operation[];
  const problem = jsonpatch.validate(ops, current.resource);
  if (problem) throw badRequest(`JSON Patch operation ${problem.index ?? 0} is invalid: ${describePatchError(problem)}`);
  let patched: AnyResource;
  try {
    patched = jsonpatch.applyPatch(jsonpatch.deepClone(current.resource), ops, true, false).newDocument as AnyResource;
  } catch (err) {
    throw badRequest(`JSON Patch failed: ${describePatchError(err)}`);
  }
  if (patched.resourceType !== type || patched.id !== id) throw badRequest('a patch may not change resourceType or id');
  validateResource(patched, type);
  await gate.mayWrite(tx, patched, undefined);
  const stored = await observe(deps, tx, await writeVersion(tx, deps.store, patched, id, current));
  return writeResponse(200, stored, req, baseUrl);
}

function describePatchError(err: unknown): string {
  const e = err as { name?: string; message?: string; operation?: unknown };
  const first = (e.message ?? String(err)).split('\n')[0] ?? 'invalid operation';
  return `${first}${e.operation ? ` in ${JSON.stringify(e.operation)}` : ''}`;
}

export async function remove(deps: FhirDeps, gate: Gate, tx: Queryable, type: string, id: string, req: FhirRequest): Promise<FhirResponse> {
  const current = await deps.store.current(tx, type, id, true);
  if (!current) throw notFound(`${type}/${id} does not exist`);
  await gate.mayWrite(tx, undefined, current.resource);
  checkIfMatch(req.ifMatch, current, `${type}/${id}`, parseETag);
  if (current.deleted) {
    return {
      status: 200,
      headers: { ETag: etag(current.versionId) },
      body: informational(`${type}/${id} was already deleted`),
      touched: [`${type}/${id}`],
      patients: patientIdsOf(current.resource),
    };
  }
  const stored = await observe(deps, tx, await writeDeletion(tx, deps.store, current));
  return {
    status: 200,
    headers: { ETag: etag(stored.versionId) },
    body: informational(`${type}/${id} deleted; version ${stored.versionId} records the deletion and its history is kept`),
    touched: [`${type}/${id}`],
    patients: patientIdsOf(current.resource),
  };
}
