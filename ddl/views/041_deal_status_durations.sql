-- Time in each status: every status-history row with the time until the next change.
CREATE OR REPLACE VIEW ${catalog}.${schema}.deal_status_durations (
  deal_id COMMENT 'deals.id',
  reference_number COMMENT 'Deal reference, DEAL-YYYY-NNN',
  seq COMMENT 'Order of the change within the deal',
  status COMMENT 'Status the deal was in',
  previous_status COMMENT 'Status before it; null for the creation row',
  entered_at COMMENT 'Business time the deal entered the status (UTC)',
  left_at COMMENT 'Business time of the next change (UTC); null while the deal is still in the status',
  next_status COMMENT 'Status the deal moved to next',
  is_current COMMENT 'The deal is still in this status',
  hours_in_status COMMENT 'Hours in the status; until now for the current status; null for signed and lost, which are final'
)
COMMENT 'Time each deal spent in each status, from consecutive status-history rows (business times of the events)'
AS
WITH spells AS (
  SELECT
    deal_id,
    seq,
    status,
    previous_status,
    changed_at AS entered_at,
    lead(changed_at) OVER (PARTITION BY deal_id ORDER BY seq) AS left_at,
    lead(status) OVER (PARTITION BY deal_id ORDER BY seq) AS next_status
  FROM ${catalog}.${schema}.deal_status_history
)
SELECT
  s.deal_id,
  d.reference_number,
  s.seq,
  s.status,
  s.previous_status,
  s.entered_at,
  s.left_at,
  s.next_status,
  s.left_at IS NULL AS is_current,
  CASE
    WHEN s.left_at IS NOT NULL THEN (unix_timestamp(s.left_at) - unix_timestamp(s.entered_at)) / 3600
    WHEN s.status NOT IN ('signed', 'lost')
      THEN (unix_timestamp(current_timestamp()) - unix_timestamp(s.entered_at)) / 3600
  END AS hours_in_status
FROM spells AS s
LEFT JOIN ${catalog}.${schema}.deals AS d ON d.id = s.deal_id;
