-- Submission to approval per deal, from the status history (business times of the events).
CREATE OR REPLACE VIEW ${catalog}.${schema}.deal_cycle_times (
  deal_id COMMENT 'deals.id',
  reference_number COMMENT 'Deal reference, DEAL-YYYY-NNN',
  deal_name COMMENT 'Deal name',
  region COMMENT 'Region of the deal',
  sales_channel COMMENT 'Sales channel of the deal',
  deal_priority COMMENT 'Deal priority: critical, high, medium or low',
  approval_level COMMENT 'Business approval the deal value needs: manager, director, vp, svp, or none',
  deal_value COMMENT 'Deal value in USD',
  status COMMENT 'Current status of the deal',
  revision_rounds COMMENT 'Number of resubmissions after a revision request',
  submitted_at COMMENT 'First time the deal entered submitted (UTC)',
  approved_at COMMENT 'First time the deal entered approved (UTC); null while not approved',
  cycle_hours COMMENT 'Hours from submission to approval',
  cycle_days COMMENT 'Days from submission to approval',
  submitted_month COMMENT 'First day of the month of submission',
  approved_month COMMENT 'First day of the month of approval'
)
COMMENT 'Approval cycle time per submitted deal: from entering submitted to entering approved, by the business times in the status history'
AS
WITH milestones AS (
  SELECT
    deal_id,
    min(CASE WHEN status = 'submitted' THEN changed_at END) AS submitted_at,
    min(CASE WHEN status = 'approved' THEN changed_at END) AS approved_at
  FROM ${catalog}.${schema}.deal_status_history
  GROUP BY deal_id
),
deals_submitted AS (
  SELECT
    d.id AS deal_id,
    d.reference_number,
    d.deal_name,
    d.region,
    d.sales_channel,
    d.priority AS deal_priority,
    coalesce(d.required_approval_level, 'none') AS approval_level,
    d.deal_value,
    d.status,
    d.revision_count AS revision_rounds,
    coalesce(m.submitted_at, d.submitted_at) AS submitted_at,
    m.approved_at
  FROM ${catalog}.${schema}.deals AS d
  LEFT JOIN milestones AS m ON m.deal_id = d.id
)
SELECT
  deal_id,
  reference_number,
  deal_name,
  region,
  sales_channel,
  deal_priority,
  approval_level,
  deal_value,
  status,
  revision_rounds,
  submitted_at,
  approved_at,
  (unix_timestamp(approved_at) - unix_timestamp(submitted_at)) / 3600 AS cycle_hours,
  (unix_timestamp(approved_at) - unix_timestamp(submitted_at)) / 86400 AS cycle_days,
  CAST(date_trunc('MONTH', submitted_at) AS DATE) AS submitted_month,
  CAST(date_trunc('MONTH', approved_at) AS DATE) AS approved_month
FROM deals_submitted
WHERE submitted_at IS NOT NULL;
