/**
 * Re-encryption of stored bodies after a data-key rotation, in small transactions, so reads and
 * writes carry on throughout. Progress lives in the rows themselves (`key_version`), so the job
 * resumes after a crash by simply running again. Immutable history rows are rewritten with the same
 * plaintext under the new key; a current row that a writer replaced meanwhile is skipped (the
 * writer already used the new key).
 */
import type { BodyCodec } from './codec.js';
import type { Db } from './db.js';
import type { ResourceStore } from './resources.js';

export type BodyTable = 'resource' | 'resource_history';

interface Row {
  resource_type: string;
  id: string;
  version_id: string;
  key_version: number;
  body: Uint8Array;
}

export interface ReencryptOptions {
  /** Rows whose key version is below this are rewritten under the codec's active key. */
  readonly below: number;
  readonly batch: number;
  /**
   * Rows with key version 0 hold plaintext JSON from before encryption was enabled. They are only
   * accepted on the very first encrypted start of a tenant (the caller knows); at any other time a
   * plaintext body is an integrity failure, not something to launder into a valid ciphertext.
   */
  readonly acceptPlaintext: boolean;
  /** The codec that reads plaintext rows (normally plainCodec). */
  readonly plain: BodyCodec;
}

export async function countBelow(db: Db, store: ResourceStore, table: BodyTable, below: number): Promise<number> {
  const r = await db.query<{ n: string }>(`SELECT count(*)::bigint AS n FROM ${table} WHERE tenant_id = $1 AND key_version < $2`, [
    store.tenantId,
    below,
  ]);
  return Number(r.rows[0]?.n ?? 0);
}

/** Rewrites up to `batch` rows; returns how many it looked at (0 when nothing is left). */
export async function reencryptBatch(db: Db, store: ResourceStore, table: BodyTable, o: ReencryptOptions): Promise<number> {
  return db.unlimited(async (tx) => {
    const lock = db.kind === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    const { rows } = await tx.query<Row>(
      `SELECT resource_type, id, version_id, key_version, body FROM ${table}
       WHERE tenant_id = $1 AND key_version < $2 LIMIT ${Math.max(1, Math.floor(o.batch))}${lock}`,
      [store.tenantId, o.below],
    );
    for (const r of rows) {
      const ctx = { tenantId: store.tenantId, resourceType: r.resource_type, id: r.id, versionId: String(r.version_id) };
      let json: string;
      if (r.key_version === 0) {
        if (!o.acceptPlaintext) {
          throw new Error(
            `${table} ${r.resource_type}/${r.id} version ${r.version_id} is stored in plaintext although this hospital's data is encrypted: an integrity failure (was the database modified directly?)`,
          );
        }
        json = o.plain.decode(r.body, ctx);
        JSON.parse(json); // a plaintext body must at least be JSON
      } else {
        json = store.codec.decode(r.body, ctx);
      }
      const body = store.codec.encode(json, ctx);
      await tx.query(
        `UPDATE ${table} SET body = $1, key_version = $2
         WHERE tenant_id = $3 AND resource_type = $4 AND id = $5 AND version_id = $6 AND key_version = $7`,
        [body, store.codec.keyVersion(body), store.tenantId, r.resource_type, r.id, r.version_id, r.key_version],
      );
    }
    return rows.length;
  });
}
