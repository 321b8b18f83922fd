-- The decide job's ledger: which approval_action and status_change documents it has
-- decided, so a re-run or a replay applies nothing twice.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.processed_events (
  event_id STRING NOT NULL COMMENT 'raw_documents.event_id of the decided document',
  kind STRING NOT NULL COMMENT 'approval_action or status_change',
  reference_number STRING COMMENT 'Deal reference the document names, as given (upper-cased)',
  outcome STRING NOT NULL COMMENT 'applied, or rejected (then it is in rejected_documents with its reasons)',
  occurred_at TIMESTAMP COMMENT 'Business time of the document (UTC)',
  run_id STRING NOT NULL COMMENT 'job_runs.run_id of the run that decided it last',
  processed_at TIMESTAMP NOT NULL COMMENT 'When it was decided last (UTC)'
) USING DELTA
COMMENT 'Workflow documents already decided: a document is applied at most once; a replay can turn rejected into applied'
${location:processed_events}
TBLPROPERTIES ('delta.enableDeletionVectors' = 'true');

ALTER TABLE ${catalog}.${schema}.processed_events ADD CONSTRAINT processed_events_kind_valid
  CHECK (kind IN ('approval_action', 'status_change'));
ALTER TABLE ${catalog}.${schema}.processed_events ADD CONSTRAINT processed_events_outcome_valid
  CHECK (outcome IN ('applied', 'rejected'));
