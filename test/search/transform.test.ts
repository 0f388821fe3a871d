import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { type IndexValueTransform, parseSearch, setIndexValueTransform } from '../../src/fhir/search/index.js';
import { identityTransform } from '../../src/fhir/search/normalise.js';
import { clauseSql, SqlBuilder } from '../../src/fhir/search/sql.js';
import { testDbKinds } from '../support/db.js';
import { ids, openSearchDb, put, T1 } from './helpers.js';

/**
 * A toy keyed transform through the generic hook (the real one is security/crypto/blind-transform.ts):
 * `family` stores one HMAC per whole word (several rows per value), refuses `:contains`.
 */
const mac = (tenant: string, v: string) => createHmac('sha256', `key-${tenant}`).update(v).digest('base64url');
const toy: IndexValueTransform = {
  ...identityTransform,
  handling: (p) => ({ blind: p.param === 'family' }),
  refusal: (p, q) => (p.param === 'family' && q.kind === 'string' && q.mode === 'contains' ? 'toy: no substrings' : undefined),
  strings: (ctx, raw) =>
    ctx.param === 'family'
      ? raw
          .toLowerCase()
          .split(/\s+/)
          .map((w) => ({ norm: mac(ctx.tenantId, w), exact: '', keyVersion: 7 }))
      : identityTransform.strings(ctx, raw),
  compare: (ctx, q) =>
    ctx.param === 'family' && q.kind === 'string'
      ? { op: 'eq', column: 'value_norm', values: [mac(ctx.tenantId, q.value.toLowerCase())] }
      : identityTransform.compare(ctx, q),
};

describe('the identity transform', () => {
  it('builds the SQL the search module always built', () => {
    const sql = (q: string) => {
      const { search } = parseSearch('Patient', [...new URLSearchParams(q).entries()], { lenient: false, defaultCount: 10, maxCount: 10 });
      const b = new SqlBuilder(T1);
      return { sql: search.clauses.map((c) => clauseSql(b, 'Patient', 'r', c)).join(' AND '), params: b.params };
    };
    expect(sql('name=Jo%25').params).toContain('jo\\%%');
    expect(sql('name=Jo').sql).toContain('s1.value_norm LIKE $2');
    expect(sql('name:contains=os').params).toContain('%os%');
    expect(sql('name:exact=José').sql).toContain('s1.value_exact = $2');
    expect(sql('identifier=u|1').sql).toContain('(s1.value = $2 AND s1.system = $3)');
    expect(sql('birthdate=1980').sql).toContain('FROM search_date');
  });
});

describe.each(testDbKinds())('index value transform on $name', (kind) => {
  let db: Db;
  beforeAll(async () => {
    setIndexValueTransform(toy);
    db = await openSearchDb(kind);
    await put(db, [
      { resourceType: 'Patient', id: 'b1', name: [{ family: 'Srinivasan Iyer' }], address: [{ city: 'Chennai' }] },
      { resourceType: 'Patient', id: 'b2', name: [{ family: 'Iyer' }], address: [{ city: 'Chennapatna' }] },
    ]);
  });
  afterAll(async () => {
    setIndexValueTransform(identityTransform);
    await db?.close();
  });

  it('stores what the transform returns, several rows per value, with their key version', async () => {
    const rows = await db.query<{ value_norm: string; key_version: number }>(
      `SELECT value_norm, key_version FROM search_string WHERE code = 'family' AND resource_id = 'b1'`,
    );
    expect(rows.rows.map((r) => r.value_norm).sort()).toEqual([mac('t1', 'iyer'), mac('t1', 'srinivasan')].sort());
    expect(rows.rows.every((r) => Number(r.key_version) === 7)).toBe(true);
    const plain = await db.query<{ key_version: number | null }>(`SELECT key_version FROM search_string WHERE code = 'address-city'`);
    expect(plain.rows.every((r) => r.key_version === null)).toBe(true);
  });

  it('compares as the transform says and refuses what it refuses', async () => {
    expect(await ids(db, 'Patient', 'family=IYER')).toEqual(['b1', 'b2']);
    expect(await ids(db, 'Patient', 'family=srini')).toEqual([]);
    expect(await ids(db, 'Patient', 'address-city=chenna')).toEqual(['b1', 'b2']);
    await expect(ids(db, 'Patient', 'family:contains=yer')).rejects.toThrow(/toy: no substrings/);
    await expect(ids(db, 'Patient', '_sort=family')).rejects.toThrow(/cannot sort on 'family'/);
  });
});
