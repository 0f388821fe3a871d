/**
 * One SQL code path, two databases (invariant 6).
 *
 * Everything above this module speaks PostgreSQL SQL with `$1` placeholders through the `Db`
 * interface; whether the bytes go to an embedded PGlite or to a PostgreSQL server is decided
 * once, in open-db.ts. Only the adapters (postgres.ts, pglite-worker.ts) import a driver.
 */
export type SqlValue = string | number | bigint | boolean | null | Date | Uint8Array | readonly string[] | readonly number[];

export interface QueryResult<R> {
  readonly rows: R[];
  readonly rowCount: number;
}

/** Something that runs SQL: the database itself or an open transaction. */
export interface Queryable {
  query<R = Record<string, unknown>>(text: string, params?: readonly SqlValue[]): Promise<QueryResult<R>>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /**
   * Runs `fn` in one transaction. It commits only if `fn` resolves; any throw rolls back, so a
   * caller can never observe a half-written resource (invariant 4). Inside `fn` use only the
   * given `tx`: on PGlite, a query on the `Db` itself would wait for the transaction to end.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Runs read-only work under a time limit. When the limit passes the work is cancelled in the
   * database (not merely abandoned) and the promise rejects with `QueryTimeoutError`.
   */
  withDeadline<T>(ms: number, fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Runs maintenance (ANALYZE, re-encryption batches) in one transaction with no statement deadline. */
  unlimited<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface TransactionOptions {
  /**
   * Take this advisory lock (`lockWithinSchema`) as the transaction begins: on PostgreSQL in the
   * same round trip as BEGIN. PGlite takes none: its one session belongs to the transaction from
   * BEGIN to COMMIT, which already excludes every other transaction.
   */
  readonly lock?: number;
}

/**
 * Takes a transaction-scoped advisory lock on `key` (a 32-bit name of what is locked) within this
 * database schema. Advisory locks are database-wide; keyed by the schema too, hospitals (or test
 * runs) in different schemas of one database do not queue behind each other's locks.
 */
export function lockWithinSchema(tx: Queryable, key: number): Promise<unknown> {
  return tx.query('SELECT pg_advisory_xact_lock($1::int4, hashtext(current_schema()))', [key | 0]);
}

export class QueryTimeoutError extends Error {
  override name = 'QueryTimeoutError';
  constructor(readonly ms: number) {
    super(`the query did not finish within ${ms} ms and was cancelled`);
  }
}

export type DbTarget =
  | { kind: 'pglite'; dataDir: string }
  | { kind: 'postgres'; url: string; poolSize?: number; statementTimeoutMs?: number };

export function normaliseParams(params: readonly SqlValue[] | undefined): unknown[] {
  if (!params) return [];
  return params.map((p) => (typeof p === 'bigint' ? p.toString() : p));
}
