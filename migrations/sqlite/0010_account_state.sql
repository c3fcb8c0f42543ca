-- 0010_account_state: consent and account health (src/projections/consent.ts, health.ts).
--
-- Same layout as 0002_projections: one row per key, `row` the reducer's row as JSON text,
-- `pos` where the row first appeared in the event order (the list cursor), the other columns
-- copies of what lists filter on. Every row holds its current state and at most the latest
-- 20 changes, so no row grows with the number of events.

-- One row per (business account, user, category): the user's latest stop/resume choice.
CREATE TABLE proj_consent (
  pos                 INTEGER PRIMARY KEY,
  key                 TEXT    NOT NULL UNIQUE,
  business_account_id TEXT,
  contact             TEXT    NOT NULL,
  user_id             TEXT,
  category            TEXT    NOT NULL,
  state               TEXT    NOT NULL,
  changed_at          INTEGER,
  row                 TEXT    NOT NULL
);
CREATE INDEX proj_consent_contact_idx ON proj_consent (contact, pos);
CREATE INDEX proj_consent_state_idx ON proj_consent (category, state);

-- Phone numbers (by display number), business accounts and Flows: current health and recent changes.
CREATE TABLE proj_phone_numbers (
  pos        INTEGER PRIMARY KEY,
  key        TEXT    NOT NULL UNIQUE,
  updated_at INTEGER,
  row        TEXT    NOT NULL
);

CREATE TABLE proj_business_accounts (
  pos        INTEGER PRIMARY KEY,
  key        TEXT    NOT NULL UNIQUE,
  updated_at INTEGER,
  row        TEXT    NOT NULL
);

CREATE TABLE proj_flows (
  pos        INTEGER PRIMARY KEY,
  key        TEXT    NOT NULL UNIQUE,
  updated_at INTEGER,
  row        TEXT    NOT NULL
);

-- A store that already holds events gets these rows only from a rebuild: say it needs one.
INSERT OR IGNORE INTO proj_rebuild (id, started_at, through_seq) SELECT 1, 0, 0 WHERE EXISTS (SELECT 1 FROM events);
