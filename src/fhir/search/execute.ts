/**
 * Runs a ParsedSearch: one statement for the page (keyset, never OFFSET), one for a COUNT when
 * the total is asked for, and one (two with :iterate) for _include/_revinclude.
 */
import type { Queryable } from '../../store/db.js';
import { RESOURCE_COLUMNS, type ResourceRow, type ResourceStore } from '../../store/resources.js';
import type { StoredResource } from '../types.js';
import { type Cursor, encodeCursor } from './cursor.js';
import type { IncludeSpec, ParsedSearch } from './parse.js';
import { clauseSql, type SortExpr, SqlBuilder, sortExpr } from './sql.js';

export interface SearchPage {
  matches: StoredResource[];
  included: StoredResource[];
  total?: number;
  nextCursor?: string;
  prevCursor?: string;
}

/** Upper bound on included resources per page, so one page cannot drag in a whole database. */
const MAX_INCLUDED = 1000;

const R_COLS = RESOURCE_COLUMNS.split(', ')
  .map((c) => `r.${c}`)
  .join(', ');

export async function executeSearch(q: Queryable, store: ResourceStore, search: ParsedSearch): Promise<SearchPage> {
  const page: SearchPage = { matches: [], included: [] };
  if (search.count > 0) await fetchPage(q, store, search, page);
  const wantTotal = search.total === 'accurate' || search.summaryCount;
  if (wantTotal) page.total = await countMatches(q, store, search);
  else if (!search.cursor && !page.nextCursor && search.count > 0) page.total = page.matches.length; // the whole result is on this page
  if (page.matches.length > 0 && (search.include.length > 0 || search.revinclude.length > 0)) {
    page.included = await fetchIncludes(q, store, search, page.matches);
  }
  return page;
}

function whereSql(b: SqlBuilder, search: ParsedSearch): string {
  const conds = [`r.tenant_id = $1`, `r.resource_type = ${b.p(search.resourceType)}`, 'NOT r.deleted'];
  for (const c of search.clauses) conds.push(clauseSql(b, search.resourceType, 'r', c));
  return conds.join('\n  AND ');
}

async function countMatches(q: Queryable, store: ResourceStore, search: ParsedSearch): Promise<number> {
  const b = new SqlBuilder(store.tenantId);
  const res = await q.query<{ n: string | number }>(`SELECT count(*) AS n FROM resource r WHERE ${whereSql(b, search)}`, b.params);
  return Number(res.rows[0]?.n ?? 0);
}

type PageRow = ResourceRow & Record<string, unknown>;

async function fetchPage(q: Queryable, store: ResourceStore, search: ParsedSearch, page: SearchPage): Promise<void> {
  const b = new SqlBuilder(store.tenantId);
  const where = whereSql(b, search);
  const keys: SortExpr[] = search.sort.map((k) => sortExpr(b, search.resourceType, 'r', k));
  const cursor = search.cursor;
  const backwards = cursor?.dir === 'p';
  const keyCols = keys.map((k, i) => `, ${k.sql} AS k${i}, (${k.sql})::text AS kt${i}`).join('');
  const keyset = cursor ? keysetSql(b, keys, cursor) : 'TRUE';
  // Forward order: each key in its direction with missing values last, then id ascending.
  const order = keys
    .map((k, i) => {
      const desc = k.desc !== backwards;
      return `x.k${i} ${desc ? 'DESC' : 'ASC'} NULLS ${backwards ? 'FIRST' : 'LAST'}`;
    })
    .concat(`x.id ${backwards ? 'DESC' : 'ASC'}`)
    .join(', ');
  const sql = `SELECT x.* FROM (SELECT ${R_COLS}${keyCols} FROM resource r WHERE ${where}) x
WHERE ${keyset} ORDER BY ${order} LIMIT ${search.count + 1}`;
  const res = await q.query<PageRow>(sql, b.params);
  const more = res.rows.length > search.count;
  const rows = res.rows.slice(0, search.count);
  if (backwards) rows.reverse();
  page.matches = rows.map((r) => store.decode(r));
  const position = (r: PageRow, dir: 'n' | 'p'): string =>
    encodeCursor(search.signature, { dir, keys: keys.map((_, i) => (r[`kt${i}`] ?? null) as string | null), id: r.id });
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (!first || !last) {
    // An empty page reached through a cursor: offer the way back from the cursor's position.
    if (cursor) {
      const back: Cursor = { ...cursor, dir: cursor.dir === 'n' ? 'p' : 'n' };
      if (cursor.dir === 'n') page.prevCursor = encodeCursor(search.signature, back);
      else page.nextCursor = encodeCursor(search.signature, back);
    }
    return;
  }
  if (backwards) {
    if (more) page.prevCursor = position(first, 'p');
    page.nextCursor = position(last, 'n');
  } else {
    if (more) page.nextCursor = position(last, 'n');
    if (cursor) page.prevCursor = position(first, 'p');
  }
}

