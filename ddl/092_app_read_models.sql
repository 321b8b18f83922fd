-- The app's read models: one table per screen of the Deal Desk app, kept right by every
-- processing run for the deals, people and documents it touched (refreshed_at: the run's time).
-- Analysts read them on the SQL warehouse; the app reads their copies in the serving database
-- (Lakebase synced tables on Databricks, a local PostgreSQL for a home: schema app).
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.app_deals (
  deal_id BIGINT NOT NULL COMMENT 'deals.id',
  reference_number STRING NOT NULL COMMENT 'DEAL-YYYY-NNN',
  deal_name STRING NOT NULL COMMENT 'Deal name',
  status STRING NOT NULL COMMENT 'Deal status',
  seller_email STRING COMMENT 'E-mail of the seller who submitted the deal',
  seller_name STRING COMMENT 'First and last name of the seller, when known',
  deal_type STRING COMMENT 'grow, protect or custom',
  sales_channel STRING COMMENT 'holding_company, independent_agency or client_direct',
  deal_structure STRING COMMENT 'tiered or flat_commit',
  region STRING COMMENT 'Region',
  advertiser_name STRING COMMENT 'Advertiser (client) name',
  agency_name STRING COMMENT 'Agency name',
  deal_value DOUBLE NOT NULL COMMENT 'Sum of the tiers annual revenue (USD): the basis of the approval ladder',
  total_incentive_cost DOUBLE NOT NULL COMMENT 'Sum of the incentive values (USD)',
  required_approval_level STRING COMMENT 'manager, director, vp or svp; null below the ladder',
  priority STRING NOT NULL COMMENT 'Deal priority',
  revision_count INT NOT NULL COMMENT 'Resubmissions so far: the current approval round',
  flow_intelligence STRING COMMENT 'on_track or needs_attention, as of the last monitoring',
  term_start_date DATE COMMENT 'Contract start',
  term_end_date DATE COMMENT 'Contract end',
  submitted_at TIMESTAMP COMMENT 'First submission (UTC)',
  last_status_change TIMESTAMP COMMENT 'Business time of the last status change (UTC)',
  created_at TIMESTAMP NOT NULL COMMENT 'Business time the deal was created (UTC)',
  updated_at TIMESTAMP NOT NULL COMMENT 'Business time of the last change (UTC)',
  tiers STRING NOT NULL COMMENT 'The tiers with their incentives: JSON array of {tier_number, annual_revenue, annual_gross_margin, incentives}',
  approvals STRING NOT NULL COMMENT 'The approvals of the current round: JSON array of {approval_id, stage, department, level, status, priority, assignee_email, due_date}',
  review_departments STRING NOT NULL COMMENT 'Departments reviewing the deal in any round: JSON array (row-level security)',
  refreshed_at TIMESTAMP NOT NULL COMMENT 'When a processing run last wrote the row (UTC)'
) USING DELTA
COMMENT 'The app deal screen: a deal with its figures, level, tiers and current approvals'
${location:app_deals}
TBLPROPERTIES ('delta.enableDeletionVectors' = 'true');

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.app_approval_queue (
  approval_id BIGINT NOT NULL COMMENT 'deal_approvals.id',
  deal_id BIGINT NOT NULL COMMENT 'deals.id',
  reference_number STRING NOT NULL COMMENT 'The deal reference',
  deal_name STRING NOT NULL COMMENT 'The deal name',
  deal_status STRING NOT NULL COMMENT 'The deal status',
  deal_value DOUBLE NOT NULL COMMENT 'The deal value (USD)',
  seller_email STRING COMMENT 'The deal seller (row-level security)',
  approval_round INT NOT NULL COMMENT 'Round of the approval',
  approval_stage INT NOT NULL COMMENT '1 department review, 2 business approval',
  department STRING NOT NULL COMMENT 'Department of the approval',
  approval_level STRING COMMENT 'Level of a stage-2 approval',
  status STRING NOT NULL COMMENT 'pending, approved, rejected or revision_requested',
  priority STRING NOT NULL COMMENT 'normal, high or urgent',
  assignee_email STRING COMMENT 'E-mail of the person it is assigned to; null when unassigned',
  assignee_name STRING COMMENT 'Name of the assignee, when known',
  due_date TIMESTAMP NOT NULL COMMENT 'When a decision is due (UTC)',
  is_open BOOLEAN NOT NULL COMMENT 'Pending, of the current round, the deal in review: in a queue',
  created_at TIMESTAMP NOT NULL COMMENT 'When the approval was created (UTC)',
  updated_at TIMESTAMP NOT NULL COMMENT 'Business time of its last change (UTC)',
  refreshed_at TIMESTAMP NOT NULL COMMENT 'When a processing run last wrote the row (UTC)'
) USING DELTA
COMMENT 'The app approval queues: every approval with its deal and assignee; is_open marks the queue'
${location:app_approval_queue}
TBLPROPERTIES ('delta.enableDeletionVectors' = 'true');

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.app_deal_history (
  entry_id STRING NOT NULL COMMENT 'status-<deal_status_history.id> or action-<approval_actions.id>',
  deal_id BIGINT NOT NULL COMMENT 'deals.id',
  reference_number STRING NOT NULL COMMENT 'The deal reference',
  happened_at TIMESTAMP NOT NULL COMMENT 'Business time of the entry (UTC)',
  entry_kind STRING NOT NULL COMMENT 'status_change or approval_action',
  seq INT COMMENT 'deal_status_history.seq of a status change (the order of application)',
  previous_status STRING COMMENT 'Status before a status change',
  status STRING COMMENT 'Status after a status change',
  action STRING COMMENT 'Action of an approval action (approve, reject, request_revision, comment, assign, initiate)',
  approval_stage INT COMMENT 'Stage of the approval an action is on',
  department STRING COMMENT 'Department of the approval an action is on',
  performer_email STRING COMMENT 'Who did it; null for the desk itself (routing, monitoring)',
  performer_name STRING COMMENT 'Their name, when known',
  comments STRING COMMENT 'Comments',
  source_event_id STRING COMMENT 'The document (or timer) that caused it',
  seller_email STRING COMMENT 'The deal seller (row-level security)',
  review_departments STRING NOT NULL COMMENT 'Departments reviewing the deal: JSON array (row-level security)',
  refreshed_at TIMESTAMP NOT NULL COMMENT 'When a processing run last wrote the row (UTC)'
) USING DELTA
COMMENT 'The app deal history: status changes and approval actions with names, in business-time order'
${location:app_deal_history}
TBLPROPERTIES ('delta.enableDeletionVectors' = 'true');

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.app_document_outcomes (
  event_id STRING NOT NULL COMMENT 'The document event_id',
  kind STRING COMMENT 'Document kind; null for a line that could not be read',
  outcome STRING NOT NULL COMMENT 'applied or rejected',
  reference_number STRING COMMENT 'The deal the document produced or names',
  reasons STRING COMMENT 'Why it was rejected: JSON array of {field, rule, message, value}; null when applied',
  sent_by STRING COMMENT 'submitted_by or performed_by of the document, lower-cased (row-level security)',
  source_file STRING COMMENT 'Landing file of a rejected document',
  line_number BIGINT COMMENT 'Its line in that file',
  decided_at TIMESTAMP NOT NULL COMMENT 'When the outcome was decided (UTC)',
  refreshed_at TIMESTAMP NOT NULL COMMENT 'When a processing run last wrote the row (UTC)'
) USING DELTA
COMMENT 'The app view of what became of each document: the outcome of every document, by event_id'
${location:app_document_outcomes}
TBLPROPERTIES ('delta.enableDeletionVectors' = 'true');

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.app_people (
  email STRING NOT NULL COMMENT 'The person e-mail (lower-case): the app names its user by it',
  display_name STRING COMMENT 'First and last name',
  role STRING NOT NULL COMMENT 'seller, department_reviewer, approver or admin',
  department STRING COMMENT 'Department of a reviewer',
  approval_level STRING COMMENT 'Level of an approver',
  is_active BOOLEAN NOT NULL COMMENT 'Whether the person is active',
  refreshed_at TIMESTAMP NOT NULL COMMENT 'When a processing run last wrote the row (UTC)'
) USING DELTA
COMMENT 'The people the row-level security of the serving database reads: role and department by e-mail'
${location:app_people}
TBLPROPERTIES ('delta.enableDeletionVectors' = 'true');
