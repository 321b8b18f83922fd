-- The schema and the migration ledger. The runner applies this file first at
-- every start: it must stay idempotent.
CREATE SCHEMA IF NOT EXISTS ${catalog}.${schema}
COMMENT 'Deal Desk system of record: deals, approvals and their audit trail'
${schema_location};

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.schema_migrations (
  version INT NOT NULL COMMENT 'Number prefix of the DDL file',
  name STRING NOT NULL COMMENT 'DDL file name',
  checksum STRING NOT NULL COMMENT 'SHA-256 of the file text as applied; a changed file is refused',
  engine STRING NOT NULL COMMENT 'Engine that applied it: local or databricks',
  statements INT NOT NULL COMMENT 'Number of statements the file holds',
  applied_at TIMESTAMP NOT NULL COMMENT 'When the file was applied (UTC)'
) USING DELTA
COMMENT 'Which numbered DDL files were applied to this schema, when, with which checksum'
${location:schema_migrations}
TBLPROPERTIES ('delta.enableDeletionVectors' = 'true');
