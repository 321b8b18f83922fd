-- The pipeline by status, region, sales channel and approval level.
CREATE OR REPLACE VIEW ${catalog}.${schema}.deal_pipeline (
  status COMMENT 'Deal status',
  status_order COMMENT 'Position of the status in the workflow (1 = draft ... 12 = lost), for sorting',
  region COMMENT 'northeast, midwest, midatlantic, west or south',
  sales_channel COMMENT 'holding_company, independent_agency or client_direct',
  approval_level COMMENT 'Business approval the deal value needs: manager, director, vp, svp, or none below the ladder',
  deals COMMENT 'Number of deals',
  total_deal_value COMMENT 'Sum of deal values, USD',
  total_incentive_cost COMMENT 'Sum of incentive costs, USD',
  deals_needing_attention COMMENT 'Deals that monitoring flagged as needing attention'
)
COMMENT 'Deal pipeline: number, value and incentive cost of deals by status, region, sales channel and approval level'
AS
WITH classified AS (
  SELECT
    status,
    CASE status
      WHEN 'draft' THEN 1
      WHEN 'scoping' THEN 2
      WHEN 'converted' THEN 3
      WHEN 'submitted' THEN 4
      WHEN 'under_review' THEN 5
      WHEN 'revision_requested' THEN 6
      WHEN 'negotiating' THEN 7
      WHEN 'approved' THEN 8
      WHEN 'contract_drafting' THEN 9
      WHEN 'client_review' THEN 10
      WHEN 'signed' THEN 11
      WHEN 'lost' THEN 12
    END AS status_order,
    region,
    sales_channel,
    coalesce(required_approval_level, 'none') AS approval_level,
    deal_value,
    total_incentive_cost,
    CASE WHEN flow_intelligence = 'needs_attention' THEN 1 ELSE 0 END AS needs_attention
  FROM ${catalog}.${schema}.deals
)
SELECT
  status,
  status_order,
  region,
  sales_channel,
  approval_level,
  count(*) AS deals,
  sum(deal_value) AS total_deal_value,
  sum(total_incentive_cost) AS total_incentive_cost,
  sum(needs_attention) AS deals_needing_attention
FROM classified
GROUP BY status, status_order, region, sales_channel, approval_level;
