-- 0001_init: the journal, the events, the rejection log.
--
-- Mirrors migrations/sqlite/0001_init.sql: times are epoch milliseconds in BIGINT columns,
-- keys are BIGINT identities, the body is BYTEA. Two things exist only here because several
-- processes share one database:
-- - the journal's claim lease (claimed_by, claimed_until): a pipeline claims rows with
--   FOR UPDATE SKIP LOCKED for a bounded time; a process that dies leaves rows whose lease
--   expires and another process takes them over;
-- - the lease clock is the database's (now()), so processes with skewed clocks agree.
-- Every statement runs in the schema chosen by the connection's search_path.

CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL,
  applied_at BIGINT  NOT NULL
);

-- One row per acknowledged POST, exactly as received; written before the 200.
CREATE TABLE journal (
  id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  channel         TEXT    NOT NULL,
  received_at     BIGINT  NOT NULL,
  remote_address  TEXT,
  headers         TEXT    NOT NULL,           -- JSON object, secrets already masked
  body            BYTEA   NOT NULL,           -- the exact bytes; never re-encoded
  verified_by     TEXT    NOT NULL,
  state           TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'processed', 'duplicate', 'quarantined', 'failed')),
  cause           TEXT,
  event_count     INTEGER NOT NULL DEFAULT 0,
  new_event_count INTEGER NOT NULL DEFAULT 0,
  processed_at    BIGINT,
  claimed_by      TEXT,
  claimed_until   TIMESTAMPTZ
);

-- The body goes out of line (TOAST, uncompressed: it is kept byte for byte and rarely read
-- again), so the row itself is a hundred bytes: taking a lease and recording the outcome
-- rewrite the row, and without this each rewrite would copy the whole body. The free space
-- left in each page lets the lease update be a HOT update (no index touched).
ALTER TABLE journal ALTER COLUMN body SET STORAGE EXTERNAL;
ALTER TABLE journal SET (toast_tuple_target = 128, fillfactor = 80);

-- Both partial, as in SQLite: the ingest commit writes only the primary key and the small
-- pending index; the lease columns are not indexed, so taking a lease is a HOT update.
CREATE INDEX journal_pending_idx ON journal (id) WHERE state = 'pending';
CREATE INDEX journal_settled_idx ON journal (state, id) WHERE state <> 'pending';

-- One row per distinct event id; `seq` is the store-wide order (pagination and streaming
-- cursor). Event-writing transactions are serialized (see store/postgres), so seq order is
-- also commit order and a reader paging by seq never skips a row committed late.
CREATE TABLE events (
  seq                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
  occurred_at          BIGINT,
  received_at          BIGINT  NOT NULL,
  journal_id           BIGINT  NOT NULL REFERENCES journal (id),
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

-- Requests refused before the journal: a bounded log, trimmed to the newest N rows on insert.
CREATE TABLE rejections (
  id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at             BIGINT  NOT NULL,
  channel        TEXT,
  cause          TEXT    NOT NULL,
  method         TEXT    NOT NULL,
  path           TEXT    NOT NULL,
  remote_address TEXT,
  detail         TEXT
);
