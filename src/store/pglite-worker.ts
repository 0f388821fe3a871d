/**
 * The embedded PostgreSQL (PGlite) in its own thread. PGlite runs every statement synchronously
 * in the thread that owns it; here that thread is not the server's, so a long statement cannot
 * stall HTTP handling, and a statement past its deadline can be stopped by ending this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

export type WorkerCall = { op: 'query'; sql: string; params: unknown[] } | { op: 'close' };
export type WorkerRequest = WorkerCall & { id: number };
export type WorkerResponse =
  | { id: number; ok: true; rows: unknown[]; rowCount: number }
  | { id: number; ok: false; error: SerializedError }
  | { ready: true }
  | { ready: false; error: SerializedError };
export interface SerializedError {
  message: string;
  code?: string;
  detail?: string;
  hint?: string;
  position?: string;
}

// int8 and numeric as strings, as in the PostgreSQL adapter: no silent precision loss.
const parsers = { 20: (v: string) => v, 1700: (v: string) => v };

function serialize(err: unknown): SerializedError {
  const e = err as Partial<SerializedError> & { message?: string };
  return {
    message: e.message ?? String(err),
    ...(e.code ? { code: e.code } : {}),
    ...(e.detail ? { detail: e.detail } : {}),
    ...(e.hint ? { hint: e.hint } : {}),
    ...(e.position ? { position: String(e.position) } : {}),
  };
}

const port = parentPort;
if (!port) throw new Error('pglite-worker must run as a worker thread');
const { dataDir } = workerData as { dataDir: string };
let db: PGlite;
try {
  db = await PGlite.create(dataDir === 'memory://' ? undefined : dataDir);
  port.postMessage({ ready: true } satisfies WorkerResponse);
} catch (err) {
  port.postMessage({ ready: false, error: serialize(err) } satisfies WorkerResponse);
  process.exit(1);
}

port.on('message', async (m: WorkerRequest) => {
  try {
    if (m.op === 'close') {
      await db.close();
      port.postMessage({ id: m.id, ok: true, rows: [], rowCount: 0 } satisfies WorkerResponse);
      port.close();
      return;
    }
    const r = await db.query(m.sql, m.params, { parsers });
    port.postMessage({ id: m.id, ok: true, rows: r.rows, rowCount: r.affectedRows ?? r.rows.length } satisfies WorkerResponse);
  } catch (err) {
    port.postMessage({ id: m.id, ok: false, error: serialize(err) } satisfies WorkerResponse);
  }
});
