/** FHIR R4 search: index tables, indexing on write, parsing, execution and result projection. */
export { searchMigrations } from './schema.js';
export { ensureDefinitionsLoaded } from './definitions.js';
export type { SearchOptions, ParsedSearch, Clause, ValueTest, SortKey, IncludeSpec } from './parse.js';
export { parseSearch } from './parse.js';
export type { SearchPage } from './execute.js';
export { executeSearch } from './execute.js';
export { indexResource, removeFromIndex } from './indexing.js';
export { applyProjection } from './projection.js';
export {
  type Comparison,
  exactString,
  type IndexedType,
  type IndexParam,
  type IndexQuery,
  type IndexValueContext,
  type IndexValueTransform,
  identityTransform,
  indexValueTransform,
  normaliseString,
  type ParamHandling,
  setIndexValueTransform,
  type StoredString,
  type StoredToken,
} from './normalise.js';
export {
  countRowsUnderIndexKeyVersionsBelow,
  deleteRowsUnderIndexKeyVersionsBelow,
  finishPendingReindex,
  indexKeyVersionsInUse,
  type PendingReindexProgress,
  reindexResource,
  resourcesUnderIndexKeyVersionsBelow,
  type SearchIndexMaintenance,
  searchIndexMaintenance,
} from './maintenance.js';
export { BLIND_INDEX_TABLES } from './schema.js';
