-- Median and p90 approval cycle by month of approval and approval level; level all = every level.
-- percentile() is exact and interpolates, the same on Databricks and the local engine.
CREATE OR REPLACE VIEW ${catalog}.${schema}.cycle_time_by_month (
  month COMMENT 'First day of the month the deals were approved in',
  approval_level COMMENT 'manager, director, vp, svp, none (below the ladder), or all',
  approved_deals COMMENT 'Deals approved in the month',
  median_cycle_hours COMMENT 'Median hours from submission to approval',
  p90_cycle_hours COMMENT '90th percentile of hours from submission to approval',
  mean_cycle_hours COMMENT 'Mean hours from submission to approval'
)
COMMENT 'Approval cycle time trend: median, p90 and mean hours from submission to approval by month of approval and approval level'
AS
SELECT
  approved_month AS month,
  approval_level,
  count(*) AS approved_deals,
  percentile(cycle_hours, 0.5) AS median_cycle_hours,
  percentile(cycle_hours, 0.9) AS p90_cycle_hours,
  avg(cycle_hours) AS mean_cycle_hours
FROM ${catalog}.${schema}.deal_cycle_times
WHERE approved_at IS NOT NULL
GROUP BY approved_month, approval_level
UNION ALL
SELECT
  approved_month AS month,
  'all' AS approval_level,
  count(*) AS approved_deals,
  percentile(cycle_hours, 0.5) AS median_cycle_hours,
  percentile(cycle_hours, 0.9) AS p90_cycle_hours,
  avg(cycle_hours) AS mean_cycle_hours
FROM ${catalog}.${schema}.deal_cycle_times
WHERE approved_at IS NOT NULL
GROUP BY approved_month;
