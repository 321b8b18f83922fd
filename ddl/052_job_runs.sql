CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.job_runs (
  run_id STRING NOT NULL COMMENT 'Unique id of the run',
  job STRING NOT NULL COMMENT 'Job name: ingest, route, decide, monitor, replay, run',
  engine STRING NOT NULL COMMENT 'local or databricks',
  status STRING NOT NULL COMMENT 'running, succeeded or failed',
  started_at TIMESTAMP NOT NULL COMMENT 'Start of the run (UTC)',
  finished_at TIMESTAMP COMMENT 'End of the run (UTC)',
  lines_read BIGINT NOT NULL DEFAULT 0 COMMENT 'Documents read; equals accepted + rejected',
  accepted BIGINT NOT NULL DEFAULT 0 COMMENT 'Documents accepted',
  rejected BIGINT NOT NULL DEFAULT 0 COMMENT 'Documents rejected',
  accepted_by_kind STRING COMMENT 'Accepted documents per kind: JSON object',
  rejected_by_kind STRING COMMENT 'Rejected documents per kind: JSON object',
  rows_merged STRING COMMENT 'Rows inserted or updated per table: JSON object',
  error STRING COMMENT 'Error message of a failed run'
) USING DELTA
COMMENT 'One row per job run with its counts, for reconciliation and monitoring'
${location:job_runs}
TBLPROPERTIES (
  'delta.enableDeletionVectors' = 'true',
  'delta.feature.allowColumnDefaults' = 'supported'
);

ALTER TABLE ${catalog}.${schema}.job_runs ADD CONSTRAINT job_runs_status_valid
  CHECK (status IN ('running', 'succeeded', 'failed'));
ALTER TABLE ${catalog}.${schema}.job_runs ADD CONSTRAINT job_runs_reconciled
  CHECK (status <> 'succeeded' OR lines_read = accepted + rejected);
