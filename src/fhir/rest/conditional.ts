import { executeSearch, parseSearch } from '../search/index.js';
import type { StoredResource } from '../types.js';
import type { Queryable } from '../../store/db.js';
import type { FhirDeps } from './deps.js';
import { parseQuery } from './request.js';

/** Resources matching conditional criteria such as If-None-Exist: `identifier=http://x|123`. */
export async function conditionalMatches(
  deps: FhirDeps,
  q: Queryable,
  type: string,
  criteria: string,
  lenient: boolean,
): Promise<StoredResource[]> {
  const raw = criteria.startsWith('?') ? criteria.slice(1) : criteria.includes('?') ? criteria.slice(criteria.indexOf('?') + 1) : criteria;
  const params = parseQuery(raw).filter(([k]) => k !== '_count');
  params.push(['_count', '2']);
  const { search } = parseSearch(type, params, { lenient, defaultCount: 2, maxCount: 2 });
  // Two creates with the same criteria, at once, must not both find nothing and both create: on
  // PostgreSQL the first holds a lock on (hospital, type, criteria) until its transaction ends,
  // and the second searches after it. PGlite's one session already runs transactions one by one.
  if (deps.db.kind !== 'pglite') {
    const key = `${deps.store.tenantId}|${type}|${[...params]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&')}`;
    await q.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext(current_schema()))', [key]);
  }
  const page = await executeSearch(q, deps.store, search);
  return page.matches;
}
