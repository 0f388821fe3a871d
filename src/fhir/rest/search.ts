/** Type-level search and history as searchset / history Bundles with keyset paging links. */
import { patientIdsOfAll } from '../compartment.js';
import type { Bundle, BundleEntry, BundleLink, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { applyProjection, executeSearch, parseSearch } from '../search/index.js';
import { FhirError, badRequest, issue } from '../outcome.js';
import type { StoredResource } from '../types.js';
import { type HistoryKey, readHistory } from '../../store/resources.js';
import type { FhirDeps } from './deps.js';
import { type FhirResponse, etag } from './request.js';
import { withQueryTimeout } from './timeout.js';
import type { Gate } from './gate.js';

function pageUrl(baseUrl: string, path: string, params: ReadonlyArray<readonly [string, string]>, cursor?: string): string {
  const qs = new URLSearchParams();
  for (const [k, v] of params) if (k !== '_cursor') qs.append(k, v);
  if (cursor) qs.append('_cursor', cursor);
  const s = qs.toString();
  return `${baseUrl}/${path}${s ? `?${s}` : ''}`;
}

export async function searchType(
  deps: FhirDeps,
  gate: Gate,
  type: string,
  params: ReadonlyArray<readonly [string, string]>,
  baseUrl: string,
  lenient: boolean,
): Promise<FhirResponse> {
  const { search, warnings } = parseSearch(type, params, {
    lenient,
    defaultCount: deps.limits.defaultCount,
    maxCount: deps.limits.maxCount,
  });
  if (search.summaryCount && gate.screening) {
    throw new FhirError(403, [
      issue(
        'forbidden',
        '_summary=count is not available to you: your results are screened by the access policy, and a count would include what you may not see',
      ),
    ]);
  }
  const page = await withQueryTimeout(deps.db, deps.limits.queryTimeoutMs, (q) => executeSearch(q, deps.store, search));
  const link: BundleLink[] = [{ relation: 'self', url: pageUrl(baseUrl, type, params) }];
  if (page.nextCursor) link.push({ relation: 'next', url: pageUrl(baseUrl, type, params, page.nextCursor) });
  if (page.prevCursor) link.push({ relation: 'previous', url: pageUrl(baseUrl, type, params, page.prevCursor) });
  // Screened before _elements/_summary projection: the policy needs the subject and labels a projection may drop.
  const matches = await gate.release(
    deps.db,
    page.matches.map((s) => ({ resource: s.resource, s })),
  );
  const included = await gate.release(
    deps.db,
    page.included.map((s) => ({ resource: s.resource, s })),
  );
  const released = [...matches, ...included].map((m) => m.s);
  const entry: BundleEntry[] = [];
  const toEntry = (s: StoredResource, mode: 'match' | 'include'): BundleEntry => ({
    fullUrl: `${baseUrl}/${s.resourceType}/${s.id}`,
    resource: applyProjection(s.resource, search),
    search: { mode },
  });
  for (const m of matches) entry.push(toEntry(m.s, 'match'));
  for (const m of included) entry.push(toEntry(m.s, 'include'));
  if (warnings.length > 0) entry.push(outcomeEntry(warnings));
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', link, entry };
  // A screened caller gets no total, withheld or not: it would count what they may not see.
  if (page.total !== undefined && !gate.screening) bundle.total = page.total;
  return {
    status: 200,
    headers: {},
    body: bundle,
    touched: released.map((s) => `${s.resourceType}/${s.id}`),
    patients: patientIdsOfAll(released.map((s) => s.resource)),
  };
}

function outcomeEntry(issues: OperationOutcomeIssue[]): BundleEntry {
  return { resource: { resourceType: 'OperationOutcome', issue: issues }, search: { mode: 'outcome' } };
}

const HISTORY_PARAMS = new Set(['_count', '_since', '_at', '_cursor', '_format', '_pretty']);

export async function history(
  deps: FhirDeps,
  gate: Gate,
  scope: { type?: string; id?: string },
  params: ReadonlyArray<readonly [string, string]>,
  baseUrl: string,
  lenient: boolean,
): Promise<FhirResponse> {
  let count = deps.limits.defaultCount;
  let since: Date | undefined;
  let until: Date | undefined;
  let after: HistoryKey | undefined;
  for (const [k, v] of params) {
    if (!HISTORY_PARAMS.has(k)) {
      if (lenient) continue;
      throw badRequest(`history does not support the parameter '${k}' (supported: _count, _since, _at)`, k);
    }
    if (k === '_count') count = parseCount(v, deps.limits.maxCount);
    else if (k === '_since') since = parseInstant(v, '_since');
    else if (k === '_at') until = parseInstant(v, '_at');
    else if (k === '_cursor') after = decodeHistoryCursor(v);
  }
  const read = await withQueryTimeout(deps.db, deps.limits.queryTimeoutMs, (q) =>
    readHistory(q, deps.store, { ...scope, since, until, after, count }),
  );
  const next = read.next;
  const entries = (
    await gate.release(
      deps.db,
      read.entries.map((s) => ({ resource: s.resource, s })),
    )
  ).map((e) => e.s);
  const path = [scope.type, scope.id, '_history'].filter(Boolean).join('/');
  const link: BundleLink[] = [{ relation: 'self', url: pageUrl(baseUrl, path, params) }];
  if (next) link.push({ relation: 'next', url: pageUrl(baseUrl, path, params, encodeHistoryCursor(next)) });
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'history',
    link,
    entry: entries.map((s) => historyEntry(s, baseUrl)),
  };
  return {
    status: 200,
    headers: {},
    body: bundle,
    touched: entries.map((s) => `${s.resourceType}/${s.id}`),
    patients: patientIdsOfAll(entries.map((s) => s.resource)),
  };
}

