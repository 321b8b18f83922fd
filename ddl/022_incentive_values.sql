CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.incentive_values (
  id BIGINT NOT NULL COMMENT 'Deterministic key: 64-bit hash of (deal reference, tier_number, line number)',
  deal_id BIGINT NOT NULL COMMENT 'deals.id',
  tier_number INT COMMENT 'Tier the incentive belongs to; null for a deal-wide incentive',
  line_number INT NOT NULL COMMENT 'Position of the incentive within its tier, from 1',
  category_id STRING NOT NULL COMMENT 'financial, resources, product-innovation, technology, analytics or marketing',
  subcategory_id STRING NOT NULL COMMENT 'Sub-category within the category',
  option STRING NOT NULL COMMENT 'The incentive option chosen',
  value DOUBLE NOT NULL DEFAULT 0 COMMENT 'Cost of the incentive, USD',
  notes STRING COMMENT 'Free-text notes',
  created_at TIMESTAMP NOT NULL DEFAULT current_timestamp() COMMENT 'When the row was first written (UTC)',
  updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp() COMMENT 'When the row last changed (UTC)'
) USING DELTA
COMMENT 'Every incentive and special term of each deal, one row per incentive line'
${location:incentive_values}
TBLPROPERTIES (
  'delta.enableDeletionVectors' = 'true',
  'delta.feature.allowColumnDefaults' = 'supported'
);

ALTER TABLE ${catalog}.${schema}.incentive_values ADD CONSTRAINT incentive_values_category_valid
  CHECK (category_id IN ('financial', 'resources', 'product-innovation', 'technology', 'analytics', 'marketing'));
ALTER TABLE ${catalog}.${schema}.incentive_values ADD CONSTRAINT incentive_values_value_non_negative
  CHECK (value >= 0);
ALTER TABLE ${catalog}.${schema}.incentive_values ADD CONSTRAINT incentive_values_tier_number_range
  CHECK (tier_number IS NULL OR tier_number BETWEEN 1 AND 5);
