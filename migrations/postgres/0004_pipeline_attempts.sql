-- 0004_pipeline_attempts: a journal row that keeps stopping the pipeline ends `failed`.
--
-- Mirrors migrations/sqlite/0004_pipeline_attempts.sql. Here every claim is already a
-- write (the lease), so the claim itself counts the attempt, and recording the outcome
-- clears it: `attempts` is the number of claims of a row that did not finish (the process
-- died, or its lease ran out mid-batch). A row with attempts is claimed alone, and settles
-- as `failed` with its cause once the count reaches the limit.
ALTER TABLE journal ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
