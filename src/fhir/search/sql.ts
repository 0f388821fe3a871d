/**
 * ParsedSearch → parameterised SQL. Every user-supplied value becomes a `$n` parameter; the only
 * text spliced into SQL is table and column names chosen from fixed lists here. Every subquery
 * filters on the tenant ($1) and hits an index that leads with (tenant_id, resource_type, code).
 */
import type { SqlValue } from '../../store/db.js';
import type { TenantId } from '../types.js';
import { notSupported } from '../outcome.js';
import { searchParam } from './definitions.js';
import { type Comparison, indexValueTransform } from './normalise.js';
import type { Clause, ParamType, SortKey, Target, ValueTest } from './parse.js';
import { likeEscape, sqlInstant } from './values.js';

const TABLE: Record<ParamType, string> = {
  string: 'search_string',
  token: 'search_token',
  reference: 'search_reference',
  date: 'search_date',
  number: 'search_number',
  quantity: 'search_quantity',
  uri: 'search_uri',
};

/**
 * The table holding a parameter's rows: by type, except where the installed transform stores them
 * elsewhere (a blind birth date lives in search_token, blind names and addresses in search_blind).
 */
function tableFor(type: string, code: string, ptype: ParamType): string {
  if (ptype === 'date' && indexValueTransform().handling({ resourceType: type, param: code, type: 'date' }).storedAs === 'token')
    return TABLE.token;
  if (ptype === 'string' && indexValueTransform().handling({ resourceType: type, param: code, type: 'string' }).storedAs === 'terms')
    return 'search_blind';
  return TABLE[ptype];
}

/** Collects parameters; `$1` is always the tenant. */
export class SqlBuilder {
  readonly params: SqlValue[];
  private alias = 0;
  constructor(readonly tenantId: TenantId) {
    this.params = [tenantId];
  }
  p(v: SqlValue): string {
    this.params.push(v);
    return `$${this.params.length}`;
  }
  next(prefix: string): string {
    this.alias += 1;
    return `${prefix}${this.alias}`;
  }
}

/** SQL condition that `row` (an alias of `resource`, of type `type`) satisfies `clause`. */
export function clauseSql(b: SqlBuilder, type: string, row: string, clause: Clause): string {
  switch (clause.kind) {
    case 'missing': {
      if (clause.target.kind === 'column') return clause.missing ? 'FALSE' : 'TRUE';
      const s = b.next('m');
      const exists = `EXISTS (SELECT 1 FROM ${tableFor(type, clause.target.code, clause.target.ptype)} ${s} WHERE ${ownerSql(b, s, type, clause.target.code, row)})`;
      return clause.missing ? `NOT ${exists}` : exists;
    }
    case 'match': {
      const t = clause.target;
      if (t.kind === 'column') {
        const ors = clause.tests.map((test) => columnTestSql(b, `${row}.${t.column}`, test));
        const any = `(${ors.join(' OR ')})`;
        return clause.negate ? `NOT ${any}` : any;
      }
      const table = tableFor(type, t.code, t.ptype);
      if (table === 'search_blind') {
        const exists = blindStringSql(b, type, t.code, row, clause.tests);
        return clause.negate ? `NOT ${exists}` : exists;
      }
      const s = b.next('s');
      const ors = clause.tests.map((test) => testSql(b, s, type, t.code, test));
      const exists = `EXISTS (SELECT 1 FROM ${table} ${s} WHERE ${ownerSql(b, s, type, t.code, row)} AND (${ors.join(' OR ')}))`;
      return clause.negate ? `NOT ${exists}` : exists;
    }
    case 'chain': {
      const c = b.next('c');
      const t = b.next('t');
      const inner = clauseSql(b, clause.targetTypes[0] as string, t, clause.inner);
      return `EXISTS (SELECT 1 FROM search_reference ${c} JOIN resource ${t} ON ${t}.tenant_id = ${c}.tenant_id AND ${t}.resource_type = ${c}.target_type AND ${t}.id = ${c}.target_id
        WHERE ${ownerSql(b, c, type, clause.code, row)} AND ${c}.target_type = ANY(${b.p(clause.targetTypes)}::text[]) AND NOT ${t}.deleted AND ${inner})`;
    }
    case 'composite': {
      const ors = clause.values.map((tests) => {
        const aliases = clause.components.map(() => b.next('k'));
        const a0 = aliases[0] as string;
        const first = clause.components[0] as { code: string; ptype: ParamType };
        const joins = clause.components.slice(1).map((c, i) => {
          const a = aliases[i + 1] as string;
          return `JOIN ${tableFor(type, c.code, c.ptype)} ${a} ON ${a}.tenant_id = ${a0}.tenant_id AND ${a}.resource_type = ${a0}.resource_type
            AND ${a}.resource_id = ${a0}.resource_id AND ${a}.code = ${b.p(c.code)} AND ${a}.grp = ${a0}.grp`;
        });
        const conds = clause.components.map((c, i) => testSql(b, aliases[i] as string, type, c.code, tests[i] as ValueTest));
        return `EXISTS (SELECT 1 FROM ${tableFor(type, first.code, first.ptype)} ${a0} ${joins.join(' ')}
          WHERE ${ownerSql(b, a0, type, first.code, row)} AND ${conds.join(' AND ')})`;
      });
      return `(${ors.join(' OR ')})`;
    }
    case 'has': {
      const h = b.next('h');
      const t = b.next('t');
      const inner = clauseSql(b, clause.sourceType, t, clause.inner);
      return `EXISTS (SELECT 1 FROM search_reference ${h} JOIN resource ${t} ON ${t}.tenant_id = ${h}.tenant_id AND ${t}.resource_type = ${h}.resource_type AND ${t}.id = ${h}.resource_id
        WHERE ${h}.tenant_id = $1 AND ${h}.resource_type = ${b.p(clause.sourceType)} AND ${h}.code = ${b.p(clause.code)}
          AND ${h}.target_id = ${row}.id AND ${h}.target_type = ${b.p(type)} AND NOT ${t}.deleted AND ${inner})`;
    }
  }
}

