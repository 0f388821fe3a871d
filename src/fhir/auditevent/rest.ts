/**
 * AuditEvent over REST: read and search served from the audit log (never from the resource
 * store), and the patient access report. The log is append-only, so every other interaction on
 * AuditEvent is refused with 405. These handlers run inside FhirService's stages, so an auditor
 * reading the log is authorized like anyone else and recorded like anyone else.
 */
import type { AuditEvent, Bundle, BundleEntry, BundleLink, OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { RequestContext } from '../context.js';
import type { AuditReader, AuditRecordView } from '../audit-reader.js';
import type { AccessRequest } from '../guard.js';
import { FhirError, issue, notFound } from '../outcome.js';
import type { FhirDeps } from '../rest/deps.js';
import type { Gate } from '../rest/gate.js';
import type { FhirResponse, Route } from '../rest/request.js';
import { withQueryTimeout } from '../rest/timeout.js';
import { encodeCursor } from '../search/cursor.js';
import type { Queryable } from '../../store/db.js';
import type { StoredResource } from '../types.js';
import { toAuditEvent } from './balp.js';
import { type AuditSearch, parseAuditSearch } from './params.js';

/** Refuses every interaction on AuditEvent but read and search: the log is append-only. */
export function refuseAuditEventWrites(r: Route): void {
  if (!('type' in r) || r.type !== 'AuditEvent' || r.kind === 'read' || r.kind === 'search-type') return;
  const instance = 'id' in r;
  throw new FhirError(
    405,
    [
      issue(
        'not-supported',
        `${r.kind} is not allowed on AuditEvent: audit events are the append-only audit log, written only by the server as it records each interaction; they can be read (GET AuditEvent/{id}) and searched (GET AuditEvent?…)`,
      ),
    ],
    'not-supported',
    { Allow: instance ? 'GET' : 'GET, POST' },
  );
}

function readerOf(d: FhirDeps): AuditReader {
  if (d.auditReader) return d.auditReader;
  throw new FhirError(501, [
    issue('not-supported', 'this server was started without a readable audit log (an in-memory test sink), so AuditEvent cannot be served'),
  ]);
}

/** Whether the caller may see decrypted queries, error texts and break-glass reasons (a policy question of its own). */
async function mayReveal(d: FhirDeps, ctx: RequestContext, base: AccessRequest): Promise<boolean> {
  return (await d.policy.decide(ctx, { ...base, aspect: 'audit-sealed-fields' })).allowed;
}

export async function readAuditEvent(d: FhirDeps, q: Queryable, ctx: RequestContext, id: string): Promise<FhirResponse> {
  const reader = readerOf(d);
  // Ids are log positions; anything else names no record (404, as for any unknown id).
  const seq = /^[1-9]\d{0,15}$/.test(id) ? Number(id) : undefined;
  const reveal = await mayReveal(d, ctx, { interaction: 'read', resourceType: 'AuditEvent', id });
  const [record] =
    seq === undefined
      ? []
      : await reader.find(q, { tenantId: ctx.tenantId, where: [{ on: 'seq', any: [seq] }], order: 'desc', limit: 1, reveal });
  if (!record) throw notFound(`AuditEvent/${id} does not exist`);
  const event = toAuditEvent(record, { baseUrl: ctx.baseUrl, site: ctx.tenantId });
  return {
    status: 200,
    headers: { ETag: 'W/"1"', 'Last-Modified': new Date(record.time).toUTCString() },
    body: event,
    touched: [`AuditEvent/${record.seq}`],
    patients: [...record.patients],
  };
}

export async function searchAuditEvents(
  d: FhirDeps,
  ctx: RequestContext,
  params: ReadonlyArray<readonly [string, string]>,
  gate?: Gate,
): Promise<FhirResponse> {
  const reader = readerOf(d);
  const { search, warnings } = parseAuditSearch(params, {
    lenient: ctx.lenient,
    defaultCount: d.limits.defaultCount,
    maxCount: d.limits.maxCount,
    scope: 'AuditEvent',
  });
  const reveal = await mayReveal(d, ctx, { interaction: 'search-type', resourceType: 'AuditEvent' });
  return page(d, reader, ctx, search, warnings, { path: 'AuditEvent', params, reveal, ...(gate ? { gate } : {}) });
}

/** Parameters of `Patient/{id}/$access-report`. */
const REPORT_PARAMS: ReadonlySet<string> = new Set(['date', '_since', '_count', '_total']);

/**
 * `Patient/{id}/$access-report`: every access to this patient's data — reads, searches that
 * returned it (through `_include` too), writes, refusals and failures — newest first, paged,
 * as AuditEvents that name only this patient (not the others a search returned with them).
 */
export async function accessReport(
  d: FhirDeps,
  ctx: RequestContext,
  patientId: string,
  params: ReadonlyArray<readonly [string, string]>,
): Promise<FhirResponse> {
  const reader = readerOf(d);
  const path = `Patient/${patientId}/$access-report`;
  const { search, warnings } = parseAuditSearch(params, {
    lenient: ctx.lenient,
    defaultCount: d.limits.defaultCount,
    maxCount: d.limits.maxCount,
    scope: path,
    only: REPORT_PARAMS,
  });
  search.where.push({ on: 'patient', any: [patientId] });
  const reveal = await mayReveal(d, ctx, { interaction: 'operation', operation: 'access-report', resourceType: 'Patient', id: patientId });
  const res = await page(d, reader, ctx, search, warnings, { path, params, reveal, focusPatient: patientId });
  // The report discloses who accessed this patient, nothing about the others a search returned.
  return { ...res, patients: [patientId] };
}

interface PageOptions {
  readonly path: string;
  readonly params: ReadonlyArray<readonly [string, string]>;
  readonly reveal: boolean;
  readonly focusPatient?: string;
  /** Screens `_include`d Patients like any other resource leaving the door (an auditor may not read them). */
  readonly gate?: Gate;
}

/** One page of records in display order, keyset-paged on (recorded time, log position). */
async function page(
  d: FhirDeps,
  reader: AuditReader,
  ctx: RequestContext,
  search: AuditSearch,
  warnings: OperationOutcomeIssue[],
  o: PageOptions,
): Promise<FhirResponse> {
  const c = search.cursor;
  const backwards = c?.dir === 'p';
  const at = c ? { time: c.keys[0] as string, seq: Number(c.id) } : undefined;
  // Reading forwards in display order is reading the log in `search.order`; backwards, the other way.
  const order = backwards ? (search.order === 'desc' ? 'asc' : 'desc') : search.order;
  const { rows, total, included } = await withQueryTimeout(d.db, d.limits.queryTimeoutMs, async (q) => {
    const found =
      search.count > 0
        ? await reader.find(q, {
            tenantId: ctx.tenantId,
            where: search.where,
            order,
            ...(at ? { after: at } : {}),
            limit: search.count + 1,
            reveal: o.reveal,
          })
        : [];
    const more = found.length > search.count;
    const pageRows = found.slice(0, search.count);
    if (backwards) pageRows.reverse();
    const wantTotal = search.total === 'accurate' || search.summaryCount;
    const n = wantTotal ? await reader.count(q, ctx.tenantId, search.where) : !c && !more ? pageRows.length : undefined;
    const named = search.includePatients ? await patientsOf(d, q, pageRows) : [];
    const patients = o.gate
      ? (
          await o.gate.release(
            q,
            named.map((p) => ({ resource: p.resource, p })),
          )
        ).map((x) => x.p)
      : named;
    return { rows: { list: pageRows, more }, total: n, included: patients };
  });

  const list = rows.list;
  const position = (r: AuditRecordView, dir: 'n' | 'p') => encodeCursor(search.signature, { dir, keys: [r.time], id: String(r.seq) });
  const link: BundleLink[] = [{ relation: 'self', url: pageUrl(ctx.baseUrl, o.path, o.params) }];
  const first = list[0];
  const last = list[list.length - 1];
  let next: string | undefined;
  let prev: string | undefined;
  if (!first || !last) {
    // An empty page reached through a cursor: offer the way back.
    if (c) {
      if (c.dir === 'n') prev = encodeCursor(search.signature, { ...c, dir: 'p' });
      else next = encodeCursor(search.signature, { ...c, dir: 'n' });
    }
  } else if (backwards) {
    if (rows.more) prev = position(first, 'p');
    next = position(last, 'n');
  } else {
    if (rows.more) next = position(last, 'n');
    if (c) prev = position(first, 'p');
  }
  if (next) link.push({ relation: 'next', url: pageUrl(ctx.baseUrl, o.path, o.params, next) });
  if (prev) link.push({ relation: 'previous', url: pageUrl(ctx.baseUrl, o.path, o.params, prev) });

  const mapping = { baseUrl: ctx.baseUrl, site: ctx.tenantId, ...(o.focusPatient ? { focusPatient: o.focusPatient } : {}) };
  const entry: BundleEntry[] = list.map((r) => ({
    fullUrl: `${ctx.baseUrl}/AuditEvent/${r.seq}`,
    resource: toAuditEvent(r, mapping) satisfies AuditEvent,
    search: { mode: 'match' },
  }));
  for (const p of included) entry.push({ fullUrl: `${ctx.baseUrl}/Patient/${p.id}`, resource: p.resource, search: { mode: 'include' } });
  if (warnings.length > 0) entry.push({ resource: { resourceType: 'OperationOutcome', issue: warnings }, search: { mode: 'outcome' } });
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', link, entry };
  if (total !== undefined) bundle.total = total;
  const patients = new Set<string>();
  for (const r of list) for (const p of r.patients) patients.add(p);
  return {
    status: 200,
    headers: {},
    body: bundle,
    touched: [...list.map((r) => `AuditEvent/${r.seq}`), ...included.map((p) => `Patient/${p.id}`)],
    patients: [...patients],
  };
}

/** At most this many Patients are included with one page. */
const MAX_INCLUDED = 1000;

/** `_include=AuditEvent:patient`: the current, not deleted, Patient resources the page's records name. */
async function patientsOf(d: FhirDeps, q: Queryable, records: readonly AuditRecordView[]): Promise<StoredResource[]> {
  const ids = [...new Set(records.flatMap((r) => r.patients))].slice(0, MAX_INCLUDED);
  const out: StoredResource[] = [];
  for (const id of ids) {
    const s = await d.store.current(q, 'Patient', id);
    if (s && !s.deleted) out.push(s);
  }
  return out;
}

function pageUrl(baseUrl: string, path: string, params: ReadonlyArray<readonly [string, string]>, cursor?: string): string {
  const qs = new URLSearchParams();
  for (const [k, v] of params) if (k !== '_cursor') qs.append(k, v);
  if (cursor) qs.append('_cursor', cursor);
  const s = qs.toString();
  return `${baseUrl}/${path}${s ? `?${s}` : ''}`;
}
