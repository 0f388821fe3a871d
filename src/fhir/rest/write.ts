/**
 * The write path: every create, update, patch and delete ends here, in one transaction that
 * holds the history row, the current row and the search-index rows (invariant 4).
 */
import { randomUUID } from 'node:crypto';
import { indexResource, removeFromIndex } from '../search/index.js';
import { FhirError, issue, preconditionFailed } from '../outcome.js';
import type { AnyResource, StoredResource } from '../types.js';
import type { Queryable } from '../../store/db.js';
import type { ResourceStore } from '../../store/resources.js';

export const newId = (): string => randomUUID();

/** Stamps meta.versionId / meta.lastUpdated; drops client-sent values the server owns. */
function stamp(resource: AnyResource, id: string, versionId: string, lastUpdated: Date): AnyResource & { id: string } {
  const meta = { ...(resource.meta ?? {}), versionId, lastUpdated: lastUpdated.toISOString() };
  return { ...resource, id, meta } as AnyResource & { id: string };
}

/** Writes a new version after `previous` (undefined for a new resource). Caller holds the row lock. */
export async function writeVersion(
  tx: Queryable,
  store: ResourceStore,
  resource: AnyResource,
  id: string,
  previous: StoredResource | undefined,
): Promise<StoredResource> {
  const versionId = previous ? String(BigInt(previous.versionId) + 1n) : '1';
  const lastUpdated = nextTimestamp(previous);
  const stamped = stamp(resource, id, versionId, lastUpdated);
  try {
    const stored = await store.write(tx, stamped, versionId, lastUpdated, false);
    // A resource with no previous version has no index rows yet: skip the DELETE over every index table.
    await indexResource(tx, store.tenantId, stamped, { fresh: previous === undefined });
    return stored;
  } catch (err) {
    throw mapWriteConflict(err, `${resource.resourceType}/${id}`);
  }
}

export async function writeDeletion(tx: Queryable, store: ResourceStore, previous: StoredResource): Promise<StoredResource> {
  const versionId = String(BigInt(previous.versionId) + 1n);
  const lastUpdated = nextTimestamp(previous);
  // The tombstone keeps the last live body so that the version history can show what was deleted.
  const body = stamp(previous.resource, previous.id, versionId, lastUpdated);
  try {
    const stored = await store.write(tx, body, versionId, lastUpdated, true);
    await removeFromIndex(tx, store.tenantId, previous.resourceType, previous.id);
    return stored;
  } catch (err) {
    throw mapWriteConflict(err, `${previous.resourceType}/${previous.id}`);
  }
}

/** lastUpdated never goes backwards for a resource, even if the clock does. */
function nextTimestamp(previous: StoredResource | undefined): Date {
  const now = new Date();
  if (previous && previous.lastUpdated.getTime() >= now.getTime()) return new Date(previous.lastUpdated.getTime() + 1);
  return now;
}

/** Two writers racing on a new id: the history primary key stops the second. */
function mapWriteConflict(err: unknown, ref: string): unknown {
  const code = (err as { code?: string }).code;
  if (code === '23505') {
    return new FhirError(409, [issue('conflict', `${ref} was written concurrently by another request; retry with the current version`)]);
  }
  return err;
}

export function checkIfMatch(
  ifMatch: string | undefined,
  current: StoredResource | undefined,
  ref: string,
  parse: (s: string) => string,
): void {
  if (ifMatch === undefined) return;
  const wanted = parse(ifMatch);
  if (!current || current.versionId !== wanted) {
    throw preconditionFailed(
      current
        ? `${ref} is at version ${current.versionId}, not ${wanted} (If-Match): read it again and reapply your change`
        : `${ref} does not exist, so If-Match ${ifMatch} cannot match`,
    );
  }
}
