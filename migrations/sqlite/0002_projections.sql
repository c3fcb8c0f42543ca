-- 0002_projections: the state that follows from the events (DESIGN §4).
--
-- Every table holds one row per projection key: `row` is the reducer's row as JSON text
-- (src/projections), and the other columns copy the fields that queries filter on. The
-- rows are written in the transaction that records their events and can be dropped and
-- recomputed from the events at any time (`bluetick rebuild`).
--
-- `pos` (the rowid) is where a row first appeared in the event order: seq * 4 + slot, with
-- seq the first event that produced the row and slot that row's place among the keys the
-- event touches. It never changes once set (a rebuild gives the same value), so listing by
-- `pos` is a stable cursor: rows created later always come after it, and a row updated
-- while a client pages through the list does not move.
--
-- Times used for filtering are epoch milliseconds in INTEGER columns.

CREATE TABLE proj_messages (
  pos              INTEGER PRIMARY KEY,
  id               TEXT    NOT NULL UNIQUE,
  conversation_key TEXT,
  direction        TEXT    NOT NULL,
  status           TEXT,
  row              TEXT    NOT NULL
);
CREATE INDEX proj_messages_conversation_idx ON proj_messages (conversation_key, pos);
CREATE INDEX proj_messages_status_idx ON proj_messages (direction, status);

CREATE TABLE proj_conversations (
  pos               INTEGER PRIMARY KEY,
  key               TEXT    NOT NULL UNIQUE,
  business_number   TEXT    NOT NULL,
  contact           TEXT    NOT NULL,
  last_activity_at  INTEGER,
  window_open_until INTEGER,
  row               TEXT    NOT NULL
);
CREATE INDEX proj_conversations_contact_idx ON proj_conversations (contact, pos);
CREATE INDEX proj_conversations_window_idx ON proj_conversations (window_open_until);

CREATE TABLE proj_contacts (
  pos          INTEGER PRIMARY KEY,
  wa_id        TEXT    NOT NULL UNIQUE,
  name         TEXT,
  last_seen_at INTEGER,
  row          TEXT    NOT NULL
);

CREATE TABLE proj_templates (
  pos      INTEGER PRIMARY KEY,
  key      TEXT    NOT NULL UNIQUE,
  name     TEXT,
  language TEXT,
  status   TEXT,
  quality  TEXT,
  category TEXT,
  row      TEXT    NOT NULL
);

CREATE TABLE proj_reactions (
  pos               INTEGER PRIMARY KEY,
  key               TEXT    NOT NULL UNIQUE,
  target_message_id TEXT    NOT NULL,
  emoji             TEXT    NOT NULL,
  row               TEXT    NOT NULL
);
CREATE INDEX proj_reactions_target_idx ON proj_reactions (target_message_id);

-- Present while a rebuild runs (or was interrupted): the projections then miss the events
-- after `through_seq` that were recorded before the rebuild started. One row at most.
CREATE TABLE proj_rebuild (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  started_at  INTEGER NOT NULL,
  through_seq INTEGER NOT NULL
);

-- A store that already holds events gets empty projections here: mark them as needing a
-- rebuild (started_at 0: none has run yet).
INSERT INTO proj_rebuild (id, started_at, through_seq) SELECT 1, 0, 0 WHERE EXISTS (SELECT 1 FROM events);
