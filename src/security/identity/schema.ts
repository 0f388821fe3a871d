/**
 * The identity module's tables (security/identity owns them; nothing else writes them).
 *
 * - `staff_user`: one row per account. The display name and the TOTP secret are sealed with the
 *   hospital's data key (AES-256-GCM through the body codec, bound to tenant, account and field),
 *   so a stolen database shows neither; the password only as an argon2id PHC string; the username
 *   in plain (it is what sign-in looks up, like a login name in any directory).
 * - `staff_recovery_code`: one-time recovery codes, only as SHA-256 of 80-bit random codes.
 * - `staff_session`: sign-in sessions, keyed by SHA-256 of the cookie's secret (a database reader
 *   cannot replay a session); `id` is the public id that audit records name.
 * - `staff_device`: browsers that have signed in to an account before ("device cookies", OWASP),
 *   only as SHA-256 of the cookie value; the brute-force defence lets them through an account or
 *   address lock-out.
 * - `auth_throttle`: failure counters and back-off per address, account (a keyed hash of the
 *   username tried, so typos and passwords typed into the username field are not stored), device
 *   and the whole hospital.
 * - `identity_setup`: the hash of the one-time token that creates the first administrator.
 * - `staff_webauthn` (002): WebAuthn credentials (passkeys, security keys) as a second factor: the
 *   credential id and public key (neither is secret) and the signature counter. A session row
 *   holds the pending WebAuthn challenge.
 * - `oauth_client` (003): integration clients (OAuth 2.0 client credentials): the SHA-256 of the
 *   256-bit secret, the SMART scopes granted, the status. 004 adds apps: `client_type`
 *   (confidential, or public without a secret) and their exact `redirect_uris`.
 * - `oauth_grant` (004): an app's authorization by a member of staff (grants.ts): the scopes
 *   granted, the SHA-256 of its one-time authorization code with the redirect URI and PKCE
 *   challenge it is bound to, the approving session, how long refresh tokens may live, revocation.
 * - `oauth_refresh` (004): every refresh token of a grant (its family), only as SHA-256, with its
 *   generation and when it was spent; a spent one presented again revokes the grant.
 * - `oauth_revoked_token` (004): ids (jti) of access tokens revoked through RFC 7009 before they
 *   expire; rows go once the token would have expired anyway.
 */
import { STAFF_ROLES } from '../../fhir/context.js';
import type { Migration } from '../../store/migrate.js';

const roleList = STAFF_ROLES.map((r) => `'${r}'`).join(', ');

