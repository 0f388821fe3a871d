/**
 * Key management for one hospital (tenant): status, rotation with background re-encryption,
 * verification, wrapped backups and crypto-shredding. Transport-free: the CLI calls it directly
 * when it owns the database, and through the server's admin API when a server is running.
 *
 * Rotation is resumable by construction: the work left is "rows whose key version is below the
 * active one" (store/reencrypt.ts) and "index rows under an older index key", both recomputed on
 * every run, so a crash mid-way loses nothing and the next start carries on.
 */
import type { Db } from '../../store/db.js';
import { plainCodec } from '../../store/codec.js';
import { type BodyTable, countBelow, reencryptBatch } from '../../store/reencrypt.js';
import type { ResourceStore } from '../../store/resources.js';
import type { KeyPurpose, KeyRing } from './keyring.js';

export interface KeyVersionInfo {
  readonly version: number;
  readonly state: string;
  readonly createdAt: string;
}

export interface KeyStatus {
  readonly tenant: string;
  /** True once the hospital's keys were destroyed (crypto-shredding); nothing else then applies. */
  readonly shredded: boolean;
  readonly kekId: string;
  readonly data: { readonly active: number; readonly versions: KeyVersionInfo[] };
  readonly index: { readonly active: number; readonly versions: KeyVersionInfo[] };
  /** Rows still encrypted under an older data key, or index rows under an older index key. */
  readonly pending: { readonly bodies: number; readonly indexRows: number };
  readonly job: JobState;
}

export type JobState =
  | { readonly state: 'idle' }
  | { readonly state: 'running'; readonly purpose: KeyPurpose; readonly done: number; readonly total: number; readonly startedAt: string }
  | { readonly state: 'failed'; readonly purpose: KeyPurpose; readonly error: string };

export type Progress = (done: number, total: number) => void;

/** What key management needs from the search index, supplied by the composition root. */
export interface IndexMaintenance {
  /** Index rows written under an index-key version below `version`. */
  countBelow(db: Db, version: number): Promise<number>;
  /** Re-indexes up to `batch` current resources after `after` (keyset); returns the last key, or undefined when done. */
  reindexBatch(db: Db, after: string | undefined, batch: number): Promise<{ last: string | undefined; count: number }>;
  /** Resources to re-index, for progress. */
  countResources(db: Db): Promise<number>;
  /** Deletes index rows under versions below `version` (after every resource was re-indexed). */
  deleteBelow(db: Db, version: number): Promise<void>;
}

/** Above every key version (versions are int4 in the database). */
const ALL_VERSIONS = 2_147_483_647;

