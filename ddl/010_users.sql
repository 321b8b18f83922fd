CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.users (
  id BIGINT NOT NULL COMMENT 'Deterministic key: 64-bit hash of the lower-cased e-mail',
  username STRING NOT NULL COMMENT 'Sign-in name (unique)',
  email STRING NOT NULL COMMENT 'E-mail address, lower-case (unique): the natural key',
  role STRING NOT NULL COMMENT 'seller, department_reviewer, approver or admin',
  department STRING COMMENT 'trading, finance, creative, marketing, product, solutions or legal; null for none',
  approval_level STRING COMMENT 'Highest business approval an approver may give: manager, director, vp or svp',
  first_name STRING COMMENT 'Given name',
  last_name STRING COMMENT 'Family name',
  is_active BOOLEAN NOT NULL DEFAULT true COMMENT 'False once the person left the identity provider; users are never deleted',
  external_id STRING COMMENT 'Subject id in the identity provider (Okta, through the workspace directory)',
  source_event_id STRING COMMENT 'Event that last changed this row',
  created_at TIMESTAMP NOT NULL DEFAULT current_timestamp() COMMENT 'When the row was first written (UTC)',
  updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp() COMMENT 'When the row last changed (UTC)'
) USING DELTA
COMMENT 'People who submit, review and approve deals, from the identity provider. No credentials are kept.'
${location:users}
TBLPROPERTIES (
  'delta.enableDeletionVectors' = 'true',
  'delta.feature.allowColumnDefaults' = 'supported'
);

ALTER TABLE ${catalog}.${schema}.users ADD CONSTRAINT users_role_valid
  CHECK (role IN ('seller', 'department_reviewer', 'approver', 'admin'));
ALTER TABLE ${catalog}.${schema}.users ADD CONSTRAINT users_department_valid
  CHECK (department IS NULL OR department IN ('trading', 'finance', 'creative', 'marketing', 'product', 'solutions', 'legal'));
ALTER TABLE ${catalog}.${schema}.users ADD CONSTRAINT users_approval_level_valid
  CHECK (approval_level IS NULL OR approval_level IN ('manager', 'director', 'vp', 'svp'));
ALTER TABLE ${catalog}.${schema}.users ADD CONSTRAINT users_email_lower_case
  CHECK (email = lower(email));
