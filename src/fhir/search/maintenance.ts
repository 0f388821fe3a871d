/**
 * Index-key rotation support: what a rebuild job needs to move blind-index rows from an old
 * index-key version to the active one (docs/BLIND-INDEXES.md, "Key rotation").
 *
 * Rows derived with a key record its version in `key_version` (search_string, search_token; NULL on
 * plain rows). While a rebuild runs, searches hash each query value under every loaded version, so
 * resources not yet re-indexed are still found. The job:
 *
 *   1. rotate the tenant's index key and make every app server load the new version (preload);
 *   2. re-index every current resource (`reindexBatch`, or `reindexResource` one by one): each write
 *      deletes the resource's rows and writes them again under the ACTIVE version;
 *   3. `countRowsUnderIndexKeyVersionsBelow(active)` should now be 0; a server that wrote under the
 *      old key meanwhile (it had not loaded the new one) leaves rows behind: `resourcesUnderIndexKeyVersionsBelow`
 *      lists them to re-index again;
 *   4. `deleteRowsUnderIndexKeyVersionsBelow(active)`, then retire the old key version.
 *
 * Progress lives in the rows, so an interrupted job simply runs again.
 */
import type { Db, Queryable } from '../../store/db.js';
import { RESOURCE_COLUMNS, type ResourceRow, type ResourceStore } from '../../store/resources.js';
import type { TenantId } from '../types.js';
import { indexResource } from './indexing.js';
import { BLIND_INDEX_TABLES } from './schema.js';

/** Re-indexes one resource under the active index-key version (the same as a write does). */
export const reindexResource = indexResource;

/** Index rows of the tenant written under an index-key version below `version` (plain rows never count). */
export async function countRowsUnderIndexKeyVersionsBelow(q: Queryable, tenantId: TenantId | string, version: number): Promise<number> {
  const parts = BLIND_INDEX_TABLES.map((t) => `(SELECT count(*) FROM ${t} WHERE tenant_id = $1 AND key_version < $2)`);
  const res = await q.query<{ n: string | number }>(`SELECT ${parts.join(' + ')} AS n`, [tenantId, Math.trunc(version)]);
  return Number(res.rows[0]?.n ?? 0);
}

/**
 * Deletes the tenant's index rows written under an index-key version below `version`; returns how
 * many. Run it only after every resource was re-indexed: a resource whose rows are deleted and not
 * rewritten is no longer found by searches on its protected parameters (re-indexing it repairs that).
 */
export async function deleteRowsUnderIndexKeyVersionsBelow(q: Queryable, tenantId: TenantId | string, version: number): Promise<number> {
  const [first, ...rest] = BLIND_INDEX_TABLES;
  const ctes = rest.map((t, i) => `d${i} AS (DELETE FROM ${t} WHERE tenant_id = $1 AND key_version < $2 RETURNING 1)`);
  const res = await q.query<{ n: string | number }>(
    `WITH ${ctes.join(', ')}, d AS (DELETE FROM ${first} WHERE tenant_id = $1 AND key_version < $2 RETURNING 1)
     SELECT (SELECT count(*) FROM d) + ${rest.map((_, i) => `(SELECT count(*) FROM d${i})`).join(' + ')} AS n`,
    [tenantId, Math.trunc(version)],
  );
  return Number(res.rows[0]?.n ?? 0);
}

/** Up to `limit` resources (type, id) that still have index rows under a version below `version`. */
export async function resourcesUnderIndexKeyVersionsBelow(
  q: Queryable,
  tenantId: TenantId | string,
  version: number,
  limit = 500,
): Promise<{ resourceType: string; id: string }[]> {
  const parts = BLIND_INDEX_TABLES.map((t) => `SELECT resource_type, resource_id FROM ${t} WHERE tenant_id = $1 AND key_version < $2`);
  const res = await q.query<{ resource_type: string; resource_id: string }>(
    `SELECT DISTINCT resource_type, resource_id FROM (${parts.join(' UNION ALL ')}) x ORDER BY resource_type, resource_id LIMIT ${Math.max(1, Math.trunc(limit))}`,
    [tenantId, Math.trunc(version)],
  );
  return res.rows.map((r) => ({ resourceType: r.resource_type, id: r.resource_id }));
}

/** Index-key versions in use by the tenant's rows, with row counts (operations, `keys status`). */
export async function indexKeyVersionsInUse(q: Queryable, tenantId: TenantId | string): Promise<{ version: number; rows: number }[]> {
  const parts = BLIND_INDEX_TABLES.map((t) => `SELECT key_version FROM ${t} WHERE tenant_id = $1 AND key_version IS NOT NULL`);
  const res = await q.query<{ v: number; n: string | number }>(
    `SELECT key_version AS v, count(*) AS n FROM (${parts.join(' UNION ALL ')}) x GROUP BY key_version ORDER BY key_version`,
    [tenantId],
  );
  return res.rows.map((r) => ({ version: Number(r.v), rows: Number(r.n) }));
}

/**
 * What key management (src/security/crypto/key-admin.ts, `IndexMaintenance`) needs from the search
 * index, for one tenant's store. Structurally typed so fhir/ does not import security/.
 */
