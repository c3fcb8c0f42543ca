-- 0006_lane_holds: dead letters that hold their lane, dropped dead letters, route backfills.
--
-- held = 1 marks a dead delivery of a route with `onDeadLetter: "hold"`: the rest of its lane
-- (route, ordering key) stays blocked until it is redriven or dropped. At most a handful of
-- rows carry it, so its index is tiny and the check on every insert is one probe.
ALTER TABLE deliveries ADD COLUMN held INTEGER NOT NULL DEFAULT 0 CHECK (held IN (0, 1));
-- A dead letter an operator gave up on: kept (with its attempts) but no longer listed,
-- counted or redriven as a dead letter.
ALTER TABLE deliveries ADD COLUMN dropped_at INTEGER;
CREATE INDEX deliveries_held_idx ON deliveries (route, ordering_key) WHERE held = 1;

-- How far a route's `backfill` has gone: events up to through_seq received at or after since
-- have their delivery, so a restart resumes instead of scanning again.
CREATE TABLE route_backfills (
  route       TEXT    PRIMARY KEY,
  since       INTEGER NOT NULL,
  through_seq INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
