-- 0014_lane_heads: mirrors migrations/sqlite/0014_lane_heads.sql. A lane's head (its
-- runnable delivery, else its oldest unfinished one) is the first entry of the lane in this
-- index, so finding it no longer reads and sorts the whole backlog of a busy conversation.
-- Building it reads the deliveries table once (writes to it wait meanwhile, as for every
-- migration); the index itself holds only unfinished deliveries.
DROP INDEX deliveries_lane_idx;
CREATE INDEX deliveries_lane_idx ON deliveries (route, ordering_key, blocked, id) WHERE state IN ('pending', 'in_flight');