/**
 * A blind string parameter's match: short prefixes are rows of search_blind_short, everything else
 * terms of search_blind, so the OR of values (`family=sh,sharma`) is one EXISTS per table that has
 * some. One short prefix alone is `term = $n`, which the B-tree returns in resource id order: the
 * planner can then merge it with `resource` and stop after the first page.
 */
function blindStringSql(b: SqlBuilder, type: string, code: string, row: string, tests: readonly ValueTest[]): string {
  const ctx = { tenantId: b.tenantId, resourceType: type, param: code };
  const transform = indexValueTransform();
  const byTable = new Map<string, Comparison[]>();
  for (const test of tests) {
    if (test.t !== 'string') throw new Error(`a ${test.t} test on the string parameter ${code}`);
    const c = transform.compare(ctx, { kind: 'string', mode: test.mode, value: test.value });
    const table = c.op === 'short-terms' ? 'search_blind_short' : 'search_blind';
    byTable.set(table, [...(byTable.get(table) ?? []), c]);
  }
  const parts = [...byTable].map(([table, comparisons]) => {
    const s = b.next('s');
    const ors = comparisons.map((c) => comparisonSql(b, s, c, code));
    return `EXISTS (SELECT 1 FROM ${table} ${s} WHERE ${ownerSql(b, s, type, code, row)} AND (${ors.join(' OR ')}))`;
  });
  return parts.length === 1 ? (parts[0] as string) : `(${parts.join(' OR ')})`;
}

function ownerSql(b: SqlBuilder, s: string, type: string, code: string, row: string): string {
  return `${s}.tenant_id = $1 AND ${s}.resource_type = ${b.p(type)} AND ${s}.code = ${b.p(code)} AND ${s}.resource_id = ${row}.id`;
}

/** `_id` (token) and `_lastUpdated` (date) tests on a column of `resource`. */
function columnTestSql(b: SqlBuilder, col: string, test: ValueTest): string {
  if (test.t === 'token') {
    // Ids have no system; `system|id` can never match.
    if (test.system !== undefined || test.code === undefined) return 'FALSE';
    return `${col} = ${b.p(test.code)}`;
  }
  if (test.t === 'date') return dateSql(b, col, col, test);
  return 'FALSE';
}

/**
 * SQL for a comparison the transform chose. One value is `col = $n` (exactly the SQL this module
 * always wrote); several (one per index-key version) are `col = ANY($n::text[])`.
 */
function comparisonSql(b: SqlBuilder, s: string, c: Comparison, param: string): string {
  switch (c.op) {
    case 'eq':
      if (c.values.length === 0) return 'FALSE';
      if (c.values.length === 1) return `${s}.${c.column} = ${b.p(c.values[0] as string)}`;
      return `${s}.${c.column} = ANY(${b.p([...c.values])}::text[])`;
    case 'terms':
      // Array overlap, served by the GIN index on search_blind.terms.
      if (c.values.length === 0) return 'FALSE';
      return `${s}.terms && ${b.p([...c.values])}::bigint[]`;
    case 'short-terms':
      // Rows of search_blind_short (blindStringSql chose that table for this comparison).
      if (c.values.length === 0) return 'FALSE';
      if (c.values.length === 1) return `${s}.term = ${b.p(c.values[0] as string)}::bigint`;
      return `${s}.term = ANY(${b.p([...c.values])}::bigint[])`;
    case 'like':
      return `${s}.${c.column} LIKE ${b.p(c.pattern)}`;
    case 'refuse':
      throw notSupported(c.reason, param);
  }
}