export interface SearchIndexMaintenance {
  countBelow(db: Db, version: number): Promise<number>;
  reindexBatch(db: Db, after: string | undefined, batch: number): Promise<{ last: string | undefined; count: number }>;
  countResources(db: Db): Promise<number>;
  deleteBelow(db: Db, version: number): Promise<void>;
}

/** Keyset position of the re-index walk: JSON [resourceType, id]. */
function decodeAfter(after: string | undefined): [string, string] | undefined {
  if (after === undefined) return undefined;
  const v: unknown = JSON.parse(after);
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || typeof v[1] !== 'string')
    throw new Error('invalid re-index position');
  return [v[0], v[1]];
}

export function searchIndexMaintenance(store: ResourceStore): SearchIndexMaintenance {
  const tenantId = store.tenantId;
  return {
    countBelow: (db, version) => db.unlimited((q) => countRowsUnderIndexKeyVersionsBelow(q, tenantId, version)),
    countResources: async (db) => {
      const res = await db.unlimited((q) =>
        q.query<{ n: string | number }>('SELECT count(*) AS n FROM resource WHERE tenant_id = $1 AND NOT deleted', [tenantId]),
      );
      return Number(res.rows[0]?.n ?? 0);
    },
    /**
     * One transaction: lock the next `batch` current resources (FOR UPDATE, so a concurrent writer
     * either committed before, and its version is what gets indexed, or waits), re-index each under
     * the active index key. Deleted resources have no index rows and are skipped.
     */
    reindexBatch: (db, after, batch) =>
      db.unlimited(async (q) => {
        const pos = decodeAfter(after);
        // Searches during the rebuild hash under two key versions; make sure the planner has
        // statistics for the index tables (without them PostgreSQL may pick a nested loop over
        // every row of the tenant, seconds per search; with them a search is an index probe).
        if (pos === undefined) await q.query(`ANALYZE ${BLIND_INDEX_TABLES.join(', ')}`);
        const params: (string | number)[] = [tenantId];
        const where = pos ? 'AND (resource_type, id) > ($2, $3)' : '';
        if (pos) params.push(...pos);
        const res = await q.query<ResourceRow>(
          `SELECT ${RESOURCE_COLUMNS} FROM resource WHERE tenant_id = $1 ${where}
           ORDER BY resource_type, id LIMIT ${Math.max(1, Math.trunc(batch))} FOR UPDATE`,
          params,
        );
        let count = 0;
        for (const row of res.rows) {
          if (row.deleted) continue;
          const s = store.decode(row);
          await indexResource(q, tenantId, { ...s.resource, id: s.id });
          count += 1;
        }
        const last = res.rows[res.rows.length - 1];
        return { last: last ? JSON.stringify([last.resource_type, last.id]) : undefined, count };
      }),
    deleteBelow: async (db, version) => {
      await db.unlimited(async (q) => {
        await deleteRowsUnderIndexKeyVersionsBelow(q, tenantId, version);
        await q.query(`ANALYZE ${BLIND_INDEX_TABLES.join(', ')}`);
      });
    },
  };
}

/** Progress of a re-index a migration asked for. */
export interface PendingReindexProgress {
  readonly reason: string;
  readonly done: number;
  readonly total: number;
}

/**
 * Runs the re-index a migration recorded for this store's tenant (search_reindex_pending: a change
 * of where index rows live that only the keys can carry out, such as search/005 moving short
 * prefixes out of the search_blind arrays), then removes the record. Resumable: the position is
 * saved after every batch, and re-indexing a resource twice is harmless. Call it before serving:
 * until it finishes, searches may miss resources indexed the old way. Returns the resources re-indexed.
 */
export async function finishPendingReindex(
  db: Db,
  store: ResourceStore,
  onProgress?: (p: PendingReindexProgress) => void,
  batch = 500,
): Promise<number> {
  const tenantId = store.tenantId;
  const pending = await db.query<{ reason: string; position: string | null }>(
    'SELECT reason, position FROM search_reindex_pending WHERE tenant_id = $1 ORDER BY reason',
    [tenantId],
  );
  if (pending.rows.length === 0) return 0;
  const m = searchIndexMaintenance(store);
  let reindexed = 0;
  for (const { reason, position } of pending.rows) {
    const total = await m.countResources(db);
    let after = position ?? undefined;
    let done = 0;
    onProgress?.({ reason, done, total });
    for (;;) {
      const r = await m.reindexBatch(db, after, batch);
      if (r.last === undefined) break;
      after = r.last;
      done += r.count;
      reindexed += r.count;
      await db.query('UPDATE search_reindex_pending SET position = $3 WHERE tenant_id = $1 AND reason = $2', [tenantId, reason, after]);
      onProgress?.({ reason, done, total });
    }
    await db.query('DELETE FROM search_reindex_pending WHERE tenant_id = $1 AND reason = $2', [tenantId, reason]);
    await db.unlimited((q) => q.query(`ANALYZE ${BLIND_INDEX_TABLES.join(', ')}`));
  }
  return reindexed;
}
