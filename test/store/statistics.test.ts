import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { StatisticsKeeper } from '../../src/store/statistics.js';

function fakeDb(rows: number) {
  const log: string[] = [];
  const q = {
    async query(sql: string) {
      log.push(sql);
      return { rows: sql.startsWith('SELECT count') ? [{ n: String(rows) }] : [], rowCount: 0 };
    },
  };
  const db = { kind: 'pglite', ...q, unlimited: (fn: (x: typeof q) => unknown) => fn(q) } as unknown as Db;
  return { db, analyses: () => log.filter((s) => s === 'ANALYZE').length };
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