function testSql(b: SqlBuilder, s: string, type: string, code: string, test: ValueTest): string {
  const ctx = { tenantId: b.tenantId, resourceType: type, param: code };
  const transform = indexValueTransform();
  switch (test.t) {
    case 'string': {
      const c = transform.compare(ctx, { kind: 'string', mode: test.mode, value: test.value });
      // Only a composite's component gets here with a blind string (blindStringSql handles plain
      // matches), and its rows are joined within one table: a short prefix lives in another.
      if (c.op === 'short-terms')
        throw notSupported('a prefix of 1-3 characters cannot be searched in a composite parameter; give more characters', code);
      return comparisonSql(b, s, c, code);
    }
    case 'token': {
      const conds: string[] = [];
      if (test.code !== undefined) {
        const codeValue = isContactPointParam(type, code) ? test.code.toLowerCase() : test.code;
        conds.push(comparisonSql(b, s, transform.compare(ctx, { kind: 'token', value: codeValue }), code));
      }
      if (test.system === null) conds.push(`${s}.system IS NULL`);
      else if (test.system !== undefined) conds.push(`${s}.system = ${b.p(test.system)}`);
      return `(${conds.join(' AND ')})`;
    }
    case 'reference': {
      // Built on demand: a parameter the SQL never mentions cannot be typed by PostgreSQL.
      const local = () =>
        test.type
          ? `${s}.target_type = ${b.p(test.type)} AND ${s}.target_id = ${b.p(test.id ?? '')}`
          : `${s}.target_id = ${b.p(test.id ?? '')}`;
      if (test.url && test.id) {
        // We cannot tell whether an absolute URL names this server, so it also matches the local
        // reference with the same type and id.
        return `(${s}.url = ${b.p(test.url)} OR (${s}.url IS NULL AND ${local()}))`;
      }
      if (test.url) return `${s}.url = ${b.p(test.url)}`;
      return `(${local()})`;
    }
    case 'date':
      if (transform.handling({ resourceType: type, param: code, type: 'date' }).storedAs === 'token') {
        const q = { kind: 'date', prefix: test.prefix, low: test.range.low, high: test.range.high } as const;
        return comparisonSql(b, s, transform.compare(ctx, q), code);
      }
      return dateSql(b, `${s}.low`, `${s}.high`, test);
    case 'number':
      return numberSql(b, `${s}.low`, `${s}.high`, test.prefix, test.dec.value, test.dec.half);
    case 'quantity': {
      const conds = [numberSql(b, `${s}.low`, `${s}.high`, test.prefix, test.dec.value, test.dec.half)];
      if (test.system) conds.push(`${s}.system = ${b.p(test.system)}`);
      if (test.code) {
        conds.push(
          test.system ? `${s}.unit_code = ${b.p(test.code)}` : `(${s}.unit_code = ${b.p(test.code)} OR ${s}.unit = ${b.p(test.code)})`,
        );
      }
      return `(${conds.join(' AND ')})`;
    }
    case 'uri':
      if (test.mode === 'below') return `${s}.value LIKE ${b.p(`${likeEscape(test.value)}%`)}`;
      if (test.mode === 'above') return `starts_with(${b.p(test.value)}::text, ${s}.value)`;
      return `${s}.value = ${b.p(test.value)}`;
  }
}

const contactPointCache = new Map<string, boolean>();

/** Whether a token parameter indexes ContactPoints, whose values are stored lower-cased. */
function isContactPointParam(type: string, code: string): boolean {
  const key = `${type}.${code}`;
  let hit = contactPointCache.get(key);
  if (hit === undefined) {
    const def = searchParam(type, code);
    hit = !!def?.details.elementDefinitions?.some((e) => e.type.some((t) => t.code === 'ContactPoint'));
    contactPointCache.set(key, hit);
  }
  return hit;
}

/**
 * The FHIR R4 date comparison table, with both the stored value [low, high] and the searched
 * value [lo, hi] treated as inclusive ranges.
 */
