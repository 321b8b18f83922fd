CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.deal_approvals (
  id BIGINT NOT NULL COMMENT 'Deterministic key: 64-bit hash of (deal reference, round, stage, department)',
  deal_id BIGINT NOT NULL COMMENT 'deals.id',
  approval_round INT NOT NULL COMMENT 'revision_count of the deal when routed; earlier rounds stay as history',
  approval_stage INT NOT NULL COMMENT '1 = department review, 2 = business approval',
  department STRING NOT NULL COMMENT 'Department that reviews (stage 2: trading)',
  required_role STRING NOT NULL COMMENT 'department_reviewer for stage 1, approver for stage 2',
  approval_level STRING COMMENT 'Stage 2 only: manager, director, vp or svp, from the deal value',
  status STRING NOT NULL DEFAULT 'pending' COMMENT 'pending, revision_requested, approved or rejected',
  priority STRING NOT NULL DEFAULT 'normal' COMMENT 'normal, high or urgent; raised one step when a full day overdue',
  assigned_to BIGINT COMMENT 'users.id of the assignee; null when nobody eligible was found',
  due_date TIMESTAMP NOT NULL COMMENT 'Routed time plus the SLA for the deal priority (UTC)',
  comments STRING COMMENT 'Comments of the decision',
  revision_reason STRING COMMENT 'Reason given with a revision request',
  reviewer_notes STRING COMMENT 'Notes of the reviewer',
  completed_at TIMESTAMP COMMENT 'Business time of the closing decision (UTC)',
  created_at TIMESTAMP NOT NULL DEFAULT current_timestamp() COMMENT 'Business time the row was routed (UTC)',
  updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp() COMMENT 'When the row last changed (UTC)'
) USING DELTA
COMMENT 'One row per approval a deal needs in a round: department reviews (stage 1) and the business approval (stage 2)'
${location:deal_approvals}
TBLPROPERTIES (
  'delta.enableDeletionVectors' = 'true',
  'delta.feature.allowColumnDefaults' = 'supported'
);

ALTER TABLE ${catalog}.${schema}.deal_approvals ADD CONSTRAINT deal_approvals_stage_valid
  CHECK (approval_stage IN (1, 2));
ALTER TABLE ${catalog}.${schema}.deal_approvals ADD CONSTRAINT deal_approvals_round_non_negative
  CHECK (approval_round >= 0);
ALTER TABLE ${catalog}.${schema}.deal_approvals ADD CONSTRAINT deal_approvals_department_valid
  CHECK (department IN ('trading', 'finance', 'creative', 'marketing', 'product', 'solutions', 'legal'));
ALTER TABLE ${catalog}.${schema}.deal_approvals ADD CONSTRAINT deal_approvals_required_role_valid
  CHECK (required_role IN ('department_reviewer', 'approver'));
ALTER TABLE ${catalog}.${schema}.deal_approvals ADD CONSTRAINT deal_approvals_level_valid
  CHECK (approval_level IS NULL OR approval_level IN ('manager', 'director', 'vp', 'svp'));
ALTER TABLE ${catalog}.${schema}.deal_approvals ADD CONSTRAINT deal_approvals_status_valid
  CHECK (status IN ('pending', 'revision_requested', 'approved', 'rejected'));
ALTER TABLE ${catalog}.${schema}.deal_approvals ADD CONSTRAINT deal_approvals_priority_valid
  CHECK (priority IN ('normal', 'high', 'urgent'));
