/**
 * Versioned migrations, applied on start. Each module owns its tables and contributes its own
 * ordered list; the runner applies what is missing, each migration in its own transaction, under
 * an advisory lock so two app servers starting together cannot race.
 */
import { type Db, lockWithinSchema, type Queryable } from './db.js';

export interface Migration {
  /** Globally unique and stable, e.g. `store/001-resources`. Order within a module is list order. */
  readonly id: string;
  readonly up: string | ((tx: Queryable) => Promise<void>);
}

const LOCK_KEY = 0x5355_5348; // "SUSH"

export async function migrate(db: Db, modules: readonly (readonly Migration[])[]): Promise<string[]> {
  await db.query(`CREATE TABLE IF NOT EXISTS schema_migration (
    id text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const applied: string[] = [];
  for (const list of modules) {
    for (const m of list) {
      const done = await db.transaction(async (tx) => {
        await lockWithinSchema(tx, LOCK_KEY);
        const seen = await tx.query('SELECT 1 FROM schema_migration WHERE id = $1', [m.id]);
        if (seen.rows.length > 0) return false;
        if (typeof m.up === 'string') {
          for (const stmt of splitStatements(m.up)) await tx.query(stmt);
        } else {
          await m.up(tx);
        }
        await tx.query('INSERT INTO schema_migration (id) VALUES ($1)', [m.id]);
        return true;
      });
      if (done) applied.push(m.id);
    }
  }
  return applied;
}

/** Splits a migration script on top-level semicolons (our scripts hold no function bodies). */
function splitStatements(script: string): string[] {
  return script
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
