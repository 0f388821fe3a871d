/** Opens the configured database through its adapter. */
import type { Db, DbTarget } from './db.js';

export async function openDb(target: DbTarget): Promise<Db> {
  if (target.kind === 'pglite') {
    const { openPglite } = await import('./pglite.js');
    return openPglite(target.dataDir);
  }
  const { openPostgres } = await import('./postgres.js');
  return openPostgres(target.url, {
    poolSize: target.poolSize ?? 10,
    ...(target.statementTimeoutMs !== undefined ? { statementTimeoutMs: target.statementTimeoutMs } : {}),
  });
}
