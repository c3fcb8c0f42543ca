-- 0001_init: the journal, the events, the rejection log.
--
-- Times are epoch milliseconds in INTEGER columns. The PostgreSQL migration with the same
-- number mirrors these tables (BIGINT identity keys, BYTEA body, TEXT elsewhere).

CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL,
  applied_at BIGINT  NOT NULL
);

-- One row per acknowledged POST, exactly as received. A row is written before the 200 and
-- never deleted by the pipeline: a normalizer bug can always be fixed by normalizing again.
CREATE TABLE journal (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  channel         TEXT    NOT NULL,
  received_at     INTEGER NOT NULL,
  remote_address  TEXT,
  headers         TEXT    NOT NULL,           -- JSON object, secrets already masked
  body            BLOB    NOT NULL,           -- the exact bytes; never re-encoded
  verified_by     TEXT    NOT NULL,
  state           TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'processed', 'duplicate', 'quarantined', 'failed')),
  cause           TEXT,
  event_count     INTEGER NOT NULL DEFAULT 0,
  new_event_count INTEGER NOT NULL DEFAULT 0,
  processed_at    INTEGER
);

-- Every index here is written by the ingest commit, so the journal keeps only two, both
-- partial. The pipeline's work queue is small, because rows leave it once normalized; the
-- settled index serves listing by state and is written only when a row leaves the queue.
-- Listing by channel scans by id.
CREATE INDEX journal_pending_idx ON journal (id) WHERE state = 'pending';
CREATE INDEX journal_settled_idx ON journal (state, id) WHERE state <> 'pending';

-- One row per distinct event id. `seq` is the store-wide order (pagination and streaming
-- cursor); `body` is the whole event as JSON with large integers kept exact; the other
-- columns copy the keys that queries filter on.
CREATE TABLE events (
  seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
  id                   TEXT    NOT NULL UNIQUE,
  type                 TEXT    NOT NULL,
  channel              TEXT    NOT NULL,
  provider             TEXT    NOT NULL,
  phone_number_id      TEXT,
  display_phone_number TEXT,
  message_id           TEXT,
  from_id              TEXT,
  kind                 TEXT,
  status               TEXT,
  occurred_at          INTEGER,
  received_at          INTEGER NOT NULL,
  journal_id           INTEGER NOT NULL REFERENCES journal (id),
  duplicates           INTEGER NOT NULL DEFAULT 0,
  body                 TEXT    NOT NULL
);

CREATE INDEX events_type_idx ON events (type, seq);
CREATE INDEX events_channel_idx ON events (channel, seq);
CREATE INDEX events_phone_number_idx ON events (phone_number_id, seq);
CREATE INDEX events_from_idx ON events (from_id, seq);
CREATE INDEX events_message_idx ON events (message_id, seq);
CREATE INDEX events_received_at_idx ON events (received_at, seq);
CREATE INDEX events_journal_idx ON events (journal_id);

-- Requests refused before the journal (bad credentials, too large, ...): a bounded log so a
-- user can see why a provider's posts fail. Trimmed to the newest N rows on insert.
CREATE TABLE rejections (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  at             INTEGER NOT NULL,
  channel        TEXT,
  cause          TEXT    NOT NULL,
  method         TEXT    NOT NULL,
  path           TEXT    NOT NULL,
  remote_address TEXT,
  detail         TEXT
);
