CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.deal_scoping_requests (
  id BIGINT NOT NULL COMMENT 'Deterministic key: 64-bit hash of the submitting event id',
  request_title STRING NOT NULL COMMENT 'Short title of the opportunity',
  description STRING COMMENT 'Free-text description',
  email STRING NOT NULL COMMENT 'Submitter e-mail, lower-case',
  sales_channel STRING NOT NULL COMMENT 'holding_company, independent_agency or client_direct',
  advertiser_name STRING COMMENT 'Advertiser named in the request',
  agency_name STRING COMMENT 'Agency named in the request',
  region STRING COMMENT 'northeast, midwest, midatlantic, west or south',
  deal_type STRING COMMENT 'grow, protect or custom',
  deal_structure STRING COMMENT 'tiered or flat_commit',
  contract_term INT NOT NULL DEFAULT 12 COMMENT 'Months; derived from the dates, 12 when there are none',
  term_start_date DATE COMMENT 'Expected contract start',
  term_end_date DATE COMMENT 'Expected contract end',
  growth_opportunity_miq STRING NOT NULL COMMENT 'Growth opportunity for us, free text',
  growth_ambition DOUBLE NOT NULL COMMENT 'Growth ambition in USD, at least 1,000,000',
  growth_opportunity_client STRING NOT NULL COMMENT 'Growth opportunity for the client, free text',
  client_asks STRING COMMENT 'What the client asks for, free text',
  status STRING NOT NULL DEFAULT 'pending' COMMENT 'pending, or converted once a deal was submitted from it',
  converted_deal_id BIGINT COMMENT 'deals.id of the deal it became',
  converted_at TIMESTAMP COMMENT 'Business time of the conversion (UTC)',
  validation_warnings STRING COMMENT 'Warnings recorded when the request was accepted: JSON array of {field, rule, message, value}',
  source_event_id STRING COMMENT 'Event that last changed this row',
  created_at TIMESTAMP NOT NULL DEFAULT current_timestamp() COMMENT 'Business time the request was received (UTC)',
  updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp() COMMENT 'When the row last changed (UTC)'
) USING DELTA
COMMENT 'Pre-deal opportunity assessments; a deal submission can convert one'
${location:deal_scoping_requests}
TBLPROPERTIES (
  'delta.enableDeletionVectors' = 'true',
  'delta.feature.allowColumnDefaults' = 'supported'
);

ALTER TABLE ${catalog}.${schema}.deal_scoping_requests ADD CONSTRAINT scoping_status_valid
  CHECK (status IN ('pending', 'converted'));
ALTER TABLE ${catalog}.${schema}.deal_scoping_requests ADD CONSTRAINT scoping_sales_channel_valid
  CHECK (sales_channel IN ('holding_company', 'independent_agency', 'client_direct'));
ALTER TABLE ${catalog}.${schema}.deal_scoping_requests ADD CONSTRAINT scoping_region_valid
  CHECK (region IS NULL OR region IN ('northeast', 'midwest', 'midatlantic', 'west', 'south'));
ALTER TABLE ${catalog}.${schema}.deal_scoping_requests ADD CONSTRAINT scoping_deal_type_valid
  CHECK (deal_type IS NULL OR deal_type IN ('grow', 'protect', 'custom'));
ALTER TABLE ${catalog}.${schema}.deal_scoping_requests ADD CONSTRAINT scoping_deal_structure_valid
  CHECK (deal_structure IS NULL OR deal_structure IN ('tiered', 'flat_commit'));
ALTER TABLE ${catalog}.${schema}.deal_scoping_requests ADD CONSTRAINT scoping_growth_ambition_minimum
  CHECK (growth_ambition >= 1000000);
ALTER TABLE ${catalog}.${schema}.deal_scoping_requests ADD CONSTRAINT scoping_conversion_complete
  CHECK (status <> 'converted' OR (converted_deal_id IS NOT NULL AND converted_at IS NOT NULL));
