/**
 * Opaque keyset paging cursors. A cursor names a position in the result order (the sort-key
 * values and the id of one row) and a direction, and is bound to the search it came from
 * (resource type + sort), so replaying it against a different sort is a clear 400, not a wrong page.
 */
import { badRequest } from '../outcome.js';
import { isId } from './values.js';

export interface Cursor {
  /** `n`: rows after the position; `p`: rows before it (a previous page). */
  readonly dir: 'n' | 'p';
  /** Sort-key values of the position, as text (null = the row had no value). */
  readonly keys: readonly (string | null)[];
  readonly id: string;
}

export function encodeCursor(signature: string, c: Cursor): string {
  return Buffer.from(JSON.stringify([1, signature, c.dir, c.keys, c.id]), 'utf8').toString('base64url');
}

const bad = () => badRequest('_cursor is not a paging cursor this server issued for this search; follow the Bundle links', '_cursor');

export function decodeCursor(raw: string, signature: string, keyCount: number): Cursor {
  if (!/^[A-Za-z0-9_-]{1,16384}$/.test(raw)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 5) throw bad();
  const [version, sig, dir, keys, id] = parsed as unknown[];
  if (version !== 1 || sig !== signature || (dir !== 'n' && dir !== 'p')) throw bad();
  if (!Array.isArray(keys) || keys.length !== keyCount) throw bad();
  if (!keys.every((k) => k === null || (typeof k === 'string' && k.length <= 4096))) throw bad();
  if (typeof id !== 'string' || !isId(id)) throw bad();
  return { dir, keys: keys as (string | null)[], id };
}
