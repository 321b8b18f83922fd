-- One readable row per approval. The queue, bottleneck and review-time views build on it,
-- so "open", "overdue" and "time to decision" mean the same thing everywhere.
CREATE OR REPLACE VIEW ${catalog}.${schema}.approval_details (
  approval_id COMMENT 'deal_approvals.id',
  deal_id COMMENT 'deals.id',
  reference_number COMMENT 'Deal reference, DEAL-YYYY-NNN',
  deal_name COMMENT 'Deal name',
  deal_status COMMENT 'Current status of the deal',
  deal_priority COMMENT 'Deal priority (critical, high, medium, low): it set the SLA',
  deal_value COMMENT 'Deal value in USD: the sum of the tier revenues',
  approval_round COMMENT 'Revision count of the deal when the approval was routed',
  approval_stage COMMENT '1 = department review, 2 = business approval',
  stage_name COMMENT 'department review or business approval',
  department COMMENT 'Department key of the reviewing department',
  department_name COMMENT 'Display name of the reviewing department',
  approval_level COMMENT 'Stage 2 only: manager, director, vp or svp; null for department reviews',
  status COMMENT 'pending, revision_requested, approved or rejected',
  priority COMMENT 'Approval priority: normal, high or urgent',
  assigned_to COMMENT 'users.id of the assignee; null when nobody is assigned',
  assignee_name COMMENT 'First and last name of the assignee (the e-mail when no name is known)',
  assignee_email COMMENT 'E-mail of the assignee',
  routed_at COMMENT 'Business time the approval was routed (UTC)',
  due_date COMMENT 'When the decision is due (UTC)',
  decided_at COMMENT 'Business time of the decision (approve, reject or revision request); null while pending',
  hours_to_decision COMMENT 'Hours from routing to the decision; null for an approval carried over (nobody decided it in its round)',
  state COMMENT 'open: pending in the current round of a live deal; decided; carried over: the approval of the previous round stands (smart re-approval); superseded: pending in an earlier round or on a closed deal',
  is_overdue COMMENT 'Open and past its due date now',
  decided_late COMMENT 'Decided after its due date',
  hours_past_due COMMENT 'Open and overdue: hours past due until now; decided late: hours past due at the decision; else null',
  carried_over_from_round COMMENT 'For an approval carried over: the round whose approval stands; else null'
)
COMMENT 'One readable row per approval: deal, department, assignee by name, due date, decision time and whether it is open, overdue or decided late'
AS
WITH revision_requests AS (
  SELECT approval_id, min(created_at) AS requested_at
  FROM ${catalog}.${schema}.approval_actions
  WHERE action_type = 'request_revision'
  GROUP BY approval_id
),
approvals AS (
  SELECT
    a.id AS approval_id,
    a.deal_id,
    d.reference_number,
    d.deal_name,
    d.status AS deal_status,
    d.priority AS deal_priority,
    d.deal_value,
    a.approval_round,
    a.approval_stage,
    CASE a.approval_stage WHEN 1 THEN 'department review' ELSE 'business approval' END AS stage_name,
    a.department,
    coalesce(dep.display_name, a.department) AS department_name,
    a.approval_level,
    a.status,
    a.priority,
    a.assigned_to,
    coalesce(nullif(concat_ws(' ', u.first_name, u.last_name), ''), u.email) AS assignee_name,
    u.email AS assignee_email,
    a.created_at AS routed_at,
    a.due_date,
    CASE WHEN a.status = 'pending' THEN NULL ELSE coalesce(a.completed_at, r.requested_at) END AS decided_at,
    f.carried_over_from_round,
    CASE
      WHEN f.carried_over_from_round IS NOT NULL THEN 'carried over'
      WHEN a.status <> 'pending' THEN 'decided'
      WHEN a.approval_round = d.revision_count AND d.status NOT IN ('signed', 'lost') THEN 'open'
      ELSE 'superseded'
    END AS state
  FROM ${catalog}.${schema}.deal_approvals AS a
  LEFT JOIN ${catalog}.${schema}.deals AS d ON d.id = a.deal_id
  LEFT JOIN ${catalog}.${schema}.users AS u ON u.id = a.assigned_to
  LEFT JOIN ${catalog}.${schema}.approval_departments AS dep ON dep.department = a.department
  LEFT JOIN revision_requests AS r ON r.approval_id = a.id
  LEFT JOIN ${catalog}.${schema}.approval_fingerprints AS f ON f.approval_id = a.id
)
SELECT
  approval_id,
  deal_id,
  reference_number,
  deal_name,
  deal_status,
  deal_priority,
  deal_value,
  approval_round,
  approval_stage,
  stage_name,
  department,
  department_name,
  approval_level,
  status,
  priority,
  assigned_to,
  assignee_name,
  assignee_email,
  routed_at,
  due_date,
  decided_at,
  CASE WHEN state <> 'carried over' THEN (unix_timestamp(decided_at) - unix_timestamp(routed_at)) / 3600 END
    AS hours_to_decision,
  state,
  state = 'open' AND due_date < current_timestamp() AS is_overdue,
  coalesce(decided_at > due_date, false) AS decided_late,
  CASE
    WHEN state = 'open' AND due_date < current_timestamp()
      THEN (unix_timestamp(current_timestamp()) - unix_timestamp(due_date)) / 3600
    WHEN decided_at > due_date THEN (unix_timestamp(decided_at) - unix_timestamp(due_date)) / 3600
  END AS hours_past_due,
  carried_over_from_round
FROM approvals;
