-- 0005_event_indexes: fewer indexes written per event (mirrors the SQLite migration).
--
-- Every event insert writes every index of `events`. The channel and the business phone
-- number have a handful of values each, so an index on them saves a list query little over
-- walking `seq` (the order every list uses) and filtering, yet costs a write per event.
-- The indexes that pick few rows out of many stay: type, sender, message id, received
-- time, journal row.
DROP INDEX IF EXISTS events_channel_idx;
DROP INDEX IF EXISTS events_phone_number_idx;