/**
 * Rows strictly after (or, for `p`, strictly before) the cursor position in the forward order.
 * Missing values sort last in every direction, which the null branches encode.
 */
function keysetSql(b: SqlBuilder, keys: readonly SortExpr[], c: Cursor): string {
  const after = c.dir === 'n';
  const ors: string[] = [];
  const eqs: string[] = [];
  keys.forEach((k, i) => {
    const col = `x.k${i}`;
    const raw = c.keys[i] ?? null;
    const v = raw === null ? null : `${b.p(raw)}${k.cast}`;
    let step: string;
    if (after) step = v === null ? 'FALSE' : `(${col} ${k.desc ? '<' : '>'} ${v} OR ${col} IS NULL)`;
    else step = v === null ? `${col} IS NOT NULL` : `${col} ${k.desc ? '>' : '<'} ${v}`;
    ors.push([...eqs, step].join(' AND '));
    eqs.push(v === null ? `${col} IS NULL` : `${col} = ${v}`);
  });
  ors.push([...eqs, `x.id ${after ? '>' : '<'} ${b.p(c.id)}`].join(' AND '));
  return `(${ors.map((o) => `(${o})`).join(' OR ')})`;
}

async function fetchIncludes(
  q: Queryable,
  store: ResourceStore,
  search: ParsedSearch,
  matches: StoredResource[],
): Promise<StoredResource[]> {
  const seen = new Set(matches.map((m) => `${m.resourceType}/${m.id}`));
  const out: StoredResource[] = [];
  const add = (list: StoredResource[]) => {
    const fresh: StoredResource[] = [];
    for (const s of list) {
      const k = `${s.resourceType}/${s.id}`;
      if (seen.has(k)) continue;
      seen.add(k);
      fresh.push(s);
    }
    out.push(...fresh);
    return fresh;
  };
  const level1 = add(await includeQuery(q, store, matches, search.include, search.revinclude));
  const inc2 = search.include.filter((i) => i.iterate);
  const rev2 = search.revinclude.filter((i) => i.iterate);
  if (level1.length > 0 && (inc2.length > 0 || rev2.length > 0) && out.length < MAX_INCLUDED) {
    add(await includeQuery(q, store, level1, inc2, rev2));
  }
  return out.slice(0, MAX_INCLUDED);
}

/** One UNION ALL statement for all include directives over the resources in `from`. */
async function includeQuery(
  q: Queryable,
  store: ResourceStore,
  from: readonly StoredResource[],
  include: readonly IncludeSpec[],
  revinclude: readonly IncludeSpec[],
): Promise<StoredResource[]> {
  const b = new SqlBuilder(store.tenantId);
  const idsByType = new Map<string, string[]>();
  for (const s of from) idsByType.set(s.resourceType, [...(idsByType.get(s.resourceType) ?? []), s.id]);
  const t = (c: string) =>
    RESOURCE_COLUMNS.split(', ')
      .map((x) => `t.${x}`)
      .join(', ') + c;
  const parts: string[] = [];
  for (const inc of include) {
    const ids = idsByType.get(inc.sourceType);
    if (!ids || inc.codes.length === 0) continue;
    parts.push(`SELECT ${t('')} FROM search_reference i JOIN resource t ON t.tenant_id = i.tenant_id AND t.resource_type = i.target_type AND t.id = i.target_id
      WHERE i.tenant_id = $1 AND i.resource_type = ${b.p(inc.sourceType)} AND i.resource_id = ANY(${b.p(ids)}::text[])
        AND i.code = ANY(${b.p(inc.codes)}::text[])${inc.targetType ? ` AND i.target_type = ${b.p(inc.targetType)}` : ''} AND NOT t.deleted`);
  }
  for (const rev of revinclude) {
    const targets = rev.targetType ? [[rev.targetType, idsByType.get(rev.targetType)] as const] : [...idsByType.entries()];
    for (const [targetType, ids] of targets) {
      if (!ids || rev.codes.length === 0) continue;
      parts.push(`SELECT ${t('')} FROM search_reference i JOIN resource t ON t.tenant_id = i.tenant_id AND t.resource_type = i.resource_type AND t.id = i.resource_id
        WHERE i.tenant_id = $1 AND i.resource_type = ${b.p(rev.sourceType)} AND i.code = ANY(${b.p(rev.codes)}::text[])
          AND i.target_type = ${b.p(targetType)} AND i.target_id = ANY(${b.p(ids)}::text[]) AND NOT t.deleted`);
    }
  }
  if (parts.length === 0) return [];
  const res = await q.query<ResourceRow>(`${parts.map((p) => `(${p})`).join('\nUNION ALL\n')}\nLIMIT ${MAX_INCLUDED + 1}`, b.params);
  return res.rows.map((r) => store.decode(r));
}
