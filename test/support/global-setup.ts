/**
 * Decides once per run whether the PostgreSQL half of the suite runs: TEST_DATABASE_URL, or the
 * local server on 127.0.0.1:5432 if it answers. CI sets SUSHRUTA_REQUIRE_POSTGRES=1 so that an
 * unreachable PostgreSQL fails the run instead of quietly testing PGlite alone.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string | null;
    /** Prefix of this run's PostgreSQL schemas, so concurrent runs never drop each other's. */
    schemaPrefix: string;
  }
}

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';

async function reachable(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Drops this run's schemas, and those left by runs that started more than six hours ago. */
async function dropTestSchemas(url: string, prefix: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'");
    const staleBefore = Date.now() - 6 * 3600_000;
    for (const { nspname } of rows) {
      const started = Number.parseInt(nspname.split('_')[1] ?? '', 36);
      const stale = Number.isFinite(started) && started < staleBefore;
      if (nspname.startsWith(prefix) || stale) await c.query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`);
    }
  } finally {
    await c.end();
  }
}

export default async function setup(project: TestProject) {
  const url = process.env.SUSHRUTA_TEST_POSTGRES === 'off' ? null : (process.env.TEST_DATABASE_URL ?? DEFAULT_URL);
  const ok = url ? await reachable(url) : false;
  if (!ok && process.env.SUSHRUTA_REQUIRE_POSTGRES === '1') {
    throw new Error(`PostgreSQL is required (SUSHRUTA_REQUIRE_POSTGRES=1) but ${url ?? '(disabled)'} does not answer`);
  }
  const schemaPrefix = `t_${Date.now().toString(36)}_${process.pid.toString(36)}_`;
  project.provide('postgresUrl', ok ? url : null);
  project.provide('schemaPrefix', schemaPrefix);
  console.log(
    ok ? `integration tests run on PGlite and on PostgreSQL (${url})` : 'PostgreSQL not reachable: integration tests run on PGlite only',
  );
  if (ok && url) await dropTestSchemas(url, schemaPrefix);
  return async () => {
    if (ok && url) await dropTestSchemas(url, schemaPrefix);
  };
}
