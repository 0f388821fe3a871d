/**
 * The PostgreSQL adapter (node-postgres). Type parsers match the PGlite adapter so results have
 * the same shape on both: int8 and numeric as strings (no silent precision loss), timestamptz as
 * Date, bytea as bytes.
 */
import pg from 'pg';
import { type Db, type Queryable, QueryTimeoutError, type SqlValue, type TransactionOptions, normaliseParams } from './db.js';

export interface PostgresOptions {
  readonly poolSize: number;
  /**
   * The usual query deadline, set once per connection as `statement_timeout`, so a search under
   * it costs one round trip instead of BEGIN / SET LOCAL / query / COMMIT (measured: 2,560 vs
   * 5,170 identifier searches a second). Other deadlines use SET LOCAL in a transaction.
   */
  readonly statementTimeoutMs?: number;
}

export async function openPostgres(url: string, options: PostgresOptions): Promise<Db> {
  const poolSize = options.poolSize;
  const standing = options.statementTimeoutMs;
  const types = {
    getTypeParser(oid: number, format?: string) {
      if (oid === 20 || oid === 1700) return (v: string) => v;
      // biome-ignore lint/suspicious/noExplicitAny: pg's own overloads are not expressible here
      return (pg.types.getTypeParser as any)(oid, format);
    },
  };
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    types,
    // Sent in the startup packet, so it holds from the connection's first statement.
    ...(standing !== undefined ? { options: mergeOptions(url, `-c statement_timeout=${Math.max(1, Math.floor(standing))}`) } : {}),
  });
  pool.on('error', () => {
    /* an idle client's error surfaces on its next query */
  });
  // Fail fast with a clear message when the server is not reachable.
  const probe = await pool.connect();
  probe.release();
  const wrap = (c: pg.Pool | pg.PoolClient): Queryable => ({
    async query<R>(text: string, params?: readonly SqlValue[]) {
      const res = await c.query(text, normaliseParams(params));
      return { rows: res.rows as R[], rowCount: res.rowCount ?? res.rows.length };
    },
  });
  const direct = wrap(pool);
  const transaction = async <T>(fn: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T> => {
    const client = await pool.connect();
    try {
      // Without parameters the two statements go as one simple query: one round trip. The key is
      // an integer literal (`| 0`), never text.
      const lock = options?.lock;
      await client.query(lock === undefined ? 'BEGIN' : `BEGIN; SELECT pg_advisory_xact_lock(${lock | 0}, hashtext(current_schema()))`);
      const out = await fn(wrap(client));
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  };
  return {
    kind: 'postgres',
    query: (text, params) => direct.query(text, params),
    transaction,
    async withDeadline(ms, fn) {
      try {
        if (ms === standing) return await fn(direct);
        // The server cancels the statement itself when the limit passes.
        return await transaction(async (tx) => {
          await tx.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(ms))}`);
          return fn(tx);
        });
      } catch (err) {
        if ((err as { code?: string }).code === '57014') throw new QueryTimeoutError(ms);
        throw err;
      }
    },
    async unlimited(fn) {
      return transaction(async (tx) => {
        await tx.query('SET LOCAL statement_timeout = 0');
        return fn(tx);
      });
    },
    close: () => pool.end(),
  };
}

/** Keeps any `options` already in the URL (e.g. a search_path) and adds ours. */
function mergeOptions(url: string, extra: string): string {
  try {
    const given = new URL(url).searchParams.get('options');
    return given ? `${given} ${extra}` : extra;
  } catch {
    return extra;
  }
}
