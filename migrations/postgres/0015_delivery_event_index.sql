-- 0015_delivery_event_index: one index on a delivery's event instead of two.
--
-- Every delivery of an event wrote two entries keyed by its event id: the unique index that
-- gives an event one delivery per route (event deliveries only), and a plain index for
-- finding every delivery of an event, replays included. Event ids are hashes, so each entry
-- lands on a page of its own and the commit writes that page: on SQLite the second index cost a
-- third of a delivery's insert. One unique index now does both: its last column is 0 for an
-- event's own delivery and NULL for a replay, and NULLs never collide, so replays of the
-- same event and route may repeat while event deliveries stay one per route. A lookup by
-- event id reads its first column.
CREATE UNIQUE INDEX deliveries_event_uq ON deliveries (event_id, route, (CASE WHEN origin = 'event' THEN 0 END));
DROP INDEX deliveries_event_route_uq;
DROP INDEX deliveries_event_idx;
