import { migrate } from '../../src/store/migrate.js';
import { storeMigrations } from '../../src/store/schema.js';
import { plainCodec } from '../../src/store/codec.js';
import type { Db } from '../../src/store/db.js';
import { ResourceStore } from '../../src/store/resources.js';
import { type AnyResource, TenantId } from '../../src/fhir/types.js';
import {
  executeSearch,
  indexResource,
  parseSearch,
  removeFromIndex,
  searchMigrations,
  type SearchPage,
} from '../../src/fhir/search/index.js';
import type { TestDbKind } from '../support/db.js';

export const T1 = TenantId('t1');
export const T2 = TenantId('t2');

export async function openSearchDb(kind: TestDbKind): Promise<Db> {
  const db = await kind.open();
  await migrate(db, [storeMigrations, searchMigrations]);
  return db;
}

let clock = Date.parse('2024-06-01T00:00:00Z');

/** Writes (as version 1, or the next version) and indexes resources, like the FHIR write path. */
export async function put(db: Db, resources: (AnyResource & { id: string })[], tenant = T1, deleted = false): Promise<void> {
  const store = new ResourceStore(tenant, plainCodec);
  await db.transaction(async (tx) => {
    for (const r of resources) {
      const prev = await store.current(tx, r.resourceType, r.id, true);
      const version = prev ? String(Number(prev.versionId) + 1) : '1';
      clock += 1000;
      await store.write(tx, r, version, new Date(clock), deleted);
      if (deleted) await removeFromIndex(tx, tenant, r.resourceType, r.id);
      else await indexResource(tx, tenant, r);
    }
  });
}

export async function search(db: Db, type: string, query: string, tenant = T1, lenient = false): Promise<SearchPage> {
  const params = [...new URLSearchParams(query).entries()];
  const { search } = parseSearch(type, params, { lenient, defaultCount: 50, maxCount: 100 });
  return executeSearch(db, new ResourceStore(tenant, plainCodec), search);
}

/** Ids of the matches, in result order. */
export async function ids(db: Db, type: string, query: string, tenant = T1): Promise<string[]> {
  return (await search(db, type, query, tenant)).matches.map((m) => m.id);
}

export const sorted = (a: string[]) => [...a].sort();
