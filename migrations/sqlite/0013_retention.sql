-- 0013_retention: pruning by age, per data class (`retention` in the config, src/retention/).
--
-- - retention_cursors: per class, the journal id or event seq up to which the pruner has
--   looked. A batch reads the next rows by primary key from there, so its cost does not grow
--   with the history, and a row once pruned or redacted is never read again.
-- - journal.body_pruned_at: set when the raw body was deleted (the row keeps its id, state
--   and counts; the body is empty and the headers are gone). Such a row is never retried.
-- - deliveries_succeeded_idx: succeeded deliveries by completion time, so the oldest are
--   found without a scan; a deleted delivery leaves the index, so nothing needs marking.
CREATE TABLE retention_cursors (
  class    TEXT    PRIMARY KEY,
  position INTEGER NOT NULL
);
ALTER TABLE journal ADD COLUMN body_pruned_at INTEGER;
CREATE INDEX deliveries_succeeded_idx ON deliveries (completed_at, id) WHERE state = 'succeeded';
-- Outbound records (POST /api/outbound) that still hold their text, by the time recorded:
-- the message-content limit empties the oldest first, and an emptied row leaves the index.
CREATE INDEX outbound_messages_text_idx ON outbound_messages (recorded_at) WHERE text IS NOT NULL;
