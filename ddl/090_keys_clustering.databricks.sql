-- Unity Catalog only: informational keys, liquid clustering for the seed's
-- indexes, and the change data feed. The local engine has none of these.
ALTER TABLE ${catalog}.${schema}.users ADD CONSTRAINT users_pk PRIMARY KEY (id);
ALTER TABLE ${catalog}.${schema}.advertisers ADD CONSTRAINT advertisers_pk PRIMARY KEY (id);
ALTER TABLE ${catalog}.${schema}.agencies ADD CONSTRAINT agencies_pk PRIMARY KEY (id);
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_pk PRIMARY KEY (id);
ALTER TABLE ${catalog}.${schema}.deal_tiers ADD CONSTRAINT deal_tiers_pk PRIMARY KEY (id);
ALTER TABLE ${catalog}.${schema}.incentive_values ADD CONSTRAINT incentive_values_pk PRIMARY KEY (id);
ALTER TABLE ${catalog}.${schema}.deal_scoping_requests ADD CONSTRAINT deal_scoping_requests_pk PRIMARY KEY (id);
ALTER TABLE ${catalog}.${schema}.deal_approvals ADD CONSTRAINT deal_approvals_pk PRIMARY KEY (id);
ALTER TABLE ${catalog}.${schema}.approval_actions ADD CONSTRAINT approval_actions_pk PRIMARY KEY (id);
ALTER TABLE ${catalog}.${schema}.deal_status_history ADD CONSTRAINT deal_status_history_pk PRIMARY KEY (id);
ALTER TABLE ${catalog}.${schema}.approval_departments ADD CONSTRAINT approval_departments_pk PRIMARY KEY (department);

ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_advertiser_fk
  FOREIGN KEY (advertiser_id) REFERENCES ${catalog}.${schema}.advertisers (id);
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_agency_fk
  FOREIGN KEY (agency_id) REFERENCES ${catalog}.${schema}.agencies (id);
ALTER TABLE ${catalog}.${schema}.deals ADD CONSTRAINT deals_parent_fk
  FOREIGN KEY (parent_submission_id) REFERENCES ${catalog}.${schema}.deals (id);
ALTER TABLE ${catalog}.${schema}.deal_tiers ADD CONSTRAINT deal_tiers_deal_fk
  FOREIGN KEY (deal_id) REFERENCES ${catalog}.${schema}.deals (id);
ALTER TABLE ${catalog}.${schema}.incentive_values ADD CONSTRAINT incentive_values_deal_fk
  FOREIGN KEY (deal_id) REFERENCES ${catalog}.${schema}.deals (id);
ALTER TABLE ${catalog}.${schema}.deal_scoping_requests ADD CONSTRAINT scoping_converted_deal_fk
  FOREIGN KEY (converted_deal_id) REFERENCES ${catalog}.${schema}.deals (id);
ALTER TABLE ${catalog}.${schema}.deal_approvals ADD CONSTRAINT deal_approvals_deal_fk
  FOREIGN KEY (deal_id) REFERENCES ${catalog}.${schema}.deals (id);
ALTER TABLE ${catalog}.${schema}.deal_approvals ADD CONSTRAINT deal_approvals_assignee_fk
  FOREIGN KEY (assigned_to) REFERENCES ${catalog}.${schema}.users (id);
ALTER TABLE ${catalog}.${schema}.approval_actions ADD CONSTRAINT approval_actions_approval_fk
  FOREIGN KEY (approval_id) REFERENCES ${catalog}.${schema}.deal_approvals (id);
ALTER TABLE ${catalog}.${schema}.approval_actions ADD CONSTRAINT approval_actions_performer_fk
  FOREIGN KEY (performed_by) REFERENCES ${catalog}.${schema}.users (id);
ALTER TABLE ${catalog}.${schema}.deal_status_history ADD CONSTRAINT status_history_deal_fk
  FOREIGN KEY (deal_id) REFERENCES ${catalog}.${schema}.deals (id);
ALTER TABLE ${catalog}.${schema}.deal_status_history ADD CONSTRAINT status_history_performer_fk
  FOREIGN KEY (performed_by) REFERENCES ${catalog}.${schema}.users (id);

-- Liquid clustering in place of the seed's indexes.
ALTER TABLE ${catalog}.${schema}.deals CLUSTER BY (status, created_at);
ALTER TABLE ${catalog}.${schema}.deal_approvals CLUSTER BY (assigned_to, status, department);
ALTER TABLE ${catalog}.${schema}.deal_status_history CLUSTER BY (deal_id, changed_at);
ALTER TABLE ${catalog}.${schema}.deal_tiers CLUSTER BY (deal_id, tier_number);
ALTER TABLE ${catalog}.${schema}.approval_actions CLUSTER BY (approval_id, created_at);
ALTER TABLE ${catalog}.${schema}.users CLUSTER BY (email, role, department);

-- Change data feed on the tables downstream consumers follow.
ALTER TABLE ${catalog}.${schema}.deals SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true');
ALTER TABLE ${catalog}.${schema}.deal_approvals SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true');
ALTER TABLE ${catalog}.${schema}.deal_status_history SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true');
ALTER TABLE ${catalog}.${schema}.approval_actions SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true');
