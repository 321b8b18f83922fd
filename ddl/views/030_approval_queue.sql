-- What is waiting for a decision now, with whom, for how long, and whether it is late.
CREATE OR REPLACE VIEW ${catalog}.${schema}.approval_queue (
  approval_id COMMENT 'deal_approvals.id',
  reference_number COMMENT 'Deal reference, DEAL-YYYY-NNN',
  deal_name COMMENT 'Deal name',
  deal_priority COMMENT 'Deal priority: critical, high, medium or low',
  deal_value COMMENT 'Deal value in USD',
  approval_round COMMENT 'Approval round (the revision count of the deal)',
  approval_stage COMMENT '1 = department review, 2 = business approval',
  stage_name COMMENT 'department review or business approval',
  department COMMENT 'Department key',
  department_name COMMENT 'Department display name',
  approval_level COMMENT 'Stage 2 only: manager, director, vp or svp',
  priority COMMENT 'Approval priority: normal, high or urgent',
  assigned_to COMMENT 'users.id of the assignee; null when nobody is assigned',
  assignee COMMENT 'Name of the assignee, or Unassigned',
  assignee_email COMMENT 'E-mail of the assignee',
  routed_at COMMENT 'Business time the approval was routed (UTC)',
  age_hours COMMENT 'Hours since the approval was routed',
  due_date COMMENT 'When the decision is due (UTC)',
  hours_until_due COMMENT 'Hours left until the due date; negative when overdue',
  is_overdue COMMENT 'Past its due date'
)
COMMENT 'Open approvals (pending in the current round of a live deal) with assignee, department, age, due date and overdue flag'
AS
SELECT
  approval_id,
  reference_number,
  deal_name,
  deal_priority,
  deal_value,
  approval_round,
  approval_stage,
  stage_name,
  department,
  department_name,
  approval_level,
  priority,
  assigned_to,
  coalesce(assignee_name, 'Unassigned') AS assignee,
  assignee_email,
  routed_at,
  (unix_timestamp(current_timestamp()) - unix_timestamp(routed_at)) / 3600 AS age_hours,
  due_date,
  (unix_timestamp(due_date) - unix_timestamp(current_timestamp())) / 3600 AS hours_until_due,
  is_overdue
FROM ${catalog}.${schema}.approval_details
WHERE state = 'open';
