-- The ledger of applied documents: intake records the documents it applied (users, companies,
-- scoping requests, submissions), the decide job the approval_action and status_change
-- documents it decided. Written after a batch's effects, so a re-run, a replay or a run cut
-- short applies nothing twice and loses nothing.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.processed_events (
  event_id STRING NOT NULL COMMENT 'raw_documents.event_id of the document',
  kind STRING NOT NULL COMMENT 'Document kind (envelope kind)',
  reference_number STRING COMMENT 'Deal reference a workflow document names, as given (upper-cased)',
  outcome STRING NOT NULL COMMENT 'applied, or rejected by the decide job (then it is in rejected_documents with its reasons)',
  occurred_at TIMESTAMP COMMENT 'Business time of the document (UTC)',
  run_id STRING NOT NULL COMMENT 'job_runs.run_id of the run that applied or decided it last',
  processed_at TIMESTAMP NOT NULL COMMENT 'When it was applied or decided last (UTC)'
) USING DELTA
COMMENT 'Documents already applied: each is applied at most once; a replay can turn rejected into applied'
${location:processed_events}
TBLPROPERTIES ('delta.enableDeletionVectors' = 'true');

ALTER TABLE ${catalog}.${schema}.processed_events ADD CONSTRAINT processed_events_kind_valid
  CHECK (kind IN ('user', 'advertiser', 'agency', 'scoping_request', 'deal_submission', 'approval_action', 'status_change'));
ALTER TABLE ${catalog}.${schema}.processed_events ADD CONSTRAINT processed_events_outcome_valid
  CHECK (outcome IN ('applied', 'rejected'));
