CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.rejected_documents (
  event_id STRING NOT NULL COMMENT 'raw_documents.event_id of the rejected document',
  kind STRING COMMENT 'Document kind; null when the line could not be read',
  source_file STRING NOT NULL COMMENT 'Landing file the document came from',
  line_number BIGINT NOT NULL COMMENT 'Line number within the file',
  payload STRING NOT NULL COMMENT 'The document exactly as received',
  reasons STRING NOT NULL COMMENT 'Every failing rule: JSON array of {field, rule, message, value} (value is the offending input)',
  rejected_at TIMESTAMP NOT NULL COMMENT 'When the document was rejected (UTC)',
  run_id STRING NOT NULL COMMENT 'job_runs.run_id of the rejecting run',
  replayed_at TIMESTAMP COMMENT 'When a replay accepted the document; null while it stays rejected',
  replay_run_id STRING COMMENT 'job_runs.run_id of the replay that accepted it'
) USING DELTA
COMMENT 'Documents that failed validation, with every reason; replayable after a fix'
${location:rejected_documents}
TBLPROPERTIES ('delta.enableDeletionVectors' = 'true');
