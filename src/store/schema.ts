import type { Migration } from './migrate.js';

/**
 * The resource tables. `resource` holds the current version of every resource (deleted ones
 * included, as a tombstone), `resource_history` every version ever written. Bodies are stored
 * as bytes produced by a `BodyCodec`, so that encryption at rest (invariant 2) plugs in without
 * a schema change. Every row carries its hospital (tenant) id, the future shard key.
 */
export const storeMigrations: readonly Migration[] = [
  {
    id: 'store/001-resources',
    up: `
CREATE TABLE resource (
  tenant_id     text        NOT NULL,
  resource_type text        NOT NULL,
  id            text        NOT NULL,
  version_id    bigint      NOT NULL,
  last_updated  timestamptz NOT NULL,
  deleted       boolean     NOT NULL DEFAULT false,
  body          bytea       NOT NULL,
  PRIMARY KEY (tenant_id, resource_type, id)
);
CREATE INDEX resource_last_updated ON resource (tenant_id, resource_type, last_updated, id);
CREATE TABLE resource_history (
  tenant_id     text        NOT NULL,
  resource_type text        NOT NULL,
  id            text        NOT NULL,
  version_id    bigint      NOT NULL,
  last_updated  timestamptz NOT NULL,
  deleted       boolean     NOT NULL DEFAULT false,
  body          bytea       NOT NULL,
  PRIMARY KEY (tenant_id, resource_type, id, version_id)
);
CREATE INDEX resource_history_type_time ON resource_history (tenant_id, resource_type, last_updated, id, version_id);
CREATE INDEX resource_history_time ON resource_history (tenant_id, last_updated, resource_type, id, version_id);
`,
  },
  {
    // Which data-key version encrypted each row (0 = plaintext), so that re-encryption after a key
    // rotation finds the rows still to do with an index scan, and resumes where it stopped.
    id: 'store/002-key-version',
    up: `
ALTER TABLE resource ADD COLUMN key_version integer NOT NULL DEFAULT 0;
ALTER TABLE resource_history ADD COLUMN key_version integer NOT NULL DEFAULT 0;
CREATE INDEX resource_key_version ON resource (tenant_id, key_version);
CREATE INDEX resource_history_key_version ON resource_history (tenant_id, key_version);
`,
  },
];
