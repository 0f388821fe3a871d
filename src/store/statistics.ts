/**
 * Keeps the planner's statistics fresh. PGlite has no autovacuum at all, and some PostgreSQL
 * installations run with it off; without statistics the planner picks nested loops over the
 * search-index tables and a chained search that takes 90 ms with statistics takes minutes
 * (measured on the demo hospital). So after start-up and whenever the data has grown by a
 * fifth since the last run (and at least 50 resources), `ANALYZE` runs in the background; one run at a time.
 */
import type { Db } from './db.js';

export interface StatisticsOptions {
  /** Run once the writes since the last ANALYZE reach this share of the rows seen then. */
  readonly growth: number;
  /** ...but never before this many writes. */
  readonly minWrites: number;
}

export class StatisticsKeeper {
  #writes = 0;
  #baseline = 0;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(
    private readonly db: Db,
    // Small first steps: a few hundred patients already make thousands of blind-index rows, and
    // statistics taken on an empty database send the planner into nested loops.
    private readonly options: StatisticsOptions = { growth: 0.2, minWrites: 50 },
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** Analyses now and records the table size as the new baseline. */
  async analyze(): Promise<void> {
    if (this.#running) return this.#running;
    this.#running = (async () => {
      try {
        this.#baseline = await this.db.unlimited(async (q) => {
          // Only this schema's tables: a bare ANALYZE would analyse every schema of a shared
          // database (other hospitals, other applications), for minutes, at every start.
          const tables = await q.query<{ name: string }>(
            "SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename",
          );
          if (tables.rows.length > 0) await q.query(`ANALYZE ${tables.rows.map((t) => t.name).join(', ')}`);
          const r = await q.query<{ n: string }>('SELECT count(*)::bigint AS n FROM resource_history');
          return Number(r.rows[0]?.n ?? 0);
        });
        this.#writes = 0;
      } catch (err) {
        if (!this.#closed) this.onError(err);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /** Counts committed writes; starts a background ANALYZE when the data has grown enough. */
  noteWrites(n: number): void {
    this.#writes += n;
    if (this.#closed || this.#running) return;
    if (this.#writes >= Math.max(this.options.minWrites, this.options.growth * this.#baseline)) void this.analyze();
  }

  /** Waits for a running ANALYZE so the database can be closed under it. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#running;
  }
}
