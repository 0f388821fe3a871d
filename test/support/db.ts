/**
 * The two databases every integration test runs against (invariant 6): an in-memory PGlite
 * always, and PostgreSQL whenever the global setup found one (see global-setup.ts). Each PostgreSQL test gets a
 * fresh schema, so test files run in parallel without seeing each other's rows.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import type { Db, DbTarget } from '../../src/store/db.js';
import { openDb } from '../../src/store/open-db.js';

export interface TestDbKind {
  readonly name: 'pglite' | 'postgres';
  open(): Promise<Db>;
}

export function testDbKinds(): TestDbKind[] {
  const kinds: TestDbKind[] = [{ name: 'pglite', open: () => openDb({ kind: 'pglite', dataDir: 'memory://' }) }];
  const url = postgresUrl();
  if (url) kinds.push({ name: 'postgres', open: () => openFreshPostgres(url) });
  return kinds;
}

/** A target for a server process under test: a fresh PostgreSQL schema, or a PGlite directory. */
export async function freshTarget(kind: TestDbKind['name'], dataDir: string): Promise<DbTarget> {
  if (kind === 'pglite') return { kind: 'pglite', dataDir };
  const url = postgresUrl();
  if (!url) throw new Error('no PostgreSQL for this test run');
  return { kind: 'postgres', url: await freshSchemaUrl(url) };
}

export async function freshSchemaUrl(url: string): Promise<string> {
  const schema = `${schemaPrefix()}${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

async function openFreshPostgres(url: string): Promise<Db> {
  return openDb({ kind: 'postgres', url: await freshSchemaUrl(url), poolSize: 4 });
}

export function postgresUrl(): string | null {
  return inject('postgresUrl');
}

/** Outside a vitest run (a script), a prefix of its own that the six-hour sweep still covers. */
function schemaPrefix(): string {
  try {
    return inject('schemaPrefix');
  } catch {
    return `t_${Date.now().toString(36)}_${process.pid.toString(36)}_`;
  }
}
