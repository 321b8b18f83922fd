CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.landed_files (
  path STRING NOT NULL COMMENT 'Path of the landing file as it was read',
  size_bytes BIGINT NOT NULL COMMENT 'Size of the file when taken',
  sha256 STRING NOT NULL COMMENT 'SHA-256 of the file content when taken',
  line_count BIGINT NOT NULL COMMENT 'Lines read from the file',
  run_id STRING NOT NULL COMMENT 'job_runs.run_id of the run that took the file',
  taken_at TIMESTAMP NOT NULL COMMENT 'When the file was taken (UTC)'
) USING DELTA
COMMENT 'Landing files already taken: a file is processed exactly once'
${location:landed_files}
TBLPROPERTIES (
  'delta.appendOnly' = 'true',
  'delta.enableDeletionVectors' = 'true'
);

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.raw_documents (
  event_id STRING NOT NULL COMMENT 'Event id from the sender, or one derived from file and line when missing',
  kind STRING COMMENT 'Document kind from the envelope; null when the line could not be read',
  source_file STRING NOT NULL COMMENT 'Landing file the line came from',
  line_number BIGINT NOT NULL COMMENT 'Line number within the file, from 1',
  occurred_at TIMESTAMP COMMENT 'Business time from the envelope (UTC), when readable',
  payload STRING NOT NULL COMMENT 'The line exactly as received',
  received_at TIMESTAMP NOT NULL COMMENT 'When the line was read (UTC)',
  run_id STRING NOT NULL COMMENT 'job_runs.run_id of the run that read it'
) USING DELTA
COMMENT 'Every inbound document exactly as received. Append-only, kept 7 years: nothing is lost.'
${location:raw_documents}
TBLPROPERTIES (
  'delta.appendOnly' = 'true',
  'delta.enableDeletionVectors' = 'true',
  'delta.logRetentionDuration' = 'interval 2557 days',
  'delta.deletedFileRetentionDuration' = 'interval 2557 days'
);