function historyEntry(s: StoredResource, baseUrl: string): BundleEntry {
  const url = `${s.resourceType}/${s.id}`;
  const response = { status: '', etag: etag(s.versionId), lastModified: s.lastUpdated.toISOString() };
  if (s.deleted) return { fullUrl: `${baseUrl}/${url}`, request: { method: 'DELETE', url }, response: { ...response, status: '204' } };
  const first = s.versionId === '1';
  return {
    fullUrl: `${baseUrl}/${url}`,
    resource: s.resource,
    request: { method: first ? 'POST' : 'PUT', url: first ? s.resourceType : url },
    response: { ...response, status: first ? '201' : '200' },
  };
}

function parseCount(v: string, max: number): number {
  if (!/^\d{1,9}$/.test(v)) throw badRequest(`_count must be a non-negative integer, got '${v}'`, '_count');
  const n = Number(v);
  if (n > max) throw badRequest(`_count ${n} is above this server's limit of ${max}`, '_count');
  return n;
}

function parseInstant(v: string, name: string): Date {
  const d = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v) ? new Date(v) : undefined;
  if (!d || Number.isNaN(d.getTime()))
    throw badRequest(`${name} must be an instant with a time zone, e.g. 2024-03-01T10:00:00Z; got '${v}'`, name);
  return d;
}

function encodeHistoryCursor(k: HistoryKey): string {
  return Buffer.from(JSON.stringify([k.lastUpdated, k.type, k.id, k.versionId]), 'utf8').toString('base64url');
}

function decodeHistoryCursor(v: string): HistoryKey {
  try {
    const [lastUpdated, type, id, versionId] = JSON.parse(Buffer.from(v, 'base64url').toString('utf8')) as string[];
    if (typeof lastUpdated === 'string' && typeof type === 'string' && typeof id === 'string' && /^\d+$/.test(versionId ?? '')) {
      if (!Number.isNaN(Date.parse(lastUpdated))) return { lastUpdated, type, id, versionId: versionId as string };
    }
  } catch {
    /* fall through to the clear error below */
  }
  throw badRequest('_cursor is not a paging cursor this server issued; follow the Bundle links', '_cursor');
}
