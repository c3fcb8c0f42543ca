-- 0014_lane_heads: a lane's head is found by one index probe, whatever waits behind it.
--
-- A lane's head is its runnable delivery (blocked = 0) if it has one, else its oldest
-- unfinished one: `ORDER BY blocked, id LIMIT 1` over the lane. With the lane index on
-- (route, ordering_key, id) SQLite read every unfinished delivery of the lane and sorted
-- them to find it, on every outcome recorded: on a busy conversation the cost of each
-- delivery grew with the backlog behind it. With blocked in the key the head is the lane's
-- first index entry, and "is anything runnable in this lane" is a probe too. Promoting a
-- delivery now moves its entry, within the lane's own leaf page as a rule.
DROP INDEX deliveries_lane_idx;
CREATE INDEX deliveries_lane_idx ON deliveries (route, ordering_key, blocked, id) WHERE state IN ('pending', 'in_flight');
