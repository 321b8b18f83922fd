-- What the last processing run that succeeded left for the next one: the business clock and the
-- business time monitoring last ran at. A run that finds the lakehouse settled (the lease's last
-- holder succeeded) takes them from here instead of scanning the ledger for the clock and
-- recomputing the flags of every deal; any other run recomputes them and writes them again.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.run_state (
  name STRING NOT NULL COMMENT 'Whose state: pipeline',
  run_id STRING NOT NULL COMMENT 'job_runs.run_id of the run that wrote it',
  business_clock TIMESTAMP COMMENT 'Latest business time of the documents applied so far (UTC); null before the first',
  monitored_as_of TIMESTAMP COMMENT 'Business time monitoring last ran at, every deal flagged as of it (UTC); null: flags to recompute',
  rules_fingerprint STRING COMMENT 'Fingerprint of the business rules monitoring ran with',
  updated_at TIMESTAMP NOT NULL COMMENT 'When it was written (UTC)'
) USING DELTA
COMMENT 'The clock and monitoring time the last successful processing run left for the next one'
${location:run_state}
TBLPROPERTIES ('delta.enableDeletionVectors' = 'true');
