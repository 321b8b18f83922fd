-- Where approvals wait: per department and assignee, over open and decided approvals.
CREATE OR REPLACE VIEW ${catalog}.${schema}.approval_bottlenecks (
  department COMMENT 'Department key',
  department_name COMMENT 'Department display name',
  approver_id COMMENT 'users.id of the assignee; null for unassigned approvals',
  approver_name COMMENT 'Name of the assignee, or Unassigned',
  approver_email COMMENT 'E-mail of the assignee',
  open_approvals COMMENT 'Approvals waiting for a decision now',
  overdue_open_approvals COMMENT 'Open approvals past their due date',
  oldest_open_hours COMMENT 'Age in hours of the oldest open approval',
  decided_approvals COMMENT 'Approvals decided (approved, rejected or sent back for revision)',
  median_hours_to_decision COMMENT 'Median hours from routing to decision',
  p90_hours_to_decision COMMENT '90th percentile of hours from routing to decision',
  decided_late COMMENT 'Decisions made after the due date',
  overdue_rate COMMENT 'Share of approvals that missed the SLA: (overdue open + decided late) / (open + decided)'
)
COMMENT 'Approval bottlenecks per department and approver: open count, median time to decision and overdue rate'
AS
SELECT
  department,
  department_name,
  assigned_to AS approver_id,
  coalesce(assignee_name, 'Unassigned') AS approver_name,
  assignee_email AS approver_email,
  sum(CASE WHEN state = 'open' THEN 1 ELSE 0 END) AS open_approvals,
  sum(CASE WHEN is_overdue THEN 1 ELSE 0 END) AS overdue_open_approvals,
  max(CASE WHEN state = 'open' THEN (unix_timestamp(current_timestamp()) - unix_timestamp(routed_at)) / 3600 END)
    AS oldest_open_hours,
  sum(CASE WHEN state = 'decided' THEN 1 ELSE 0 END) AS decided_approvals,
  percentile(hours_to_decision, 0.5) AS median_hours_to_decision,
  percentile(hours_to_decision, 0.9) AS p90_hours_to_decision,
  sum(CASE WHEN decided_late THEN 1 ELSE 0 END) AS decided_late,
  sum(CASE WHEN is_overdue OR decided_late THEN 1 ELSE 0 END) / count(*) AS overdue_rate
FROM ${catalog}.${schema}.approval_details
WHERE state IN ('open', 'decided')
GROUP BY department, department_name, assigned_to, assignee_name, assignee_email;
