import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { openDb } from '../../src/store/open-db.js';
import { StatisticsKeeper } from '../../src/store/statistics.js';
import { freshSchemaUrl, postgresUrl } from '../support/db.js';

function fakeDb(rows: number) {
  const log: string[] = [];
  const q = {
    async query(sql: string) {
      log.push(sql);
      if (sql.startsWith('SELECT count')) return { rows: [{ n: String(rows) }], rowCount: 1 };
      if (sql.includes('FROM pg_tables')) return { rows: [{ name: 'public.resource' }], rowCount: 1 };
      return { rows: [], rowCount: 0 };
    },
  };
  const db = { kind: 'pglite', ...q, unlimited: (fn: (x: typeof q) => unknown) => fn(q) } as unknown as Db;
  return { db, analyses: () => log.filter((s) => s === 'ANALYZE public.resource').length };
}

describe('StatisticsKeeper', () => {
  it('analyses once the writes since the last run reach the growth share of the data', async () => {
    const { db, analyses } = fakeDb(10_000);
    const k = new StatisticsKeeper(db, { growth: 0.2, minWrites: 500 });
    await k.analyze();
    expect(analyses()).toBe(1);
    k.noteWrites(1_999);
    await k.close();
    expect(analyses()).toBe(1);
    const k2 = new StatisticsKeeper(db, { growth: 0.2, minWrites: 500 });
    await k2.analyze();
    k2.noteWrites(2_000);
    await k2.close();
    expect(analyses()).toBe(3);
  });

  it('waits for the minimum number of writes on a small database', async () => {
    const { db, analyses } = fakeDb(10);
    const k = new StatisticsKeeper(db, { growth: 0.2, minWrites: 500 });
    await k.analyze();
    k.noteWrites(499);
    expect(analyses()).toBe(1);
    k.noteWrites(1);
    await k.close();
    expect(analyses()).toBe(2);
  });
});

const url = postgresUrl();
describe.skipIf(!url)('StatisticsKeeper on a shared PostgreSQL database', () => {
  it("analyses its own schema's tables and leaves other schemas alone", async () => {
    const mine = await openDb({ kind: 'postgres', url: await freshSchemaUrl(url as string), poolSize: 1 });
    const other = await openDb({ kind: 'postgres', url: await freshSchemaUrl(url as string), poolSize: 1 });
    try {
      for (const db of [mine, other]) {
        await db.query('CREATE TABLE resource_history (n int)');
        await db.query('INSERT INTO resource_history SELECT generate_series(1, 100)');
      }
      await new StatisticsKeeper(mine).analyze();
      const analysed = async (db: Db) =>
        (
          await db.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'resource_history'`,
          )
        ).rows[0]?.n;
      expect(Number(await analysed(mine))).toBe(1);
      expect(Number(await analysed(other))).toBe(0);
    } finally {
      await mine.close();
      await other.close();
    }
  });
});
