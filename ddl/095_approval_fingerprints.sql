-- Smart re-approval (business rules, section 6): what each approval's department judged of the
-- deal when it was routed, as a fingerprint, and the round a carried-over approval came from.
-- A resubmission compares its fingerprints with the previous round's to carry reviews over.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.approval_fingerprints (
  approval_id BIGINT NOT NULL COMMENT 'deal_approvals.id: one row per approval routed',
  deal_id BIGINT NOT NULL COMMENT 'deals.id',
  approval_round INT NOT NULL COMMENT 'deal_approvals.approval_round',
  approval_stage INT NOT NULL COMMENT '1 = department review, 2 = business approval',
  department STRING NOT NULL COMMENT 'Department of the approval',
  judged_parts STRING COMMENT 'Comma-separated parts of the deal the department judges (deal_value, tiers, ...); the rules in force',
  fingerprint STRING COMMENT 'Hash of those parts as the submission gave them; null for a business approval or a draft submitted by hand',
  deal_value DOUBLE NOT NULL COMMENT 'Deal value when the approval was routed, USD (stage 2 carries over only if it did not rise)',
  carried_over_from_round INT COMMENT 'For a carried-over approval: the round whose approval stands; null when asked anew',
  created_at TIMESTAMP NOT NULL COMMENT 'Business time the approval was routed (UTC)'
) USING DELTA
COMMENT 'What each approval judged, for smart re-approval. Append-only audit trail, kept 7 years.'
${location:approval_fingerprints}
TBLPROPERTIES (
  'delta.appendOnly' = 'true',
  'delta.enableDeletionVectors' = 'true',
  'delta.logRetentionDuration' = 'interval 2557 days',
  'delta.deletedFileRetentionDuration' = 'interval 2557 days'
);

ALTER TABLE ${catalog}.${schema}.approval_fingerprints ADD CONSTRAINT approval_fingerprints_stage_valid
  CHECK (approval_stage IN (1, 2));
ALTER TABLE ${catalog}.${schema}.approval_fingerprints ADD CONSTRAINT approval_fingerprints_carried_from_earlier
  CHECK (carried_over_from_round IS NULL OR carried_over_from_round < approval_round);
