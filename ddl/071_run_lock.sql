-- One processing run at a time: a run holds the lease while it reads, decides and writes.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.run_lock (
  name STRING NOT NULL COMMENT 'What is locked: pipeline',
  owner STRING NOT NULL COMMENT 'job_runs.run_id of the run holding the lock',
  acquired_at TIMESTAMP NOT NULL COMMENT 'When the lock was taken (UTC)',
  expires_at TIMESTAMP NOT NULL COMMENT 'When another run may take it over if it was not released (UTC)'
) USING DELTA
COMMENT 'The lease that lets one processing run at a time read, decide and write'
${location:run_lock}
TBLPROPERTIES ('delta.enableDeletionVectors' = 'true');
