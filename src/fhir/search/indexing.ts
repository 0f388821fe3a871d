/**
 * Keeps the index tables in step with the current version of each resource. Runs inside the
 * caller's write transaction, so a resource and its index rows commit or roll back together.
 * Two statements per write: one DELETE of the old rows (all tables, data-modifying CTEs) and one
 * INSERT of the new rows (all tables, likewise).
 *
 * The values come from the installed `IndexValueTransform` (normalise.ts): with the blind-index
 * transform, rows of protected parameters are keyed digests under the tenant's ACTIVE index-key
 * version, recorded in `key_version`, so calling `indexResource` again is exactly the re-index an
 * index-key rotation needs (maintenance.ts).
 */
import type { Queryable, SqlValue } from '../../store/db.js';
import type { AnyResource, TenantId } from '../types.js';
import { extractIndexRows, type IndexRows } from './extract.js';
import { INDEX_TABLES } from './schema.js';

export async function removeFromIndex(tx: Queryable, tenantId: TenantId, resourceType: string, id: string): Promise<void> {
  const [first, ...rest] = INDEX_TABLES;
  const ctes = rest.map((t, i) => `d${i} AS (DELETE FROM ${t} WHERE tenant_id = $1 AND resource_type = $2 AND resource_id = $3)`);
  await tx.query(`WITH ${ctes.join(', ')} DELETE FROM ${first} WHERE tenant_id = $1 AND resource_type = $2 AND resource_id = $3`, [
    tenantId,
    resourceType,
    id,
  ]);
}

/**
 * PostgreSQL's wire protocol allows 65,535 parameters per statement; a statement is flushed well
 * before that, so even a resource with thousands of indexed values is written (in a few
 * statements) instead of failing.
 */
const MAX_PARAMS = 30_000;

export interface IndexOptions {
  /** The resource has never been indexed (its first version): there are no old rows to delete. */
  readonly fresh?: boolean;
}

export async function indexResource(
  tx: Queryable,
  tenantId: TenantId,
  resource: AnyResource & { id: string },
  options: IndexOptions = {},
): Promise<void> {
  if (!options.fresh) await removeFromIndex(tx, tenantId, resource.resourceType, resource.id);
  const rows = extractIndexRows(tenantId, resource);
  let params: SqlValue[] = [];
  let inserts: string[] = [];
  const reset = () => {
    params = [tenantId, resource.resourceType, resource.id];
    inserts = [];
  };
  const flush = async () => {
    const last = inserts.pop();
    if (last === undefined) return;
    const sql = inserts.length > 0 ? `WITH ${inserts.map((s, i) => `i${i} AS (${s})`).join(', ')} ${last}` : last;
    await tx.query(sql, params);
    reset();
  };
  reset();
  const p = (v: SqlValue): string => {
    params.push(v);
    return `$${params.length}`;
  };
  // `grp` is a small integer this module generated (never input), so it is written as a literal.
  const grp = (r: { grp?: number }) => (typeof r.grp === 'number' ? String(Math.trunc(r.grp)) : 'NULL');
  const add = async <T extends { grp?: number }>(table: string, columns: string, list: readonly T[], values: (r: T) => string) => {
    let tuples: string[] = [];
    const close = () => {
      if (tuples.length > 0)
        inserts.push(`INSERT INTO ${table} (tenant_id, resource_type, resource_id, grp, ${columns}) VALUES ${tuples.join(', ')}`);
      tuples = [];
    };
    for (const r of list) {
      tuples.push(`($1, $2, $3, ${grp(r)}, ${values(r)})`);
      if (params.length > MAX_PARAMS) {
        close();
        await flush();
      }
    }
    close();
  };
  // `key_version` (the index-key version of a blind row) is a small integer from the key ring, written
  // as a literal, and named only when some row has one, so plain rows are inserted exactly as before.
  const kv = (r: { keyVersion?: number }) => (typeof r.keyVersion === 'number' ? String(Math.trunc(r.keyVersion)) : 'NULL');
  const keyedStrings = rows.strings.some((r) => r.keyVersion !== undefined);
  await add(
    'search_string',
    keyedStrings ? 'code, value_norm, value_exact, sort, key_version' : 'code, value_norm, value_exact, sort',
    rows.strings,
    keyedStrings
      ? (r) => `${p(r.code)}, ${p(r.norm)}, ${p(r.exact)}, ${p(r.sort)}, ${kv(r)}`
      : (r) => `${p(r.code)}, ${p(r.norm)}, ${p(r.exact)}, ${p(r.sort)}`,
  );
  const keyedTokens = rows.tokens.some((r) => r.keyVersion !== undefined);
  await add(
    'search_token',
    keyedTokens ? 'code, system, value, key_version' : 'code, system, value',
    rows.tokens,
    keyedTokens ? (r) => `${p(r.code)}, ${p(r.system)}, ${p(r.value)}, ${kv(r)}` : (r) => `${p(r.code)}, ${p(r.system)}, ${p(r.value)}`,
  );
  await add(
    'search_reference',
    'code, target_type, target_id, url',
    rows.refs,
    (r) => `${p(r.code)}, ${p(r.targetType)}, ${p(r.targetId)}, ${p(r.url)}`,
  );
  await add('search_date', 'code, low, high', rows.dates, (r) => `${p(r.code)}, ${p(r.low)}::timestamptz, ${p(r.high)}::timestamptz`);
  await add('search_number', 'code, low, high', rows.numbers, (r) => `${p(r.code)}, ${p(r.low)}::numeric, ${p(r.high)}::numeric`);
  await add(
    'search_quantity',
    'code, system, unit_code, unit, low, high',
    rows.quantities,
    (r) => `${p(r.code)}, ${p(r.system)}, ${p(r.unitCode)}, ${p(r.unit)}, ${p(r.low)}::numeric, ${p(r.high)}::numeric`,
  );
  await add('search_uri', 'code, value', rows.uris, (r) => `${p(r.code)}, ${p(r.value)}`);
  await add('search_blind', 'code, key_version, terms', blindRows(rows.terms), (r) => `${p(r.code)}, ${kv(r)}, ${p(r.terms)}::bigint[]`);
  await add('search_blind_short', 'code, key_version, term', rows.shortTerms, (r) => `${p(r.code)}, ${kv(r)}, ${p(r.term)}::bigint`);
  await flush();
}

/** Terms grouped into one search_blind row per parameter code, element group and key version. */
function blindRows(terms: IndexRows['terms']): { code: string; grp?: number; keyVersion: number; terms: string[] }[] {
  const rows = new Map<string, { code: string; grp?: number; keyVersion: number; terms: Set<string> }>();
  for (const t of terms) {
    const k = `${t.code}\u0000${t.grp ?? ''}\u0000${t.keyVersion}`;
    let row = rows.get(k);
    if (!row) {
      row =
        t.grp === undefined
          ? { code: t.code, keyVersion: t.keyVersion, terms: new Set() }
          : { code: t.code, grp: t.grp, keyVersion: t.keyVersion, terms: new Set() };
      rows.set(k, row);
    }
    row.terms.add(t.term);
  }
  return [...rows.values()].map((r) => ({ ...r, terms: [...r.terms] }));
}

export type { IndexRows };
