-- 0011_erasure: erasing one person. Mirrors migrations/sqlite/0011_erasure.sql; here the
-- HMAC key of the tombstones lives in the database (`erasure_key`, one row), since
-- processes sharing the store share no folder.
CREATE TABLE erasure_tombstones (
  hash      TEXT   PRIMARY KEY,
  erased_at BIGINT NOT NULL
);
CREATE TABLE erasure_key (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  key TEXT    NOT NULL
);
ALTER TABLE journal ADD COLUMN redacted_at BIGINT;
