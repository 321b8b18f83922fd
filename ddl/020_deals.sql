CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.deals (
  id BIGINT NOT NULL COMMENT 'Deterministic key: 64-bit hash of reference_number',
  reference_number STRING NOT NULL COMMENT 'DEAL-YYYY-NNN: year of submission and a per-year sequence, never reissued',
  deal_name STRING NOT NULL COMMENT 'Deal name, 1 to 500 characters',
  email STRING NOT NULL COMMENT 'Submitter e-mail, lower-case',
  deal_type STRING NOT NULL COMMENT 'grow, protect or custom',
  sales_channel STRING NOT NULL COMMENT 'holding_company, independent_agency or client_direct',
  deal_structure STRING NOT NULL COMMENT 'tiered or flat_commit',
  region STRING NOT NULL COMMENT 'northeast, midwest, midatlantic, west or south',
  advertiser_name STRING COMMENT 'Advertiser as submitted (required for client_direct)',
  agency_name STRING COMMENT 'Agency as submitted (required for agency channels)',
  advertiser_id BIGINT COMMENT 'advertisers.id when the name resolves',
  agency_id BIGINT COMMENT 'agencies.id when the name resolves',
  business_summary STRING COMMENT 'Free text, at most 10,000 characters',
  growth_opportunity_miq STRING COMMENT 'Growth opportunity for us, free text',
  growth_opportunity_client STRING COMMENT 'Growth opportunity for the client, free text',
  client_asks STRING COMMENT 'What the client asks for, free text',
  growth_ambition DOUBLE COMMENT 'Growth ambition in USD, at least 1,000,000 when present',
  term_start_date DATE COMMENT 'Contract start date',
  term_end_date DATE COMMENT 'Contract end date, strictly after the start',
  contract_term INT NOT NULL DEFAULT 12 COMMENT 'Months, derived from the dates: round(days / 30.44), at least 1',
  previous_year_revenue DOUBLE NOT NULL DEFAULT 0 COMMENT 'Revenue with this client last year, USD',
  previous_year_margin DOUBLE NOT NULL DEFAULT 0 COMMENT 'Margin with this client last year as a decimal',
  deal_value DOUBLE NOT NULL DEFAULT 0 COMMENT 'Sum of annual_revenue over the tiers, USD: the basis of the approval ladder',
  total_incentive_cost DOUBLE NOT NULL DEFAULT 0 COMMENT 'Sum of every incentive value, USD',
  required_approval_level STRING COMMENT 'Business approval the deal value needs (manager, director, vp, svp); null below the ladder',
  status STRING NOT NULL DEFAULT 'submitted' COMMENT 'Workflow status; every change has one deal_status_history row',
  draft_type STRING COMMENT 'scoping_draft or submission_draft for drafts',
  revision_count INT NOT NULL DEFAULT 0 COMMENT 'Number of resubmissions; the current approval round',
  is_revision BOOLEAN NOT NULL DEFAULT false COMMENT 'True once the deal was resubmitted after a revision request',
  parent_submission_id BIGINT COMMENT 'deals.id of the submission this one revises',
  revision_reason STRING COMMENT 'Why the latest revision was requested or made',
  last_revised_at TIMESTAMP COMMENT 'Business time of the latest resubmission (UTC)',
  can_edit BOOLEAN NOT NULL DEFAULT true COMMENT 'Whether the seller may still edit the deal in the app',
  draft_expires_at TIMESTAMP COMMENT 'Drafts not submitted by then are closed as lost',
  last_status_change TIMESTAMP COMMENT 'Business time of the latest status change (UTC)',
  priority STRING NOT NULL DEFAULT 'medium' COMMENT 'critical, high, medium or low: sets approval SLAs',
  flow_intelligence STRING COMMENT 'on_track or needs_attention, recomputed by monitoring',
  submitted_at TIMESTAMP COMMENT 'Business time of the first non-draft submission (UTC)',
  validation_warnings STRING COMMENT 'Warnings recorded when the submission was accepted: JSON array of {field, rule, message, value}',
  source_event_id STRING COMMENT 'Event that last changed this row',
  created_at TIMESTAMP NOT NULL DEFAULT current_timestamp() COMMENT 'Business time the deal was first received (UTC)',
  updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp() COMMENT 'When the row last changed (UTC)'
) USING DELTA
COMMENT 'One row per deal submitted through the Deal Desk, with its current status'
${location:deals}
TBLPROPERTIES (
  'delta.enableDeletionVectors' = 'true',
  'delta.feature.allowColumnDefaults' = 'supported'
);

ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_reference_number_format
  CHECK (reference_number RLIKE '^DEAL-[0-9]{4}-[0-9]{3,}$');
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_deal_name_length
  CHECK (char_length(trim(deal_name)) BETWEEN 1 AND 500);
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_deal_type_valid
  CHECK (deal_type IN ('grow', 'protect', 'custom'));
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_sales_channel_valid
  CHECK (sales_channel IN ('holding_company', 'independent_agency', 'client_direct'));
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_deal_structure_valid
  CHECK (deal_structure IN ('tiered', 'flat_commit'));
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_region_valid
  CHECK (region IN ('northeast', 'midwest', 'midatlantic', 'west', 'south'));
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_status_valid
  CHECK (status IN ('draft', 'scoping', 'converted', 'submitted', 'under_review', 'revision_requested',
                    'negotiating', 'approved', 'contract_drafting', 'client_review', 'signed', 'lost'));
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_draft_type_valid
  CHECK (draft_type IS NULL OR draft_type IN ('scoping_draft', 'submission_draft'));
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_priority_valid
  CHECK (priority IN ('critical', 'high', 'medium', 'low'));
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_flow_intelligence_valid
  CHECK (flow_intelligence IS NULL OR flow_intelligence IN ('on_track', 'needs_attention'));
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_required_approval_level_valid
  CHECK (required_approval_level IS NULL OR required_approval_level IN ('manager', 'director', 'vp', 'svp'));
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_growth_ambition_minimum
  CHECK (growth_ambition IS NULL OR growth_ambition >= 1000000);
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_term_dates_ordered
  CHECK (term_start_date IS NULL OR term_end_date IS NULL OR term_end_date > term_start_date);
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_contract_term_positive
  CHECK (contract_term >= 1);
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_previous_year_figures_valid
  CHECK (previous_year_revenue >= 0 AND previous_year_margin BETWEEN 0 AND 1);
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_amounts_non_negative
  CHECK (deal_value >= 0 AND total_incentive_cost >= 0);
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_revision_count_non_negative
  CHECK (revision_count >= 0);
