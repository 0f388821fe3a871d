/**
 * The search index tables. One table per value shape, each row = one indexed value of one search
 * parameter of the *current* version of one resource. Every row carries the tenant; every lookup
 * index leads with (tenant_id, resource_type, code) so a search parameter predicate is an index
 * range scan, and every table has a (tenant_id, resource_type, resource_id) index for the
 * delete-and-reinsert on write. Plain PostgreSQL, so PGlite and PostgreSQL run it identically.
 *
 * Dates and numbers are stored as ranges (low/high, inclusive) because FHIR values have precision:
 * `2024-03` covers the whole month, and a Period or Range is a range anyway.
 */
import type { Migration } from '../../store/migrate.js';

export const searchMigrations: readonly Migration[] = [
  {
    id: 'search/001-index-tables',
    up: `
CREATE TABLE search_string (
  tenant_id     text    NOT NULL,
  resource_type text    NOT NULL,
  resource_id   text    NOT NULL,
  code          text    NOT NULL,
  value_norm    text    NOT NULL,
  value_exact   text    NOT NULL,
  sort          boolean NOT NULL DEFAULT false
);
CREATE INDEX search_string_lookup ON search_string (tenant_id, resource_type, code, value_norm text_pattern_ops, resource_id);
CREATE INDEX search_string_exact ON search_string (tenant_id, resource_type, code, value_exact, resource_id);
CREATE INDEX search_string_owner ON search_string (tenant_id, resource_type, resource_id);

CREATE TABLE search_token (
  tenant_id     text NOT NULL,
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  code          text NOT NULL,
  system        text,
  value         text
);
CREATE INDEX search_token_lookup ON search_token (tenant_id, resource_type, code, value, system, resource_id);
CREATE INDEX search_token_owner ON search_token (tenant_id, resource_type, resource_id);

CREATE TABLE search_reference (
  tenant_id     text NOT NULL,
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  code          text NOT NULL,
  target_type   text,
  target_id     text,
  url           text
);
CREATE INDEX search_reference_lookup ON search_reference (tenant_id, resource_type, code, target_id, target_type, resource_id);
CREATE INDEX search_reference_url ON search_reference (tenant_id, resource_type, code, url, resource_id);
CREATE INDEX search_reference_owner ON search_reference (tenant_id, resource_type, resource_id, code);

CREATE TABLE search_date (
  tenant_id     text        NOT NULL,
  resource_type text        NOT NULL,
  resource_id   text        NOT NULL,
  code          text        NOT NULL,
  low           timestamptz NOT NULL,
  high          timestamptz NOT NULL
);
CREATE INDEX search_date_lookup ON search_date (tenant_id, resource_type, code, low, high, resource_id);
CREATE INDEX search_date_high ON search_date (tenant_id, resource_type, code, high, resource_id);
CREATE INDEX search_date_owner ON search_date (tenant_id, resource_type, resource_id);

CREATE TABLE search_number (
  tenant_id     text    NOT NULL,
  resource_type text    NOT NULL,
  resource_id   text    NOT NULL,
  code          text    NOT NULL,
  low           numeric,
  high          numeric
);
CREATE INDEX search_number_lookup ON search_number (tenant_id, resource_type, code, low, high, resource_id);
CREATE INDEX search_number_owner ON search_number (tenant_id, resource_type, resource_id);

CREATE TABLE search_quantity (
  tenant_id     text    NOT NULL,
  resource_type text    NOT NULL,
  resource_id   text    NOT NULL,
  code          text    NOT NULL,
  system        text,
  unit_code     text,
  unit          text,
  low           numeric,
  high          numeric
);
CREATE INDEX search_quantity_lookup ON search_quantity (tenant_id, resource_type, code, unit_code, low, high, resource_id);
CREATE INDEX search_quantity_owner ON search_quantity (tenant_id, resource_type, resource_id);

CREATE TABLE search_uri (
  tenant_id     text NOT NULL,
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  code          text NOT NULL,
  value         text NOT NULL
);
CREATE INDEX search_uri_lookup ON search_uri (tenant_id, resource_type, code, value text_pattern_ops, resource_id);
CREATE INDEX search_uri_owner ON search_uri (tenant_id, resource_type, resource_id);
`,
  },
  {
    // Composite parameters (e.g. Observation code-value-quantity) store each component as an
    // ordinary row under `<code>:<component index>`; `grp` ties the components taken from the
    // same element (the same Observation.component) so they are matched together.
    id: 'search/002-composite-groups',
    up: `
ALTER TABLE search_string ADD COLUMN grp integer;
ALTER TABLE search_token ADD COLUMN grp integer;
ALTER TABLE search_reference ADD COLUMN grp integer;
ALTER TABLE search_date ADD COLUMN grp integer;
ALTER TABLE search_number ADD COLUMN grp integer;
ALTER TABLE search_quantity ADD COLUMN grp integer;
ALTER TABLE search_uri ADD COLUMN grp integer;
`,
  },
  {
    // Rows a keyed transform derived (blind indexes, see docs/BLIND-INDEXES.md) record the version
    // of the tenant's index key that produced them, so an index-key rotation can re-index resource
    // by resource while searches match under every loaded version, and then prove (count) and clean
    // up (delete) what is left under old versions. NULL on plain rows. Only the two tables that can
    // hold blind rows get the column. Nullable without a default: a catalogue-only change on
    // PostgreSQL, no table rewrite.
    id: 'search/003-blind-key-version',
    up: `
ALTER TABLE search_string ADD COLUMN key_version integer;
ALTER TABLE search_token ADD COLUMN key_version integer;
`,
  },
  {
    // Blind-indexed strings (names, addresses: docs/BLIND-INDEXES.md) as one row per resource,
    // parameter and element group, holding every keyed term (prefix, exact and phonetic digests,
    // 64 bits each) in an array under a GIN index. As one search_string row per term, a Patient took
    // ~170 rows and three B-tree entries each; as arrays it takes ~11 rows, and a create costs less
    // than half as much database work (measured: docs/BENCHMARKS.md). A digest already binds the
    // tenant, type, parameter and match mode, so terms of different modes never collide.
    // fastupdate is off: with a pending list, lookups right after a burst of writes slowed ~100x.
    // Rows an older version wrote into search_string (11-character base64url digests) move here.
    id: 'search/004-blind-terms',
    up: `
CREATE TABLE search_blind (
  tenant_id     text     NOT NULL,
  resource_type text     NOT NULL,
  resource_id   text     NOT NULL,
  code          text     NOT NULL,
  grp           integer,
  key_version   integer  NOT NULL,
  terms         bigint[] NOT NULL
);
CREATE INDEX search_blind_terms ON search_blind USING gin (terms) WITH (fastupdate = off);
CREATE INDEX search_blind_owner ON search_blind (tenant_id, resource_type, resource_id, code);
INSERT INTO search_blind (tenant_id, resource_type, resource_id, code, grp, key_version, terms)
SELECT tenant_id, resource_type, resource_id, code, grp, key_version,
       array_agg(DISTINCT ('x' || encode(decode(translate(v, '-_', '+/') || '=', 'base64'), 'hex'))::bit(64)::bigint)
FROM (
  SELECT tenant_id, resource_type, resource_id, code, grp, key_version, unnest(ARRAY[value_norm, value_exact]) AS v
  FROM search_string WHERE key_version IS NOT NULL
) t
WHERE length(v) = 11
GROUP BY tenant_id, resource_type, resource_id, code, grp, key_version;
DELETE FROM search_string WHERE key_version IS NOT NULL;
`,
  },
  {
    // The prefixes of 1-3 code points of blind strings (docs/BLIND-INDEXES.md) as one B-tree row
    // each. They are what a receptionist types first and what many patients share ("sha" matched
    // 6% of 20,000 patients): from the GIN array every match had to be fetched and sorted before
    // the first page could be cut; from this index the matches come in resource id order, so the
    // first page is read from the front and the scan stops after it. Longer, rarer prefixes stay
    // in the arrays. `term` is the last column so that a dump shows it as one trailing field.
    //
    // The planner must see how many rows a common term has, or it picks a nested loop over every
    // match and a sort (10 ms) instead of the merge that stops after the first page (1 ms, measured
    // at 20,000 patients): a tenant has only a few thousand distinct short terms, so a larger
    // most-common-values list holds the frequent ones, and the dependency statistics tell it that a
    // term (a digest bound to tenant, type and code) implies its tenant, type and code, rather than
    // multiplying their selectivities as if they were independent.
    //
    // Rows written before this migration still hold their short prefixes in the arrays, and only
    // the keys can move them (the store never holds the keys): the migration records each tenant
    // with blind rows in search_reindex_pending, and the tenant's next start re-indexes its
    // resources before it serves (src/fhir/search/maintenance.ts `finishPendingReindex`).
    id: 'search/005-blind-short-prefixes',
    up: `
CREATE TABLE search_blind_short (
  tenant_id     text    NOT NULL,
  resource_type text    NOT NULL,
  resource_id   text    NOT NULL,
  code          text    NOT NULL,
  grp           integer,
  key_version   integer NOT NULL,
  term          bigint  NOT NULL
);
CREATE INDEX search_blind_short_lookup ON search_blind_short (tenant_id, resource_type, code, term, resource_id);
CREATE INDEX search_blind_short_owner ON search_blind_short (tenant_id, resource_type, resource_id);
ALTER TABLE search_blind_short ALTER COLUMN term SET STATISTICS 1000;
CREATE STATISTICS search_blind_short_term_deps (dependencies) ON tenant_id, resource_type, code, term FROM search_blind_short;
CREATE TABLE search_reindex_pending (
  tenant_id  text NOT NULL,
  reason     text NOT NULL,
  position   text,
  PRIMARY KEY (tenant_id, reason)
);
INSERT INTO search_reindex_pending (tenant_id, reason)
SELECT DISTINCT tenant_id, 'search/005-blind-short-prefixes' FROM search_blind;
`,
  },
  {
    id: 'search/006-short-prefix-rows-for-names-only',
    // Only person names keep B-tree rows for 1-3 code-point prefixes (blind-transform.ts,
    // SHORT_ROW_PARAMS); other strings' short prefixes move back into the GIN array, once, at the
    // next start, before the server serves.
    up: `
INSERT INTO search_reindex_pending (tenant_id, reason)
SELECT DISTINCT tenant_id, 'search/006-short-prefix-rows-for-names-only' FROM search_blind_short
ON CONFLICT DO NOTHING;
`,
  },
  {
    id: 'search/007-blind-terms-pending-list',
    // Every term of a new resource's blind arrays (~150 for a Patient) was its own GIN insertion.
    // A small pending list batches them; kept small (128 kB) because a search scans the list whole
    // (with the 4 MB default and no autovacuum, lookups after a burst of writes slowed ~100x).
    up: 'ALTER INDEX search_blind_terms SET (fastupdate = on, gin_pending_list_limit = 128)',
  },
];

/** The index tables that can hold blind-index rows (and have `key_version`). */
export const BLIND_INDEX_TABLES = ['search_string', 'search_token', 'search_blind', 'search_blind_short'] as const;

/** Every index table, for removal. */
export const INDEX_TABLES = [
  'search_string',
  'search_token',
  'search_reference',
  'search_date',
  'search_number',
  'search_quantity',
  'search_uri',
  'search_blind',
  'search_blind_short',
] as const;
