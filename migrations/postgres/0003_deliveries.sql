-- 0003_deliveries: durable deliveries (one per event and matching route) and their attempts.
--
-- Mirrors migrations/sqlite/0003_deliveries.sql. Lanes: deliveries sharing (route,
-- ordering_key) run one at a time, in id order; only a lane's runnable delivery has
-- blocked = false. With several processes, every transaction that adds to a lane, finishes
-- its runnable delivery or promotes the next one first takes a transaction-scoped advisory
-- lock on the lane, so "one runnable per lane" holds across processes, and workers lease
-- runnable rows with FOR UPDATE SKIP LOCKED without waiting on each other.

CREATE TABLE deliveries (
  id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_seq        BIGINT  NOT NULL REFERENCES events (seq),
  event_id         TEXT    NOT NULL,
  event_type       TEXT    NOT NULL,
  route            TEXT    NOT NULL,
  sink             TEXT    NOT NULL,
  ordering_key     TEXT    NOT NULL,
  origin           TEXT    NOT NULL DEFAULT 'event' CHECK (origin IN ('event', 'replay')),
  state            TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'in_flight', 'succeeded', 'dead')),
  blocked          BOOLEAN NOT NULL DEFAULT false,
  attempts         INTEGER NOT NULL DEFAULT 0,
  redrives         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  BIGINT  NOT NULL,
  lease_owner      TEXT,
  lease_expires_at BIGINT,
  created_at       BIGINT  NOT NULL,
  updated_at       BIGINT  NOT NULL,
  last_attempt_at  BIGINT,
  completed_at     BIGINT,
  last_status_code INTEGER,
  last_error       TEXT
);

-- Recording an event creates its deliveries once, even when several processes share a database.
CREATE UNIQUE INDEX deliveries_event_route_uq ON deliveries (event_id, route) WHERE origin = 'event';
CREATE INDEX deliveries_event_idx ON deliveries (event_id, id);
CREATE INDEX deliveries_route_idx ON deliveries (route, id);
-- Unfinished deliveries of a lane (blocking checks and promotion).
CREATE INDEX deliveries_lane_idx ON deliveries (route, ordering_key, id) WHERE state IN ('pending', 'in_flight');
-- The work queue: runnable and due, per sink.
CREATE INDEX deliveries_due_idx ON deliveries (sink, next_attempt_at, id) WHERE state = 'pending' AND NOT blocked;
-- Leases, for expiry and renewal.
CREATE INDEX deliveries_leased_idx ON deliveries (sink, lease_expires_at) WHERE state = 'in_flight';
CREATE INDEX deliveries_owner_idx ON deliveries (lease_owner) WHERE state = 'in_flight';
-- Dead letters.
CREATE INDEX deliveries_dead_idx ON deliveries (id) WHERE state = 'dead';

-- Every attempt, with what came of it. Never updated.
CREATE TABLE delivery_attempts (
  id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id    BIGINT  NOT NULL REFERENCES deliveries (id),
  started_at     BIGINT  NOT NULL,
  latency_ms     INTEGER NOT NULL,
  outcome        TEXT    NOT NULL CHECK (outcome IN ('success', 'retry', 'fail')),
  status_code    INTEGER,
  error_code     TEXT,
  error          TEXT,
  detail         TEXT,
  retry_after_ms INTEGER,
  owner          TEXT    NOT NULL
);

CREATE INDEX delivery_attempts_delivery_idx ON delivery_attempts (delivery_id, id);
