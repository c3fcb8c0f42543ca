-- 0013_retention: pruning by age, per data class. Mirrors migrations/sqlite/0013_retention.sql.
CREATE TABLE retention_cursors (
  class    TEXT   PRIMARY KEY,
  position BIGINT NOT NULL
);
ALTER TABLE journal ADD COLUMN body_pruned_at BIGINT;
CREATE INDEX deliveries_succeeded_idx ON deliveries (completed_at, id) WHERE state = 'succeeded';
-- Outbound records (POST /api/outbound) that still hold their text, by the time recorded:
-- the message-content limit empties the oldest first, and an emptied row leaves the index.
CREATE INDEX outbound_messages_text_idx ON outbound_messages (recorded_at) WHERE text IS NOT NULL;
