/**
 * Migration search/004 moves blind string rows written by earlier versions (one search_string row
 * per digest, 11-character base64url) into search_blind terms, exactly as `digestTerm` would write
 * them, and leaves plain rows where they are. Migration search/005 then records every tenant with
 * blind rows for the re-index that moves short prefixes into search_blind_short.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchMigrations } from '../../src/fhir/search/index.js';
import { digestTerm } from '../../src/security/crypto/blind-transform.js';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { storeMigrations } from '../../src/store/schema.js';
import { testDbKinds } from '../support/db.js';

const digest = () => randomBytes(8).toString('base64url');

describe.each(testDbKinds())('search/004 on $name', (kind) => {
  let db: Db;
  beforeAll(async () => {
    db = await kind.open();
  });
  afterAll(async () => {
    await db.close();
  });

  it('turns old blind rows into one term array per resource, code, group and key version', async () => {
    const at = searchMigrations.findIndex((m) => m.id === 'search/004-blind-terms');
    expect(at).toBeGreaterThan(0);
    await migrate(db, [storeMigrations, searchMigrations.slice(0, at)]);

    const p1 = [digest(), digest(), digest()];
    const p1exact = digest();
    const p2v2 = digest();
    const row = (id: string, code: string, norm: string, exact: string, kv: number | null, grp: number | null = null) =>
      db.query(
        `INSERT INTO search_string (tenant_id, resource_type, resource_id, code, value_norm, value_exact, sort, grp, key_version)
         VALUES ('t1', 'Patient', $1, $2, $3, $4, false, $5, $6)`,
        [id, code, norm, exact, grp, kv],
      );
    for (const d of p1) await row('p1', 'family', d, '', 1);
    await row('p1', 'family', '', p1exact, 1);
    await row('p1', 'family', p1[0] as string, '', 1); // a duplicate digest becomes one term
    await row('p2', 'family', p2v2, '', 2);
    await row('p2', 'identifier:text', 'uhid', 'UHID', null); // plain: stays

    await migrate(db, [storeMigrations, searchMigrations]);

    const blind = await db.query<{
      resource_id: string;
      code: string;
      key_version: number;
      grp: number | null;
      terms: (string | bigint)[];
    }>(`SELECT resource_id, code, key_version, grp, terms FROM search_blind ORDER BY resource_id`);
    const rows = blind.rows.map((r) => ({
      id: r.resource_id,
      code: r.code,
      kv: Number(r.key_version),
      grp: r.grp,
      terms: r.terms.map(String).sort(),
    }));
    expect(rows).toEqual([
      { id: 'p1', code: 'family', kv: 1, grp: null, terms: [...p1, p1exact].map(digestTerm).sort() },
      { id: 'p2', code: 'family', kv: 2, grp: null, terms: [digestTerm(p2v2)] },
    ]);
    const left = await db.query<{ resource_id: string; code: string }>(`SELECT resource_id, code FROM search_string`);
    expect(left.rows).toEqual([{ resource_id: 'p2', code: 'identifier:text' }]);
    // search/005: the tenant's short prefixes are still inside those arrays; only its keys can move them.
    const pending = await db.query<{ tenant_id: string; reason: string; position: string | null }>(
      'SELECT tenant_id, reason, position FROM search_reindex_pending',
    );
    expect(pending.rows).toEqual([{ tenant_id: 't1', reason: 'search/005-blind-short-prefixes', position: null }]);
  });
});
