-- Median and p90 time to decision by month, department, stage and approval level.
CREATE OR REPLACE VIEW ${catalog}.${schema}.review_time_by_month (
  month COMMENT 'First day of the month the decisions were made in',
  department COMMENT 'Department key',
  department_name COMMENT 'Department display name',
  approval_stage COMMENT '1 = department review, 2 = business approval',
  approval_level COMMENT 'Stage 2 only: manager, director, vp or svp; null for department reviews',
  decisions COMMENT 'Decisions made in the month',
  median_hours_to_decision COMMENT 'Median hours from routing to decision',
  p90_hours_to_decision COMMENT '90th percentile of hours from routing to decision',
  decided_late COMMENT 'Decisions made after the due date'
)
COMMENT 'Review time trend: median and p90 hours from routing to decision by month, department, stage and approval level'
AS
SELECT
  CAST(date_trunc('MONTH', decided_at) AS DATE) AS month,
  department,
  department_name,
  approval_stage,
  approval_level,
  count(*) AS decisions,
  percentile(hours_to_decision, 0.5) AS median_hours_to_decision,
  percentile(hours_to_decision, 0.9) AS p90_hours_to_decision,
  sum(CASE WHEN decided_late THEN 1 ELSE 0 END) AS decided_late
FROM ${catalog}.${schema}.approval_details
WHERE decided_at IS NOT NULL AND state = 'decided'
GROUP BY CAST(date_trunc('MONTH', decided_at) AS DATE), department, department_name, approval_stage, approval_level;
