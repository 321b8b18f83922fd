CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.approval_actions (
  id BIGINT NOT NULL COMMENT 'Deterministic key: 64-bit hash of (causing event id, approval id, action type)',
  approval_id BIGINT NOT NULL COMMENT 'deal_approvals.id',
  action_type STRING NOT NULL COMMENT 'approve, reject, request_revision, comment, initiate or assign',
  performed_by BIGINT COMMENT 'users.id of the performer; null for the system',
  assigned_to BIGINT COMMENT 'users.id of the new assignee, for assign actions',
  comments STRING COMMENT 'Comments given with the action',
  source_event_id STRING NOT NULL COMMENT 'Event that caused the action',
  created_at TIMESTAMP NOT NULL COMMENT 'Business time of the action (UTC)'
) USING DELTA
COMMENT 'Every decision, comment and assignment on an approval. Append-only audit trail, kept 7 years.'
${location:approval_actions}
TBLPROPERTIES (
  'delta.appendOnly' = 'true',
  'delta.enableDeletionVectors' = 'true',
  'delta.logRetentionDuration' = 'interval 2557 days',
  'delta.deletedFileRetentionDuration' = 'interval 2557 days'
);

ALTER TABLE ${catalog}.${schema}.approval_actions ADD CONSTRAINT approval_actions_type_valid
  CHECK (action_type IN ('approve', 'reject', 'request_revision', 'comment', 'initiate', 'assign'));
