/**
 * The access policy's tables. Owned by security/policy; nothing else writes them.
 *
 * - `policy_care_link`: the care relationships recorded by encounters, appointments, episodes of
 *   care, care teams and laboratory orders (care-links.ts), one row per (patient, department or
 *   practitioner), kept in step with their source inside each write's transaction. Like the search
 *   index's reference and date rows, it holds resource ids, department ids and dates, no names.
 * - `policy_restricted_patient`: patients whose record carries a restricting confidentiality label
 *   (v3-Confidentiality R or V), kept in step with the Patient resource.
 * - `policy_grant`: explicit access to one patient for one account until a time: a security
 *   officer's grant to a restricted record, or a clinician's break-glass. The stated reason is
 *   sealed with the hospital's data key (it may describe the patient).
 * - `policy_projection`: which projections have been built from the stored resources, so that a
 *   database that held data before the policy existed is projected once (resumably) at start.
 */
import type { Migration } from '../../store/migrate.js';

export const policyMigrations: readonly Migration[] = [
  {
    id: 'policy/001-care-links-restrictions-grants',
    up: `
      CREATE TABLE policy_care_link (
        tenant_id    text        NOT NULL,
        source_type  text        NOT NULL,
        source_id    text        NOT NULL,
        patient_id   text        NOT NULL,
        department   text,
        practitioner text,
        starts_at    timestamptz,
        ends_at      timestamptz
      );
      CREATE INDEX policy_care_link_patient ON policy_care_link (tenant_id, patient_id);
      CREATE INDEX policy_care_link_source ON policy_care_link (tenant_id, source_type, source_id);
      CREATE TABLE policy_restricted_patient (
        tenant_id  text   NOT NULL,
        patient_id text   NOT NULL,
        labels     text[] NOT NULL,
        PRIMARY KEY (tenant_id, patient_id)
      );
      CREATE TABLE policy_grant (
        tenant_id   text        NOT NULL,
        id          text        NOT NULL,
        kind        text        NOT NULL CHECK (kind IN ('grant', 'break-glass')),
        user_id     text        NOT NULL,
        patient_id  text        NOT NULL,
        reason      bytea       NOT NULL,
        granted_by  text        NOT NULL,
        created_at  timestamptz NOT NULL,
        expires_at  timestamptz NOT NULL,
        revoked_at  timestamptz,
        revoked_by  text,
        PRIMARY KEY (tenant_id, id)
      );
      CREATE INDEX policy_grant_user ON policy_grant (tenant_id, user_id, patient_id);
      CREATE INDEX policy_grant_time ON policy_grant (tenant_id, created_at);
      CREATE TABLE policy_projection (
        tenant_id text        NOT NULL,
        name      text        NOT NULL,
        position  text,
        built_at  timestamptz,
        PRIMARY KEY (tenant_id, name)
      );
    `,
  },
];
