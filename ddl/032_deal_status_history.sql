CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.deal_status_history (
  id BIGINT NOT NULL COMMENT 'Deterministic key: 64-bit hash of (deal reference, seq)',
  deal_id BIGINT NOT NULL COMMENT 'deals.id',
  seq INT NOT NULL COMMENT 'Order of the change within the deal: 1, 2, 3 ...',
  status STRING NOT NULL COMMENT 'Status the deal moved to',
  previous_status STRING COMMENT 'Status before the change; null for the creation row',
  performed_by BIGINT COMMENT 'users.id of who made the change; null for the system',
  comments STRING COMMENT 'Why the status changed',
  source_event_id STRING NOT NULL COMMENT 'Event that caused the change',
  changed_at TIMESTAMP NOT NULL COMMENT 'Business time of the causing event (UTC), never the processing time'
) USING DELTA
COMMENT 'Every change of deals.status, exactly one row each. Append-only audit trail, kept 7 years.'
${location:deal_status_history}
TBLPROPERTIES (
  'delta.appendOnly' = 'true',
  'delta.enableDeletionVectors' = 'true',
  'delta.logRetentionDuration' = 'interval 2557 days',
  'delta.deletedFileRetentionDuration' = 'interval 2557 days'
);

ALTER TABLE ${catalog}.${schema}.deal_status_history ADD CONSTRAINT status_history_seq_positive
  CHECK (seq >= 1);
ALTER TABLE ${catalog}.${schema}.deal_status_history ADD CONSTRAINT status_history_status_valid
  CHECK (status IN ('draft', 'scoping', 'converted', 'submitted', 'under_review', 'revision_requested',
                    'negotiating', 'approved', 'contract_drafting', 'client_review', 'signed', 'lost'));
ALTER TABLE ${catalog}.${schema}.deal_status_history ADD CONSTRAINT status_history_previous_status_valid
  CHECK (previous_status IS NULL OR previous_status IN ('draft', 'scoping', 'converted', 'submitted', 'under_review',
                    'revision_requested', 'negotiating', 'approved', 'contract_drafting', 'client_review', 'signed', 'lost'));
