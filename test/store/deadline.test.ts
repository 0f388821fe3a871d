/** The query-time limit cancels the work in the database itself, and leaves the data intact. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Db, QueryTimeoutError } from '../../src/store/db.js';
import { openDb } from '../../src/store/open-db.js';
import { testDbKinds } from '../support/db.js';

const SLOW = 'SELECT count(*) FROM generate_series(1, 2000000000)';
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function expectCancelled(db: Db): Promise<void> {
  await db.query('CREATE TABLE IF NOT EXISTS kept (v int)');
  await db.transaction(async (tx) => {
    await tx.query('INSERT INTO kept VALUES (42)');
  });
  const started = Date.now();
  await expect(db.withDeadline(500, (q) => q.query(SLOW))).rejects.toBeInstanceOf(QueryTimeoutError);
  expect(Date.now() - started).toBeLessThan(15_000);
  // The database answers again at once, and what was committed before is still there.
  const r = await db.query<{ v: number }>('SELECT v FROM kept');
  expect(r.rows.map((x) => x.v)).toEqual([42]);
  expect((await db.withDeadline(5_000, (q) => q.query<{ one: number }>('SELECT 1 AS one'))).rows[0]?.one).toBe(1);
}

describe('query deadlines', () => {
  it('PGlite on disk: the statement is stopped and the directory reopened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sushruta-deadline-'));
    dirs.push(dir);
    const db = await openDb({ kind: 'pglite', dataDir: dir });
    try {
      await expectCancelled(db);
    } finally {
      await db.close();
    }
  });

  it.each(testDbKinds().filter((k) => k.name === 'postgres'))('PostgreSQL: statement_timeout cancels it', async (kind) => {
    const db = await kind.open();
    try {
      await expectCancelled(db);
    } finally {
      await db.close();
    }
  });
});
