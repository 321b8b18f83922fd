-- Unity Catalog only: who sees which deals, and who sees the money.
-- The principals are DDL parameters (dealdesk migrate --param NAME=VALUE) that the bundle passes:
--   every deal:        the admins and analysts groups (analysts reach deals only through the
--                      reporting views) and job_principal, the identity the jobs run as
--   own deals:         a seller, by the signed-in e-mail (deals.email)
--   routed deals:      the assignee of an approval of the deal, and a department reviewer for the
--                      stage-1 approvals of their department (users.department)
-- Financial figures read NULL for anyone outside the deal desk groups and the jobs.
-- Without the jobs in both functions a MERGE would not see the rows it has to match.

CREATE OR REPLACE FUNCTION ${catalog}.${schema}.deals_row_filter(row_deal_id BIGINT, row_seller_email STRING)
RETURNS BOOLEAN
COMMENT 'Row filter of deals: admins, analysts and the jobs see every deal, sellers their own, reviewers and approvers the deals routed to them'
RETURN is_account_group_member(${param_string:admins_group})
  OR is_account_group_member(${param_string:analysts_group})
  OR current_user() = ${param_string:job_principal}
  OR row_seller_email = lower(current_user())
  OR EXISTS (
    SELECT 1
    FROM ${catalog}.${schema}.deal_approvals AS approval
    JOIN ${catalog}.${schema}.users AS person
      ON person.email = lower(current_user()) AND person.is_active
    WHERE approval.deal_id = row_deal_id
      AND (approval.assigned_to = person.id
           OR (person.role = 'department_reviewer'
               AND approval.approval_stage = 1
               AND approval.department = person.department))
  );

CREATE OR REPLACE FUNCTION ${catalog}.${schema}.financial_mask(amount DOUBLE)
RETURNS DOUBLE
COMMENT 'Column mask of financial figures: the value for the deal desk groups and the jobs, NULL for everyone else'
RETURN CASE
  WHEN is_account_group_member(${param_string:admins_group})
    OR is_account_group_member(${param_string:analysts_group})
    OR is_account_group_member(${param_string:sellers_group})
    OR is_account_group_member(${param_string:reviewers_group})
    OR is_account_group_member(${param_string:approvers_group})
    OR current_user() = ${param_string:job_principal}
  THEN amount
END;

ALTER TABLE ${catalog}.${schema}.deals
  SET ROW FILTER ${catalog}.${schema}.deals_row_filter ON (id, email);

ALTER TABLE ${catalog}.${schema}.deals ALTER COLUMN deal_value SET MASK ${catalog}.${schema}.financial_mask;
ALTER TABLE ${catalog}.${schema}.deals ALTER COLUMN total_incentive_cost SET MASK ${catalog}.${schema}.financial_mask;
ALTER TABLE ${catalog}.${schema}.deals ALTER COLUMN previous_year_revenue SET MASK ${catalog}.${schema}.financial_mask;
ALTER TABLE ${catalog}.${schema}.deals ALTER COLUMN previous_year_margin SET MASK ${catalog}.${schema}.financial_mask;
ALTER TABLE ${catalog}.${schema}.deals ALTER COLUMN growth_ambition SET MASK ${catalog}.${schema}.financial_mask;

ALTER TABLE ${catalog}.${schema}.deal_tiers ALTER COLUMN annual_revenue SET MASK ${catalog}.${schema}.financial_mask;
ALTER TABLE ${catalog}.${schema}.deal_tiers ALTER COLUMN annual_gross_margin SET MASK ${catalog}.${schema}.financial_mask;
ALTER TABLE ${catalog}.${schema}.deal_tiers ALTER COLUMN incentive_value SET MASK ${catalog}.${schema}.financial_mask;

ALTER TABLE ${catalog}.${schema}.incentive_values ALTER COLUMN value SET MASK ${catalog}.${schema}.financial_mask;

ALTER TABLE ${catalog}.${schema}.deal_scoping_requests ALTER COLUMN growth_ambition SET MASK ${catalog}.${schema}.financial_mask;

ALTER TABLE ${catalog}.${schema}.advertisers ALTER COLUMN previous_year_revenue SET MASK ${catalog}.${schema}.financial_mask;
ALTER TABLE ${catalog}.${schema}.advertisers ALTER COLUMN previous_year_margin SET MASK ${catalog}.${schema}.financial_mask;
ALTER TABLE ${catalog}.${schema}.advertisers ALTER COLUMN previous_year_profit SET MASK ${catalog}.${schema}.financial_mask;
ALTER TABLE ${catalog}.${schema}.advertisers ALTER COLUMN previous_year_incentive_cost SET MASK ${catalog}.${schema}.financial_mask;
ALTER TABLE ${catalog}.${schema}.advertisers ALTER COLUMN previous_year_client_value SET MASK ${catalog}.${schema}.financial_mask;

ALTER TABLE ${catalog}.${schema}.agencies ALTER COLUMN previous_year_revenue SET MASK ${catalog}.${schema}.financial_mask;
ALTER TABLE ${catalog}.${schema}.agencies ALTER COLUMN previous_year_margin SET MASK ${catalog}.${schema}.financial_mask;
ALTER TABLE ${catalog}.${schema}.agencies ALTER COLUMN previous_year_profit SET MASK ${catalog}.${schema}.financial_mask;
ALTER TABLE ${catalog}.${schema}.agencies ALTER COLUMN previous_year_incentive_cost SET MASK ${catalog}.${schema}.financial_mask;
ALTER TABLE ${catalog}.${schema}.agencies ALTER COLUMN previous_year_client_value SET MASK ${catalog}.${schema}.financial_mask;
