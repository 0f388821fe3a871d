/**
 * The versioned resource store: the only code that reads or writes `resource` and
 * `resource_history`. It knows nothing of FHIR semantics beyond type, id and version; the FHIR
 * operation layer above it decides what to write and calls it inside one transaction.
 */
import type { AnyResource, StoredResource, TenantId } from '../fhir/types.js';
import type { BodyCodec } from './codec.js';
import type { Queryable } from './db.js';

export interface ResourceRow {
  resource_type: string;
  id: string;
  version_id: string;
  last_updated: Date;
  deleted: boolean;
  body: Uint8Array;
}

export const RESOURCE_COLUMNS = 'resource_type, id, version_id, last_updated, deleted, body';

export function decodeRow(row: ResourceRow, tenantId: TenantId, codec: BodyCodec): StoredResource {
  const versionId = String(row.version_id);
  const json = codec.decode(row.body, { tenantId, resourceType: row.resource_type, id: row.id, versionId });
  return {
    resourceType: row.resource_type,
    id: row.id,
    versionId,
    lastUpdated: new Date(row.last_updated),
    deleted: row.deleted,
    resource: JSON.parse(json) as AnyResource,
  };
}

export class ResourceStore {
  constructor(
    readonly tenantId: TenantId,
    readonly codec: BodyCodec,
  ) {}

  decode(row: ResourceRow): StoredResource {
    return decodeRow(row, this.tenantId, this.codec);
  }

  async current(q: Queryable, type: string, id: string, forUpdate = false): Promise<StoredResource | undefined> {
    const res = await q.query<ResourceRow>(
      `SELECT ${RESOURCE_COLUMNS} FROM resource WHERE tenant_id = $1 AND resource_type = $2 AND id = $3${forUpdate ? ' FOR UPDATE' : ''}`,
      [this.tenantId, type, id],
    );
    const row = res.rows[0];
    return row ? this.decode(row) : undefined;
  }

  /** Current versions of one type (deleted ones too), in id order after `afterId`: for projections built from what is stored. */
  async scan(q: Queryable, type: string, afterId: string | undefined, limit: number): Promise<StoredResource[]> {
    const res = await q.query<ResourceRow>(
      `SELECT ${RESOURCE_COLUMNS} FROM resource WHERE tenant_id = $1 AND resource_type = $2 AND id > $3 ORDER BY id LIMIT $4`,
      [this.tenantId, type, afterId ?? '', limit],
    );
    return res.rows.map((r) => this.decode(r));
  }

  /** How many resources of these types are stored (for progress estimates). */
  async count(q: Queryable, types: readonly string[]): Promise<number> {
    const res = await q.query<{ n: string }>('SELECT count(*) AS n FROM resource WHERE tenant_id = $1 AND resource_type = ANY($2)', [
      this.tenantId,
      [...types],
    ]);
    return Number(res.rows[0]?.n ?? 0);
  }

  async version(q: Queryable, type: string, id: string, versionId: string): Promise<StoredResource | undefined> {
    if (!/^\d{1,18}$/.test(versionId)) return undefined;
    const res = await q.query<ResourceRow>(
      `SELECT ${RESOURCE_COLUMNS} FROM resource_history WHERE tenant_id = $1 AND resource_type = $2 AND id = $3 AND version_id = $4`,
      [this.tenantId, type, id, versionId],
    );
    const row = res.rows[0];
    return row ? this.decode(row) : undefined;
  }

  /**
   * Appends a version: a history row and the new current row, in the caller's transaction.
   * `expectedPrevious` is the version the caller read (under FOR UPDATE), or null for a new id;
   * the primary key on history makes a concurrent writer that skipped the lock fail, not overwrite.
   */
  async write(
    q: Queryable,
    resource: AnyResource & { id: string },
    versionId: string,
    lastUpdated: Date,
    deleted: boolean,
  ): Promise<StoredResource> {
    const type = resource.resourceType;
    const body = this.codec.encode(JSON.stringify(resource), {
      tenantId: this.tenantId,
      resourceType: type,
      id: resource.id,
      versionId,
    });
    const params = [this.tenantId, type, resource.id, versionId, lastUpdated, deleted, body, this.codec.keyVersion(body)] as const;
    await q.query(
      `INSERT INTO resource_history (tenant_id, resource_type, id, version_id, last_updated, deleted, body, key_version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      params,
    );
    await q.query(
      `INSERT INTO resource (tenant_id, resource_type, id, version_id, last_updated, deleted, body, key_version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (tenant_id, resource_type, id) DO UPDATE
         SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated,
             deleted = EXCLUDED.deleted, body = EXCLUDED.body, key_version = EXCLUDED.key_version`,
      params,
    );
    return { resourceType: type, id: resource.id, versionId, lastUpdated, deleted, resource };
  }
}

export interface HistoryQuery {
  readonly type?: string;
  readonly id?: string;
  /** Only versions written at or after this instant (`_since`). */
  readonly since?: Date;
  /** Only versions written at or before this instant (`_at` upper bound / snapshot). */
  readonly until?: Date;
  /** Keyset position: return versions strictly older than this one (newest first order). */
  readonly after?: HistoryKey;
  readonly count: number;
}

export interface HistoryKey {
  readonly lastUpdated: string;
  readonly type: string;
  readonly id: string;
  readonly versionId: string;
}

/** History, newest first, keyset-paged so pages stay stable while new versions are written. */
export async function readHistory(
  q: Queryable,
  store: ResourceStore,
  h: HistoryQuery,
): Promise<{ entries: StoredResource[]; next?: HistoryKey }> {
  const where: string[] = ['tenant_id = $1'];
  const params: (string | Date)[] = [store.tenantId];
  const p = (v: string | Date) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (h.type) where.push(`resource_type = ${p(h.type)}`);
  if (h.id) where.push(`id = ${p(h.id)}`);
  if (h.since) where.push(`last_updated >= ${p(h.since)}`);
  if (h.until) where.push(`last_updated <= ${p(h.until)}`);
  if (h.after) {
    where.push(
      `(last_updated, resource_type, id, version_id) < (${p(new Date(h.after.lastUpdated))}::timestamptz, ${p(h.after.type)}, ${p(h.after.id)}, ${p(h.after.versionId)}::bigint)`,
    );
  }
  const res = await q.query<ResourceRow>(
    `SELECT ${RESOURCE_COLUMNS} FROM resource_history WHERE ${where.join(' AND ')}
     ORDER BY last_updated DESC, resource_type DESC, id DESC, version_id DESC LIMIT ${h.count + 1}`,
    params,
  );
  const rows = res.rows.slice(0, h.count);
  const entries = rows.map((r) => store.decode(r));
  const last = entries[entries.length - 1];
  const next =
    res.rows.length > h.count && last
      ? { lastUpdated: last.lastUpdated.toISOString(), type: last.resourceType, id: last.id, versionId: last.versionId }
      : undefined;
  return next ? { entries, next } : { entries };
}
