-- 0006_lane_holds: dead letters that hold their lane, dropped dead letters, route backfills.
--
-- held marks a dead delivery of a route with `onDeadLetter: "hold"`: the rest of its lane
-- (route, ordering key) stays blocked until it is redriven or dropped.
ALTER TABLE deliveries ADD COLUMN held BOOLEAN NOT NULL DEFAULT false;
-- A dead letter an operator gave up on: kept (with its attempts) but no longer listed,
-- counted or redriven as a dead letter.
ALTER TABLE deliveries ADD COLUMN dropped_at BIGINT;
CREATE INDEX deliveries_held_idx ON deliveries (route, ordering_key) WHERE held;

-- How far a route's `backfill` has gone: events up to through_seq received at or after since
-- have their delivery, so a restart resumes instead of scanning again.
CREATE TABLE route_backfills (
  route       TEXT   PRIMARY KEY,
  since       BIGINT NOT NULL,
  through_seq BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL
);
