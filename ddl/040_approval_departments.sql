CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.approval_departments (
  department STRING NOT NULL COMMENT 'Department key, as in users.department and deal_approvals.department',
  display_name STRING NOT NULL COMMENT 'Name shown to people',
  contact_email STRING COMMENT 'Shared mailbox of the department',
  default_assignee_email STRING COMMENT 'Reviewer who gets stage-1 approvals first, while active',
  incentive_types STRING NOT NULL COMMENT 'Incentive categories whose presence routes a deal to this department: JSON array',
  is_active BOOLEAN NOT NULL DEFAULT true COMMENT 'Inactive departments are not routed to',
  created_at TIMESTAMP NOT NULL DEFAULT current_timestamp() COMMENT 'When the row was first written (UTC)',
  updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp() COMMENT 'When the row last changed (UTC)'
) USING DELTA
COMMENT 'Department configuration for routing: which incentive categories each department reviews'
${location:approval_departments}
TBLPROPERTIES (
  'delta.enableDeletionVectors' = 'true',
  'delta.feature.allowColumnDefaults' = 'supported'
);

ALTER TABLE ${catalog}.${schema}.approval_departments ADD CONSTRAINT approval_departments_department_valid
  CHECK (department IN ('trading', 'finance', 'creative', 'marketing', 'product', 'solutions', 'legal'));

-- Seed the category map of the business rules (section 3); rows that exist are left as configured.
INSERT INTO ${catalog}.${schema}.approval_departments
  (department, display_name, contact_email, default_assignee_email, incentive_types, is_active, created_at, updated_at)
SELECT seed.department, seed.display_name, CAST(NULL AS STRING) AS contact_email,
       CAST(NULL AS STRING) AS default_assignee_email, seed.incentive_types, true AS is_active,
       current_timestamp() AS created_at, current_timestamp() AS updated_at
FROM (
  SELECT 'trading' AS department, 'Trading' AS display_name, '[]' AS incentive_types
  UNION ALL SELECT 'finance', 'Finance', '["financial", "resources"]'
  UNION ALL SELECT 'creative', 'Creative', '["product-innovation"]'
  UNION ALL SELECT 'product', 'Product', '["technology"]'
  UNION ALL SELECT 'solutions', 'Solutions', '["analytics"]'
  UNION ALL SELECT 'marketing', 'Marketing', '["marketing"]'
  UNION ALL SELECT 'legal', 'Legal', '[]'
) AS seed
LEFT ANTI JOIN ${catalog}.${schema}.approval_departments AS existing
  ON existing.department = seed.department;
