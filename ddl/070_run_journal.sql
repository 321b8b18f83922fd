-- The effects of a run, written before any of them is applied: a run cut short at any later
-- write is finished from here by the next run (a redo log), so the tables end as a clean run
-- leaves them. One or more parts per run; applied_at is set once every effect is written.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.run_journal (
  run_id STRING NOT NULL COMMENT 'job_runs.run_id of the run whose effects these are',
  part INT NOT NULL COMMENT 'Part number, from 0: large runs are split into parts',
  body STRING NOT NULL COMMENT 'The rows to write per table: JSON, zlib-compressed, base64 text',
  written_at TIMESTAMP NOT NULL COMMENT 'When the journal part was written (UTC)',
  applied_at TIMESTAMP COMMENT 'When every effect of the run was written; null while a run is unfinished'
) USING DELTA
COMMENT 'Redo log of job runs: effects recorded before they are applied, so a run cut short is finished by the next one'
${location:run_journal}
TBLPROPERTIES ('delta.enableDeletionVectors' = 'true');
