/** The query-time limit: the database adapter enforces it (store/db.ts `withDeadline`). */
import { type Db, type Queryable, QueryTimeoutError } from '../../store/db.js';
import { tooCostly } from '../outcome.js';

export async function withQueryTimeout<T>(db: Db, ms: number, fn: (q: Queryable) => Promise<T>): Promise<T> {
  try {
    return await db.withDeadline(ms, fn);
  } catch (err) {
    if (err instanceof QueryTimeoutError) {
      throw tooCostly(
        408,
        `the query took longer than the limit of ${ms} ms and was stopped; narrow the search (more criteria, smaller _count)`,
      );
    }
    throw err;
  }
}