export class KeyAdmin {
  #job: JobState = { state: 'idle' };
  #running: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly ring: KeyRing,
    private readonly store: ResourceStore,
    private readonly index: IndexMaintenance,
    private readonly batch = 200,
  ) {}

  get tenant(): string {
    return this.store.tenantId;
  }

  /** True when the hospital's keys were destroyed. */
  async shredded(): Promise<boolean> {
    return (await this.ring.versions(this.tenant, 'data')).some((v) => v.state === 'destroyed');
  }

  async status(): Promise<KeyStatus> {
    const [data, index] = await Promise.all([this.#versions('data'), this.#versions('index')]);
    if (await this.shredded()) {
      return {
        tenant: this.tenant,
        shredded: true,
        kekId: this.ring.kekId,
        data: { active: 0, versions: data },
        index: { active: 0, versions: index },
        pending: { bodies: 0, indexRows: 0 },
        job: this.#job,
      };
    }
    const dataActive = this.ring.activeCached(this.tenant, 'data').version;
    const indexActive = this.ring.activeCached(this.tenant, 'index').version;
    const bodies =
      (await countBelow(this.db, this.store, 'resource', dataActive)) +
      (await countBelow(this.db, this.store, 'resource_history', dataActive));
    return {
      tenant: this.tenant,
      shredded: false,
      kekId: this.ring.kekId,
      data: { active: dataActive, versions: data },
      index: { active: indexActive, versions: index },
      pending: { bodies, indexRows: await this.index.countBelow(this.db, indexActive) },
      job: this.#job,
    };
  }

  async #versions(purpose: KeyPurpose): Promise<KeyVersionInfo[]> {
    return (await this.ring.versions(this.tenant, purpose)).map((v) => ({
      version: v.version,
      state: v.state,
      createdAt: v.createdAt.toISOString(),
    }));
  }

  /**
   * Creates a new key version; new writes use it at once. Call `complete` (the server does so in
   * the background) to move existing data under it.
   */
  async rotate(purpose: KeyPurpose): Promise<number> {
    const version = await this.ring.rotate(this.tenant, purpose);
    await this.ring.preload(this.tenant);
    return version;
  }

  /** Runs any unfinished re-encryption and re-indexing in the background (one job at a time). */
  startBackground(onError: (err: unknown) => void = () => undefined): Promise<void> {
    if (!this.#running) {
      this.#running = this.complete()
        .then(() => undefined, onError)
        .finally(() => {
          this.#running = undefined;
        });
    }
    return this.#running;
  }

  /** Waits for a background job to end (for shutdown and tests). */
  async idle(): Promise<void> {
    await this.#running;
  }

  /**
   * Finishes every rotation: bodies under older data keys are re-encrypted, resources indexed under
   * an older index key are re-indexed, and the older versions are retired. Reads and writes go on
   * meanwhile; interrupted, it resumes from what is left.
   */
  async complete(
    progress?: Progress,
    options: { acceptPlaintext?: boolean; reindexAll?: boolean } = {},
  ): Promise<{ bodies: number; resources: number }> {
    let bodies = 0;
    let resources = 0;
    // A shredded hospital has nothing left to move, and never will.
    if (await this.shredded()) return { bodies, resources };
    try {
      const data = this.ring.activeCached(this.tenant, 'data').version;
      const tables: BodyTable[] = ['resource_history', 'resource'];
      let total = 0;
      for (const t of tables) total += await countBelow(this.db, this.store, t, data);
      if (total > 0) {
        this.#job = { state: 'running', purpose: 'data', done: 0, total, startedAt: new Date().toISOString() };
        for (const table of tables) {
          for (;;) {
            const n = await reencryptBatch(this.db, this.store, table, {
              below: data,
              batch: this.batch,
              acceptPlaintext: options.acceptPlaintext ?? false,
              plain: plainCodec,
            });
            if (n === 0) break;
            bodies += n;
            this.#job = { ...this.#job, done: Math.min(bodies, total) } as JobState;
            progress?.(Math.min(bodies, total), total);
          }
        }
      }
      await this.#retireOlder('data', data);

      const indexVersion = this.ring.activeCached(this.tenant, 'index').version;
      // reindexAll: index rows written before encryption carry no key version at all.
      if (options.reindexAll || (await this.index.countBelow(this.db, indexVersion)) > 0) {
        const count = await this.index.countResources(this.db);
        this.#job = { state: 'running', purpose: 'index', done: 0, total: count, startedAt: new Date().toISOString() };
        let after: string | undefined;
        for (;;) {
          const r = await this.index.reindexBatch(this.db, after, this.batch);
          resources += r.count;
          this.#job = { ...this.#job, done: Math.min(resources, count) } as JobState;
          progress?.(Math.min(resources, count), count);
          if (r.last === undefined) break;
          after = r.last;
        }
        await this.index.deleteBelow(this.db, indexVersion);
      }
      await this.#retireOlder('index', indexVersion);
      this.#job = { state: 'idle' };
      return { bodies, resources };
    } catch (err) {
      this.#job = { state: 'failed', purpose: this.#job.state === 'running' ? this.#job.purpose : 'data', error: (err as Error).message };
      throw err;
    }
  }

  async #retireOlder(purpose: KeyPurpose, active: number): Promise<void> {
    for (const v of await this.ring.versions(this.tenant, purpose)) {
      if (v.version < active && v.state === 'retiring') await this.ring.retire(this.tenant, purpose, v.version);
    }
  }

  /**
   * Checks that every wrapped key unwraps under the key-encryption key and that every stored body
   * (current and history) authenticates under its key version. Reports, never repairs.
   */
  async verify(progress?: Progress): Promise<{ keys: number; bodies: number; problems: string[] }> {
    const keys = await this.ring.verify();
    const problems = [...keys.problems];
    let bodies = 0;
    const total =
      (await countBelow(this.db, this.store, 'resource', ALL_VERSIONS)) +
      (await countBelow(this.db, this.store, 'resource_history', ALL_VERSIONS));
    for (const table of ['resource_history', 'resource'] as const) {
      let after: [string, string, string] | undefined;
      for (;;) {
        const params: (string | number)[] = [this.tenant];
        const where = after ? 'AND (resource_type, id, version_id) > ($2, $3, $4::bigint)' : '';
        if (after) params.push(...after);
        const { rows } = await this.db.query<{ resource_type: string; id: string; version_id: string; body: Uint8Array }>(
          `SELECT resource_type, id, version_id, body FROM ${table} WHERE tenant_id = $1 ${where}
           ORDER BY resource_type, id, version_id LIMIT 500`,
          params,
        );
        if (rows.length === 0) break;
        for (const r of rows) {
          try {
            JSON.parse(
              this.store.codec.decode(r.body, {
                tenantId: this.tenant,
                resourceType: r.resource_type,
                id: r.id,
                versionId: String(r.version_id),
              }),
            );
          } catch (err) {
            if (problems.length < 100)
              problems.push(`${table} ${r.resource_type}/${r.id} version ${r.version_id}: ${(err as Error).message}`);
          }
        }
        bodies += rows.length;
        progress?.(bodies, total);
        const last = rows[rows.length - 1];
        if (!last) break;
        after = [last.resource_type, last.id, String(last.version_id)];
      }
    }
    return { keys: keys.keys, bodies, problems };
  }

  exportBackup(passphrase: string): Promise<string> {
    return this.ring.exportBackup(passphrase, [this.tenant]);
  }

  async importBackup(doc: string, passphrase: string): Promise<{ imported: number; unchanged: number; skippedDestroyed: number }> {
    const r = await this.ring.importBackup(doc, passphrase);
    await this.ring.preload(this.tenant);
    return r;
  }

  /** Crypto-shredding: destroys every key of this hospital. Its data becomes unreadable for good. */
  async shred(): Promise<void> {
    await this.ring.destroy(this.tenant);
  }
}
