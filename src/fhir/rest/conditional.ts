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
  const page = await executeSearch(q, deps.store, search);
  return page.matches;
}
