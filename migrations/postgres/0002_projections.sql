-- 0002_projections: the state that follows from the events (DESIGN §4).
--
-- Mirrors migrations/sqlite/0002_projections.sql: one row per projection key, `row` the
-- reducer's row as JSON text (TEXT, not JSONB: rows come back byte for byte as the reducers
-- built them), the other columns copies of the fields queries filter on, epoch ms in BIGINT.
-- `pos` = seq * 4 + slot of the first event that produced the row: a stable list cursor.
-- The rows are written in the transaction that records their events, under the same
-- advisory lock that serializes event writes, so processes never race on a row.

CREATE TABLE proj_messages (
  pos              BIGINT PRIMARY KEY,
  id               TEXT   NOT NULL UNIQUE,
  conversation_key TEXT,
  direction        TEXT   NOT NULL,
  status           TEXT,
  row              TEXT   NOT NULL
);
CREATE INDEX proj_messages_conversation_idx ON proj_messages (conversation_key, pos);
CREATE INDEX proj_messages_status_idx ON proj_messages (direction, status);

CREATE TABLE proj_conversations (
  pos               BIGINT PRIMARY KEY,
  key               TEXT   NOT NULL UNIQUE,
  business_number   TEXT   NOT NULL,
  contact           TEXT   NOT NULL,
  last_activity_at  BIGINT,
  window_open_until BIGINT,
  row               TEXT   NOT NULL
);
CREATE INDEX proj_conversations_contact_idx ON proj_conversations (contact, pos);
CREATE INDEX proj_conversations_window_idx ON proj_conversations (window_open_until);

CREATE TABLE proj_contacts (
  pos          BIGINT PRIMARY KEY,
  wa_id        TEXT   NOT NULL UNIQUE,
  name         TEXT,
  last_seen_at BIGINT,
  row          TEXT   NOT NULL
);

CREATE TABLE proj_templates (
  pos      BIGINT PRIMARY KEY,
  key      TEXT   NOT NULL UNIQUE,
  name     TEXT,
  language TEXT,
  status   TEXT,
  quality  TEXT,
  category TEXT,
  row      TEXT   NOT NULL
);

CREATE TABLE proj_reactions (
  pos               BIGINT PRIMARY KEY,
  key               TEXT   NOT NULL UNIQUE,
  target_message_id TEXT   NOT NULL,
  emoji             TEXT   NOT NULL,
  row               TEXT   NOT NULL
);
CREATE INDEX proj_reactions_target_idx ON proj_reactions (target_message_id);

-- Present while a rebuild runs (or was interrupted); one row at most.
CREATE TABLE proj_rebuild (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  started_at  BIGINT  NOT NULL,
  through_seq BIGINT  NOT NULL
);

-- A store that already holds events gets empty projections here: mark them as needing a rebuild.
INSERT INTO proj_rebuild (id, started_at, through_seq) SELECT 1, 0, 0 WHERE EXISTS (SELECT 1 FROM events);
