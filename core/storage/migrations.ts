/**
 * Numbered schema migrations, tracked in `PRAGMA user_version` and applied at open.
 * Append only: never edit a migration that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the skeleton's schema (account, keys, realms, users, credentials, orgs, memberships,
  // sessions, events, throttles).
  `
  CREATE TABLE account (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL
  ) STRICT;

  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    permissions TEXT NOT NULL,
    name TEXT,
    created_at REAL NOT NULL,
    revoked_at REAL
  ) STRICT;

  CREATE TABLE realms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    reference TEXT,
    custom TEXT NOT NULL,
    username_validation_human TEXT NOT NULL,
    require_unique_emails INTEGER NOT NULL,
    api_key_prefix TEXT,
    api_key_policy TEXT NOT NULL,
    api_key_minutes INTEGER NOT NULL,
    session_type TEXT NOT NULL,
    session_minutes INTEGER NOT NULL,
    jwt_data TEXT NOT NULL,
    jwt_secret TEXT NOT NULL,
    created_at REAL NOT NULL
  ) STRICT;
  CREATE INDEX realms_state ON realms(state, id);
  CREATE INDEX realms_reference ON realms(reference, id);

  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    user_type TEXT NOT NULL,
    state TEXT NOT NULL,
    username TEXT NOT NULL,
    email TEXT,
    first_name TEXT,
    last_name TEXT,
    reference TEXT,
    custom TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_login_at REAL
  ) STRICT;
  CREATE UNIQUE INDEX users_username ON users(realm_id, username);
  CREATE INDEX users_realm_id ON users(realm_id, id);
  CREATE INDEX users_email ON users(realm_id, email);
  CREATE INDEX users_reference ON users(realm_id, reference);

  CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_type TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at REAL NOT NULL
  ) STRICT;
  CREATE INDEX credentials_user ON credentials(user_id, credential_type);
  CREATE INDEX credentials_hash ON credentials(secret_hash);

  CREATE TABLE orgs (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    reference TEXT,
    custom TEXT NOT NULL,
    created_at REAL NOT NULL
  ) STRICT;
  CREATE INDEX orgs_realm ON orgs(realm_id, name, id);

  CREATE TABLE memberships (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id TEXT REFERENCES orgs(id) ON DELETE CASCADE,
    permissions TEXT NOT NULL,
    expires_at INTEGER,
    custom TEXT NOT NULL,
    created_at REAL NOT NULL
  ) STRICT;
  CREATE UNIQUE INDEX memberships_user_org ON memberships(user_id, ifnull(org_id, ''));
  CREATE INDEX memberships_org ON memberships(org_id, user_id);

  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    expires_at INTEGER NOT NULL,
    ip TEXT,
    client TEXT
  ) STRICT;
  CREATE INDEX sessions_user ON sessions(user_id, id);

  CREATE TABLE events (
    id TEXT PRIMARY KEY,
    realm_id TEXT,
    event_type TEXT NOT NULL,
    event_at REAL NOT NULL,
    user_id TEXT,
    org_id TEXT,
    membership_id TEXT,
    app_hook_id TEXT,
    login_policy_id TEXT,
    auth_provider_id TEXT,
    ip TEXT,
    client TEXT,
    request_id TEXT
  ) STRICT;
  CREATE INDEX events_realm ON events(realm_id, id);
  CREATE INDEX events_user ON events(user_id, id);
  CREATE INDEX events_type ON events(event_type, id);

  CREATE TABLE throttles (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    window_start REAL NOT NULL
  ) STRICT;
  `,
  // 2: password reset tokens and signup (user) tokens, stored only as SHA-256 hashes;
  // last_used_at lets authenticate_key skip writes on its hot path.
  `
  CREATE TABLE password_tokens (
    token_hash TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    created_at REAL NOT NULL
  ) STRICT;
  CREATE INDEX password_tokens_user ON password_tokens(user_id);

  CREATE TABLE user_tokens (
    token_hash TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    username TEXT,
    email TEXT,
    first_name TEXT,
    last_name TEXT,
    password_hash TEXT,
    expires_at INTEGER NOT NULL,
    created_at REAL NOT NULL
  ) STRICT;
  CREATE INDEX memberships_user ON memberships(user_id, id);
  CREATE INDEX sessions_expiry ON sessions(expires_at);
  `,
  // 3: LoginRocket: login policies (connected apps) and auth providers.
  `
  CREATE TABLE login_policies (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    subdomain TEXT NOT NULL UNIQUE,
    login_handler TEXT,
    signup_handler TEXT,
    cors_origins TEXT NOT NULL,
    header TEXT,
    footer TEXT,
    external_css TEXT,
    created_at REAL NOT NULL
  ) STRICT;
  CREATE INDEX login_policies_realm ON login_policies(realm_id, id);

  CREATE TABLE auth_providers (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    provider_type TEXT NOT NULL,
    state TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (realm_id, provider_type)
  ) STRICT;
  `,
  // 4: webhooks: app hooks and the durable delivery outbox (each delivery is a notification).
  `
  CREATE TABLE app_hooks (
    id TEXT PRIMARY KEY,
    realm_id TEXT REFERENCES realms(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    hook_type TEXT NOT NULL,
    event_types TEXT NOT NULL,
    destination TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at REAL NOT NULL
  ) STRICT;

  CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    app_hook_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_attempt_at REAL,
    last_destination TEXT,
    last_result TEXT,
    next_attempt_at REAL NOT NULL,
    give_up_at REAL NOT NULL,
    created_at REAL NOT NULL
  ) STRICT;
  CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE state = 'in_progress';
  CREATE INDEX deliveries_event ON deliveries(event_id, id);
  CREATE INDEX deliveries_hook ON deliveries(app_hook_id, state);
  `,
  // 5: per-user credentials and per-org memberships are listed in id order; indexes in that
  // order spare every user read (and org expansion) a temporary sort.
  `
  DROP INDEX credentials_user;
  CREATE INDEX credentials_user ON credentials(user_id, id);
  DROP INDEX memberships_org;
  CREATE INDEX memberships_org ON memberships(org_id, id);
  `,
  // 6: every login drops the user's expired sessions; by (user_id, expires_at) that is a seek
  // to the expired ones, where sessions_user made it a walk over all of the user's live
  // sessions (a user logging in often has thousands). Nothing reads by expiry alone.
  `
  CREATE INDEX sessions_user_expiry ON sessions(user_id, expires_at);
  DROP INDEX sessions_expiry;
  `,
];