export const identityMigrations: readonly Migration[] = [
  {
    id: 'identity/001-accounts',
    up: `
CREATE TABLE staff_user (
  tenant_id             text        NOT NULL,
  id                    text        NOT NULL,
  username              text        NOT NULL,
  display_name          bytea       NOT NULL,
  roles                 text[]      NOT NULL CHECK (cardinality(roles) >= 1 AND roles <@ ARRAY[${roleList}]::text[]),
  departments           text[]      NOT NULL DEFAULT '{}',
  practitioner_id       text,
  practitioner_role_ids text[]      NOT NULL DEFAULT '{}',
  status                text        NOT NULL CHECK (status IN ('active', 'disabled', 'locked')),
  password_hash         text        NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
  password_must_change  boolean     NOT NULL DEFAULT false,
  password_changed_at   timestamptz NOT NULL,
  totp_secret           bytea,
  totp_confirmed_at     timestamptz,
  totp_last_step        bigint,
  created_at            timestamptz NOT NULL,
  created_by            text        NOT NULL,
  updated_at            timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, username)
);
CREATE TABLE staff_recovery_code (
  tenant_id  text        NOT NULL,
  user_id    text        NOT NULL,
  code_hash  bytea       NOT NULL,
  created_at timestamptz NOT NULL,
  used_at    timestamptz,
  PRIMARY KEY (tenant_id, user_id, code_hash),
  FOREIGN KEY (tenant_id, user_id) REFERENCES staff_user (tenant_id, id)
);
CREATE TABLE staff_session (
  token_hash     bytea       PRIMARY KEY,
  id             text        NOT NULL UNIQUE,
  tenant_id      text        NOT NULL,
  user_id        text        NOT NULL,
  stage          text        NOT NULL CHECK (stage IN ('password', 'enrol', 'mfa', 'active')),
  created_at     timestamptz NOT NULL,
  last_seen_at   timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL,
  revoked_at     timestamptz,
  revoked_reason text,
  mfa_failures   integer     NOT NULL DEFAULT 0,
  client_address text        NOT NULL,
  user_agent     text,
  FOREIGN KEY (tenant_id, user_id) REFERENCES staff_user (tenant_id, id)
);
CREATE INDEX staff_session_user ON staff_session (tenant_id, user_id) WHERE revoked_at IS NULL;
CREATE TABLE staff_device (
  tenant_id    text        NOT NULL,
  user_id      text        NOT NULL,
  device_hash  bytea       NOT NULL,
  created_at   timestamptz NOT NULL,
  last_used_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, user_id, device_hash),
  FOREIGN KEY (tenant_id, user_id) REFERENCES staff_user (tenant_id, id)
);
CREATE TABLE auth_throttle (
  tenant_id        text        NOT NULL,
  key              text        NOT NULL,
  failures         integer     NOT NULL,
  first_failure_at timestamptz NOT NULL,
  last_failure_at  timestamptz NOT NULL,
  blocked_until    timestamptz,
  PRIMARY KEY (tenant_id, key)
);
CREATE TABLE identity_setup (
  tenant_id  text        PRIMARY KEY,
  token_hash bytea       NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at    timestamptz
);
`,
  },
  {
    id: 'identity/002-webauthn',
    up: `
CREATE TABLE staff_webauthn (
  tenant_id     text        NOT NULL,
  credential_id text        NOT NULL,
  user_id       text        NOT NULL,
  public_key    bytea       NOT NULL,
  counter       bigint      NOT NULL,
  transports    text[]      NOT NULL DEFAULT '{}',
  name          text        NOT NULL,
  created_at    timestamptz NOT NULL,
  last_used_at  timestamptz,
  PRIMARY KEY (tenant_id, credential_id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES staff_user (tenant_id, id)
);
CREATE INDEX staff_webauthn_user ON staff_webauthn (tenant_id, user_id);
ALTER TABLE staff_session ADD COLUMN webauthn_challenge text;
`,
  },
  {
    id: 'identity/003-clients',
    up: `
CREATE TABLE oauth_client (
  tenant_id     text        NOT NULL,
  client_id     text        NOT NULL,
  name          text        NOT NULL,
  scopes        text[]      NOT NULL CHECK (cardinality(scopes) >= 1),
  status        text        NOT NULL CHECK (status IN ('active', 'disabled')),
  secret_hash   bytea       NOT NULL,
  created_at    timestamptz NOT NULL,
  created_by    text        NOT NULL,
  last_token_at timestamptz,
  PRIMARY KEY (tenant_id, client_id)
);
`,
  },
  {
    id: 'identity/004-app-grants',
    up: `
ALTER TABLE oauth_client ADD COLUMN client_type text NOT NULL DEFAULT 'confidential' CHECK (client_type IN ('confidential', 'public'));
ALTER TABLE oauth_client ADD COLUMN redirect_uris text[] NOT NULL DEFAULT '{}';
ALTER TABLE oauth_client ALTER COLUMN secret_hash DROP NOT NULL;
ALTER TABLE oauth_client ADD CONSTRAINT oauth_client_secret CHECK ((client_type = 'public') = (secret_hash IS NULL));
ALTER TABLE oauth_client ADD CONSTRAINT oauth_client_public_app CHECK (client_type = 'confidential' OR cardinality(redirect_uris) >= 1);
CREATE TABLE oauth_grant (
  tenant_id       text        NOT NULL,
  id              text        NOT NULL,
  client_id       text        NOT NULL,
  user_id         text        NOT NULL,
  scopes          text[]      NOT NULL,
  redirect_uri    text        NOT NULL,
  code_hash       bytea       NOT NULL,
  code_challenge  text        NOT NULL,
  code_expires_at timestamptz NOT NULL,
  code_used_at    timestamptz,
  session_id      text        NOT NULL,
  access          text        NOT NULL CHECK (access IN ('none', 'online', 'offline')),
  created_at      timestamptz NOT NULL,
  expires_at      timestamptz NOT NULL,
  revoked_at      timestamptz,
  revoked_reason  text,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, code_hash),
  FOREIGN KEY (tenant_id, client_id) REFERENCES oauth_client (tenant_id, client_id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES staff_user (tenant_id, id)
);
CREATE INDEX oauth_grant_user ON oauth_grant (tenant_id, user_id) WHERE revoked_at IS NULL;
CREATE TABLE oauth_refresh (
  tenant_id  text        NOT NULL,
  token_hash bytea       NOT NULL,
  grant_id   text        NOT NULL,
  generation integer     NOT NULL,
  issued_at  timestamptz NOT NULL,
  used_at    timestamptz,
  PRIMARY KEY (tenant_id, token_hash),
  FOREIGN KEY (tenant_id, grant_id) REFERENCES oauth_grant (tenant_id, id)
);
CREATE INDEX oauth_refresh_grant ON oauth_refresh (tenant_id, grant_id);
CREATE TABLE oauth_revoked_token (
  tenant_id  text        NOT NULL,
  jti        text        NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, jti)
);
`,
  },
];