function dateSql(b: SqlBuilder, low: string, high: string, test: Extract<ValueTest, { t: 'date' }>): string {
  // Parameters are added only when used: PostgreSQL cannot type a parameter the text never mentions.
  const lo = () => `${b.p(sqlInstant(test.range.low))}::timestamptz`;
  const hi = () => `${b.p(sqlInstant(test.range.high))}::timestamptz`;
  const eq = () => `(${low} >= ${lo()} AND ${high} <= ${hi()})`;
  switch (test.prefix) {
    case 'eq':
      return eq();
    case 'ne':
      return `NOT ${eq()}`;
    case 'gt':
      return `${high} > ${hi()}`;
    case 'lt':
      return `${low} < ${lo()}`;
    // `ge` and `le` also state the bound that both branches imply (a stored range has low <= high):
    // the matches are the same, and the planner gets a plain range it can scan an index with.
    case 'ge':
      return `(${high} >= ${lo()} AND (${high} > ${hi()} OR ${eq()}))`;
    case 'le':
      return `(${low} <= ${hi()} AND (${low} < ${lo()} OR ${eq()}))`;
    case 'sa':
      return `${low} > ${hi()}`;
    case 'eb':
      return `${high} < ${lo()}`;
    case 'ap': {
      // "Approximately": widen the searched range by 10% of its distance from now (at least a day).
      const now = Date.now();
      const gap = Math.max(Math.abs(now - test.range.low), Math.abs(now - test.range.high));
      const slack = Math.max(0.1 * (Number.isFinite(gap) ? gap : 0), 86_400_000);
      const alo = `${b.p(sqlInstant(test.range.low - slack))}::timestamptz`;
      const ahi = `${b.p(sqlInstant(test.range.high + slack))}::timestamptz`;
      return `(${low} <= ${ahi} AND ${high} >= ${alo})`;
    }
  }
}

/**
 * Number and quantity comparisons. `eq`/`ne` use the precision of the searched value (100 means
 * [99.5, 100.5)); ordering prefixes compare against the value itself. A stored Range may be open
 * (NULL low or high), which counts as unbounded on that side.
 */
function numberSql(b: SqlBuilder, low: string, high: string, prefix: string, value: string, half: string): string {
  const v = `${b.p(value)}::numeric`;
  const eq = () => {
    const h = `${b.p(half)}::numeric`;
    return `(${low} IS NOT NULL AND ${high} IS NOT NULL AND ${low} >= ${v} - ${h} AND ${high} < ${v} + ${h})`;
  };
  switch (prefix) {
    case 'ne':
      return `NOT ${eq()}`;
    case 'gt':
      return `(${high} IS NULL OR ${high} > ${v})`;
    case 'lt':
      return `(${low} IS NULL OR ${low} < ${v})`;
    case 'ge':
      return `(${high} IS NULL OR ${high} >= ${v})`;
    case 'le':
      return `(${low} IS NULL OR ${low} <= ${v})`;
    case 'sa':
      return `(${low} IS NOT NULL AND ${low} > ${v})`;
    case 'eb':
      return `(${high} IS NOT NULL AND ${high} < ${v})`;
    case 'ap':
      return `((${high} IS NULL OR ${high} >= ${v} - abs(${v}) * 0.1) AND (${low} IS NULL OR ${low} <= ${v} + abs(${v}) * 0.1))`;
    default:
      return eq();
  }
}

export interface SortExpr {
  readonly sql: string;
  /** Cast applied to a cursor value so it compares with `sql`. */
  readonly cast: string;
  readonly desc: boolean;
}

/** One scalar per resource for each sort key: ascending sorts on the lowest value, descending on the highest. */
export function sortExpr(b: SqlBuilder, type: string, row: string, key: SortKey): SortExpr {
  const e = rawSortExpr(b, type, row, key);
  // Text keys sort by code point on both databases (their default collations differ), so a
  // page boundary means the same thing on PGlite and PostgreSQL.
  return e.cast === '::text' ? { sql: `(${e.sql}) COLLATE "C"`, cast: '::text COLLATE "C"', desc: e.desc } : e;
}

function rawSortExpr(b: SqlBuilder, type: string, row: string, key: SortKey): SortExpr {
  const t: Target = key.target;
  if (t.kind === 'column') return { sql: `${row}.${t.column}`, cast: t.column === 'id' ? '::text' : '::timestamptz', desc: key.desc };
  const agg = key.desc ? 'max' : 'min';
  const s = b.next('o');
  const owner = ownerSql(b, s, type, t.code, row);
  const sub = (expr: string, extra = '') => `(SELECT ${agg}(${expr}) FROM ${TABLE[t.ptype]} ${s} WHERE ${owner}${extra})`;
  switch (t.ptype) {
    case 'string':
      return { sql: sub(`${s}.value_norm`, ` AND ${s}.sort`), cast: '::text', desc: key.desc };
    case 'token':
      return { sql: sub(`${s}.value`), cast: '::text', desc: key.desc };
    case 'date':
      return { sql: sub(key.desc ? `${s}.high` : `${s}.low`), cast: '::timestamptz', desc: key.desc };
    case 'number':
    case 'quantity':
      return { sql: sub(key.desc ? `COALESCE(${s}.high, ${s}.low)` : `COALESCE(${s}.low, ${s}.high)`), cast: '::numeric', desc: key.desc };
    case 'reference':
      return { sql: sub(`COALESCE(${s}.target_type || '/' || ${s}.target_id, ${s}.url)`), cast: '::text', desc: key.desc };
    case 'uri':
      return { sql: sub(`${s}.value`), cast: '::text', desc: key.desc };
  }
}
