-- 0011_erasure: erasing one person (`bluetick erase`, `DELETE /api/contacts/{id}`).
--
-- - erasure_tombstones: one keyed hash (HMAC-SHA256) per identifier of an erased person, so
--   the pipeline drops a redelivered old notification about them. The key is not in the
--   database: on SQLite it is the file `erasure-key` next to the store (0600).
-- - journal.redacted_at: set when an erasure rewrote the body; the stored signature header
--   no longer matches such a body, so nothing may verify it again.
CREATE TABLE erasure_tombstones (
  hash      TEXT    PRIMARY KEY,
  erased_at INTEGER NOT NULL
);
ALTER TABLE journal ADD COLUMN redacted_at INTEGER;

-- Scratch space for the erase: a zero-filled blob written here takes the free pages, so the
-- bytes pages held before they were freed are overwritten without a VACUUM. Always empty.
CREATE TABLE erasure_scrub (b BLOB NOT NULL);
