-- Delegation (business rules, section 4b): who takes a person's approvals while they are away.
-- One row per delegation document applied; reassigned_at is set once, when the delegator's open
-- approvals were handed over at its start (the run that reaches the start reads the ones still
-- null, so a start falls due once whatever the batching).
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.delegations (
  id BIGINT NOT NULL COMMENT 'Deterministic key: 64-bit hash of source_event_id',
  delegator_id BIGINT NOT NULL COMMENT 'users.id of the person away',
  delegate_id BIGINT NOT NULL COMMENT 'users.id of the person who takes their approvals',
  starts_at TIMESTAMP NOT NULL COMMENT 'Start of the period (UTC); it counts from here or from created_at, whichever is later',
  ends_at TIMESTAMP NOT NULL COMMENT 'End of the period, excluded (UTC)',
  reason STRING COMMENT 'Why, as the delegator gave it',
  source_event_id STRING NOT NULL COMMENT 'event_id of the delegation document',
  created_at TIMESTAMP NOT NULL COMMENT 'Business time of the document (UTC)',
  reassigned_at TIMESTAMP COMMENT 'When the open approvals were handed over; null until the start falls due'
) USING DELTA
COMMENT 'Delegations while someone is away. Rows are never deleted.'
${location:delegations}
TBLPROPERTIES (
  'delta.enableDeletionVectors' = 'true'
);

ALTER TABLE ${catalog}.${schema}.delegations ADD CONSTRAINT delegations_end_after_start
  CHECK (ends_at > starts_at);
ALTER TABLE ${catalog}.${schema}.delegations ADD CONSTRAINT delegations_not_self
  CHECK (delegate_id <> delegator_id);

-- The ledger learns the new document kind.
ALTER TABLE ${catalog}.${schema}.processed_events DROP CONSTRAINT IF EXISTS processed_events_kind_valid;
ALTER TABLE ${catalog}.${schema}.processed_events ADD CONSTRAINT processed_events_kind_valid
  CHECK (kind IN ('user', 'delegation', 'advertiser', 'agency', 'scoping_request', 'deal_submission', 'approval_action', 'status_change'));
