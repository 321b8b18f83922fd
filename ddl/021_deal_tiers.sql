CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.deal_tiers (
  id BIGINT NOT NULL COMMENT 'Deterministic key: 64-bit hash of (deal reference, tier_number)',
  deal_id BIGINT NOT NULL COMMENT 'deals.id',
  tier_number INT NOT NULL COMMENT 'Tier 1 to 5, unique per deal',
  annual_revenue DOUBLE NOT NULL COMMENT 'Annual revenue committed at this tier, USD',
  annual_gross_margin DOUBLE NOT NULL COMMENT 'Gross margin at this tier as a decimal (0.355 = 35.5 %)',
  category_name STRING COMMENT 'Category of the first incentive of the tier',
  sub_category_name STRING COMMENT 'Sub-category of the first incentive of the tier',
  incentive_option STRING COMMENT 'Option of the first incentive of the tier',
  incentive_value DOUBLE NOT NULL DEFAULT 0 COMMENT 'Total incentive cost of the tier, USD',
  incentive_notes STRING COMMENT 'Notes of the first incentive of the tier',
  created_at TIMESTAMP NOT NULL DEFAULT current_timestamp() COMMENT 'When the row was first written (UTC)',
  updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp() COMMENT 'When the row last changed (UTC)'
) USING DELTA
COMMENT 'Tiered revenue and margin commitments of each deal (one row per tier)'
${location:deal_tiers}
TBLPROPERTIES (
  'delta.enableDeletionVectors' = 'true',
  'delta.feature.allowColumnDefaults' = 'supported'
);

ALTER TABLE ${catalog}.${schema}.deal_tiers ADD CONSTRAINT deal_tiers_tier_number_range
  CHECK (tier_number BETWEEN 1 AND 5);
ALTER TABLE ${catalog}.${schema}.deal_tiers ADD CONSTRAINT deal_tiers_revenue_non_negative
  CHECK (annual_revenue >= 0);
ALTER TABLE ${catalog}.${schema}.deal_tiers ADD CONSTRAINT deal_tiers_margin_range
  CHECK (annual_gross_margin BETWEEN 0 AND 1);
ALTER TABLE ${catalog}.${schema}.deal_tiers ADD CONSTRAINT deal_tiers_incentive_value_non_negative
  CHECK (incentive_value >= 0);
