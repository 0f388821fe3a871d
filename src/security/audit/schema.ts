/**
 * The audit log's tables (DESIGN.md invariant 3). Owned by security/audit; nothing else writes them.
 *
 * - `audit_log`: one row per audited interaction. `entry` is the record exactly as hashed (UTF-8
 *   JSON, `record.ts`); `leaf_hash` = SHA-256(0x00 || entry), the RFC 6962 leaf of the log's Merkle
 *   tree; each entry names the leaf hash of its predecessor (`prev`), which chains the rows. The
 *   other columns repeat fields of the entry so auditors can search by patient, agent, date,
 *   action and outcome; `audit verify` checks that they still say what the entry says.
 * - `audit_checkpoint`: signed tree heads (a C2SP signed note, `checkpoint.ts`) every N records or
 *   T seconds; also appended to a file outside the database.
 *
 * Both tables are append-only: triggers refuse UPDATE, DELETE and TRUNCATE for every role, and the
 * privileges to do them are revoked from PUBLIC (the application's own role should hold only INSERT
 * and SELECT on them: docs/OPERATIONS.md). A table owner or superuser can still disable the
 * triggers; what they then change, delete or reorder is found by `audit verify`.
 */
import type { Migration } from '../../store/migrate.js';

const STATEMENTS = [
  `CREATE TABLE audit_log (
    seq           bigint      PRIMARY KEY,
    tenant_id     text        NOT NULL,
    recorded_at   timestamptz NOT NULL,
    request_id    text        NOT NULL,
    action        text        NOT NULL,
    resource_type text,
    resource_id   text,
    outcome       integer     NOT NULL,
    agent         text        NOT NULL,
    patients      text[]      NOT NULL,
    entry         text        NOT NULL,
    leaf_hash     bytea       NOT NULL
  )`,
  // Nothing searches by these columns; without statistics ANALYZE does not copy entries (and
  // their hashes) into pg_statistic, where they would only cost time and space.
  'ALTER TABLE audit_log ALTER COLUMN entry SET STATISTICS 0',
  'ALTER TABLE audit_log ALTER COLUMN leaf_hash SET STATISTICS 0',
  'ALTER TABLE audit_log ALTER COLUMN request_id SET STATISTICS 0',
  'CREATE INDEX audit_log_patients ON audit_log USING gin (patients)',
  'CREATE INDEX audit_log_time ON audit_log (tenant_id, recorded_at)',
  'CREATE INDEX audit_log_agent ON audit_log (tenant_id, agent, recorded_at)',
  `CREATE TABLE audit_checkpoint (
    size       bigint      PRIMARY KEY,
    root       bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    note       text        NOT NULL
  )`,
  `CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$`,
  'CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_append_only()',
  'CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()',
  'CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint FOR EACH ROW EXECUTE FUNCTION audit_append_only()',
  'CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()',
  'REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, audit_checkpoint FROM PUBLIC',
];

export const auditMigrations: readonly Migration[] = [
  {
    id: 'audit/001-log',
    // A function body holds semicolons, so the statements are run one by one rather than split.
    up: async (tx) => {
      for (const s of STATEMENTS) await tx.query(s);
    },
  },
  {
    id: 'audit/002-read-indexes',
    // Auditors' searches (AuditEvent, the access report) read pages in time order, so every index
    // they use ends in recorded_at: the time and agent indexes above, and this one for
    // AuditEvent?entity=Encounter/123 (the interactions that addressed one resource).
    //
    // The patients GIN index stops deferring inserts to its pending list, which only VACUUM,
    // autovacuum or the list outgrowing 4 MB empties (PGlite has no autovacuum), and which every
    // patient search scans whole: a patient's page (the access report) takes 0.4-0.8 ms instead of
    // 14-20 ms at 100,000 records. It costs appends about a tenth of their throughput (7,200
    // instead of 8,200 records/s on PostgreSQL here), which is far above a hospital's rate
    // (docs/BENCHMARKS.md, bench/audit-read.ts).
    up: async (tx) => {
      await tx.query('CREATE INDEX audit_log_target ON audit_log (tenant_id, resource_type, resource_id, recorded_at)');
      await tx.query('ALTER INDEX audit_log_patients SET (fastupdate = off)');
      await tx.query("SELECT gin_clean_pending_list('audit_log_patients'::regclass)");
    },
  },
];
