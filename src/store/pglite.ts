/**
 * The PGlite adapter: the server talks to an embedded PostgreSQL running in a worker thread
 * (pglite-worker.ts). PGlite has one session, so this side serialises work: a transaction holds
 * the session from BEGIN to COMMIT and every other caller waits its turn.
 *
 * Deadlines: PGlite ignores statement_timeout (it has no timer signals), so a statement past its
 * deadline is stopped by ending the worker and reopening the data directory, which PostgreSQL's
 * crash recovery makes safe (the same path as a power cut; the crash-safety test kills the whole
 * server to prove it). Only read-only work runs under a deadline, so nothing is lost. An
 * in-memory database cannot be reopened, so there the caller is answered on time and the
 * statement finishes in the background.
 */
import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { type Db, type Queryable, QueryTimeoutError, type SqlValue, type TransactionOptions, normaliseParams } from './db.js';
import type { SerializedError, WorkerCall, WorkerResponse } from './pglite-worker.js';

type Pending = { resolve: (v: { rows: unknown[]; rowCount: number }) => void; reject: (e: unknown) => void };

class DatabaseError extends Error {
  override name = 'DatabaseError';
  readonly code?: string;
  readonly detail?: string;
  constructor(e: SerializedError) {
    super(e.message);
    Object.assign(this, e);
  }
}

/**
 * The worker runs the compiled pglite-worker.js; from source (tsx, vitest) it runs the
 * TypeScript file through tsx's loader, registered inside the worker because a worker does not
 * inherit the parent's module hooks.
 */
function spawnWorker(dataDir: string): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  if (!fromSource) return new Worker(new URL('./pglite-worker.js', import.meta.url), { workerData: { dataDir } });
  const entry = new URL('./pglite-worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: { dataDir } });
}

class WorkerConnection {
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  #dead: Error | undefined;
  private constructor(readonly worker: Worker) {}

  static start(dataDir: string): Promise<WorkerConnection> {
    const worker = spawnWorker(dataDir);
    const conn = new WorkerConnection(worker);
    return new Promise((resolve, reject) => {
      worker.once('message', (m: WorkerResponse) => {
        if ('ready' in m && m.ready) {
          worker.on('message', (r: WorkerResponse) => conn.#settle(r));
          resolve(conn);
        } else {
          reject(new DatabaseError('error' in m ? m.error : { message: 'the embedded database did not start' }));
        }
      });
      worker.once('error', reject);
      worker.on('exit', (code) => conn.#fail(new Error(`the embedded database stopped (worker exit ${code})`)));
    });
  }

  #settle(r: WorkerResponse): void {
    if (!('id' in r)) return;
    const p = this.#pending.get(r.id);
    if (!p) return;
    this.#pending.delete(r.id);
    if (r.ok) p.resolve(r);
    else p.reject(new DatabaseError(r.error));
  }

  #fail(err: Error): void {
    this.#dead ??= err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  call(req: WorkerCall): Promise<{ rows: unknown[]; rowCount: number }> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id });
    });
  }

  async terminate(): Promise<void> {
    this.#fail(new Error('the embedded database was restarted'));
    await this.worker.terminate();
  }
}

export async function openPglite(dataDir: string): Promise<Db> {
  const memory = dataDir === 'memory://';
  if (!memory) mkdirSync(dataDir, { recursive: true });
  let conn = await WorkerConnection.start(dataDir);

  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };
  const session: Queryable = {
    async query<R>(text: string, params?: readonly SqlValue[]) {
      const r = await conn.call({ op: 'query', sql: text, params: normaliseParams(params) });
      return { rows: r.rows as R[], rowCount: r.rowCount };
    },
  };

  // `options.lock` is not taken: this one session is the transaction's until COMMIT (TransactionOptions).
  const transaction = <T>(fn: (tx: Queryable) => Promise<T>, _options?: TransactionOptions): Promise<T> =>
    serial(async () => {
      await session.query('BEGIN');
      try {
        const out = await fn(session);
        await session.query('COMMIT');
        return out;
      } catch (err) {
        await session.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  return {
    kind: 'pglite',
    query: (text, params) => serial(() => session.query(text, params)),
    transaction,
    // PGlite has no statement deadline of its own (see above), so maintenance needs nothing more.
    unlimited: transaction,
    withDeadline: (ms, fn) =>
      serial(async () => {
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), ms);
        });
        const work = fn(session);
        try {
          const first = await Promise.race([work, deadline]);
          if (first !== 'timeout') return first as Awaited<ReturnType<typeof fn>>;
        } finally {
          clearTimeout(timer);
        }
        work.catch(() => undefined);
        if (!memory) {
          await conn.terminate();
          conn = await WorkerConnection.start(dataDir);
        }
        throw new QueryTimeoutError(ms);
      }),
    close: () =>
      serial(async () => {
        await conn.call({ op: 'close' }).catch(() => undefined);
        await conn.worker.terminate();
      }),
  };
}
