-- 0004_pipeline_attempts: a journal row that keeps stopping the pipeline ends `failed`.
--
-- `attempts` counts the times the pipeline took a row and did not finish it (the process
-- died or was stopped mid-batch). The pipeline claims a row that has such attempts alone,
-- so one poison row cannot take the rows of its batch down with it, and settles it as
-- `failed` with its cause once the count reaches the limit.
--
-- `pipeline_claim` is the range of journal ids the pipeline has taken and not yet
-- recorded: one small row written per batch. A process that finds it at start knows the
-- batch in it did not finish and counts an attempt for every row of it still pending.
ALTER TABLE journal ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;

CREATE TABLE pipeline_claim (
  id       INTEGER PRIMARY KEY CHECK (id = 1),
  first_id INTEGER NOT NULL,
  last_id  INTEGER NOT NULL
);
