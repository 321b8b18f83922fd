CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.advertisers (
  id BIGINT NOT NULL COMMENT 'Deterministic key: 64-bit hash of the normalised name',
  name STRING NOT NULL COMMENT 'Company name (unique, matched case- and space-insensitively)',
  previous_year_revenue DOUBLE NOT NULL DEFAULT 0 COMMENT 'Revenue last year, USD',
  previous_year_margin DOUBLE NOT NULL DEFAULT 0 COMMENT 'Gross margin last year as a decimal (0.31 = 31 %)',
  previous_year_profit DOUBLE NOT NULL DEFAULT 0 COMMENT 'Profit last year, USD',
  previous_year_incentive_cost DOUBLE NOT NULL DEFAULT 0 COMMENT 'Incentives paid last year, USD',
  previous_year_client_value DOUBLE NOT NULL DEFAULT 0 COMMENT 'Client value last year, USD',
  region STRING COMMENT 'northeast, midwest, midatlantic, west or south',
  source_event_id STRING COMMENT 'Event that last changed this row',
  created_at TIMESTAMP NOT NULL DEFAULT current_timestamp() COMMENT 'When the row was first written (UTC)',
  updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp() COMMENT 'When the row last changed (UTC)'
) USING DELTA
COMMENT 'Client companies (advertisers) that deals are made with'
${location:advertisers}
TBLPROPERTIES (
  'delta.enableDeletionVectors' = 'true',
  'delta.feature.allowColumnDefaults' = 'supported'
);

ALTER TABLE ${catalog}.${schema}.advertisers ADD CONSTRAINT advertisers_region_valid
  CHECK (region IS NULL OR region IN ('northeast', 'midwest', 'midatlantic', 'west', 'south'));
ALTER TABLE ${catalog}.${schema}.advertisers ADD CONSTRAINT advertisers_margin_range
  CHECK (previous_year_margin BETWEEN 0 AND 1);
