-- Where the time goes: median and p90 hours spent in each status, by the month the status was left.
CREATE OR REPLACE VIEW ${catalog}.${schema}.status_time_by_month (
  month COMMENT 'First day of the month the deals left the status in',
  status COMMENT 'Deal status',
  spells COMMENT 'Times a deal left this status in the month',
  median_hours COMMENT 'Median hours spent in the status',
  p90_hours COMMENT '90th percentile of hours spent in the status'
)
COMMENT 'Time in each status: median and p90 hours of completed stays, by month the status was left'
AS
SELECT
  CAST(date_trunc('MONTH', left_at) AS DATE) AS month,
  status,
  count(*) AS spells,
  percentile(hours_in_status, 0.5) AS median_hours,
  percentile(hours_in_status, 0.9) AS p90_hours
FROM ${catalog}.${schema}.deal_status_durations
WHERE left_at IS NOT NULL
GROUP BY CAST(date_trunc('MONTH', left_at) AS DATE), status;
