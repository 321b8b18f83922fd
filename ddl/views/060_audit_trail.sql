-- The audit trail as people read it: status changes and approval actions, names instead of ids.
CREATE OR REPLACE VIEW ${catalog}.${schema}.audit_trail (
  occurred_at COMMENT 'Business time of the change or action (UTC)',
  entry_type COMMENT 'status_change or approval_action',
  reference_number COMMENT 'Deal reference, DEAL-YYYY-NNN',
  deal_name COMMENT 'Deal name',
  deal_id COMMENT 'deals.id',
  status_seq COMMENT 'Status changes: order of the change within the deal',
  approval_id COMMENT 'Approval actions: deal_approvals.id',
  approval_round COMMENT 'Approval actions: the round of the approval',
  approval_stage COMMENT 'Approval actions: 1 = department review, 2 = business approval',
  department_name COMMENT 'Approval actions: the reviewing department',
  action COMMENT 'status_change, or the approval action: initiate, assign, approve, reject, request_revision, comment',
  from_status COMMENT 'Status changes: status before; null for the creation row',
  to_status COMMENT 'Status changes: status after',
  performed_by_name COMMENT 'Who did it (name, else e-mail); System for the jobs',
  performed_by_email COMMENT 'E-mail of who did it; null for the system',
  assigned_to_name COMMENT 'Assign actions: the new assignee',
  comments COMMENT 'Comments given with the change or action',
  description COMMENT 'One readable sentence',
  source_event_id COMMENT 'Event that caused the entry'
)
COMMENT 'Audit trail: one readable row per deal status change and per approval action, with names instead of ids'
AS
SELECT
  h.changed_at AS occurred_at,
  'status_change' AS entry_type,
  d.reference_number,
  d.deal_name,
  h.deal_id,
  h.seq AS status_seq,
  CAST(NULL AS BIGINT) AS approval_id,
  CAST(NULL AS INT) AS approval_round,
  CAST(NULL AS INT) AS approval_stage,
  CAST(NULL AS STRING) AS department_name,
  'status_change' AS action,
  h.previous_status AS from_status,
  h.status AS to_status,
  CASE
    WHEN h.performed_by IS NULL THEN 'System'
    ELSE coalesce(nullif(concat_ws(' ', u.first_name, u.last_name), ''), u.email, CAST(h.performed_by AS STRING))
  END AS performed_by_name,
  u.email AS performed_by_email,
  CAST(NULL AS STRING) AS assigned_to_name,
  h.comments,
  CASE
    WHEN h.previous_status IS NULL THEN concat('Deal created as ', h.status)
    ELSE concat('Status changed from ', h.previous_status, ' to ', h.status)
  END AS description,
  h.source_event_id
FROM ${catalog}.${schema}.deal_status_history AS h
LEFT JOIN ${catalog}.${schema}.deals AS d ON d.id = h.deal_id
LEFT JOIN ${catalog}.${schema}.users AS u ON u.id = h.performed_by
UNION ALL
SELECT
  x.created_at AS occurred_at,
  'approval_action' AS entry_type,
  d.reference_number,
  d.deal_name,
  a.deal_id,
  CAST(NULL AS INT) AS status_seq,
  x.approval_id,
  a.approval_round,
  a.approval_stage,
  coalesce(dep.display_name, a.department) AS department_name,
  x.action_type AS action,
  CAST(NULL AS STRING) AS from_status,
  CAST(NULL AS STRING) AS to_status,
  CASE
    WHEN x.performed_by IS NULL THEN 'System'
    ELSE coalesce(nullif(concat_ws(' ', u.first_name, u.last_name), ''), u.email, CAST(x.performed_by AS STRING))
  END AS performed_by_name,
  u.email AS performed_by_email,
  coalesce(nullif(concat_ws(' ', t.first_name, t.last_name), ''), t.email) AS assigned_to_name,
  x.comments,
  concat_ws(
    ' ',
    CASE x.action_type
      WHEN 'initiate' THEN 'Opened'
      WHEN 'assign' THEN 'Assigned'
      WHEN 'approve' THEN 'Approved'
      WHEN 'reject' THEN 'Rejected'
      WHEN 'request_revision' THEN 'Revision requested on'
      WHEN 'comment' THEN 'Commented on'
      ELSE x.action_type
    END,
    coalesce(dep.display_name, a.department),
    CASE a.approval_stage WHEN 1 THEN 'department review' ELSE 'business approval' END,
    CASE WHEN x.action_type = 'assign' THEN concat(
      'to ', coalesce(nullif(concat_ws(' ', t.first_name, t.last_name), ''), t.email, 'nobody')
    ) END
  ) AS description,
  x.source_event_id
FROM ${catalog}.${schema}.approval_actions AS x
LEFT JOIN ${catalog}.${schema}.deal_approvals AS a ON a.id = x.approval_id
LEFT JOIN ${catalog}.${schema}.deals AS d ON d.id = a.deal_id
LEFT JOIN ${catalog}.${schema}.users AS u ON u.id = x.performed_by
LEFT JOIN ${catalog}.${schema}.users AS t ON t.id = x.assigned_to
LEFT JOIN ${catalog}.${schema}.approval_departments AS dep ON dep.department = a.department;
