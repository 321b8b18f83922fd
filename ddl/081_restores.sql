-- Every restore, by whom, of which table, from which version to which: kept 7 years like the
-- other audit tables, and never restored itself.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.restores (
  restore_id STRING NOT NULL COMMENT 'One id per restore command; every table it restored shares it',
  table_name STRING NOT NULL COMMENT 'Table of this schema that was restored',
  restored_from_version BIGINT NOT NULL COMMENT 'Delta version of the table before the restore',
  restored_to_version BIGINT NOT NULL COMMENT 'Delta version of the table whose data was put back',
  new_version BIGINT NOT NULL COMMENT 'Delta version the restore committed',
  target_kind STRING NOT NULL COMMENT 'What was asked: version, timestamp or backup',
  target STRING NOT NULL COMMENT 'The version, timestamp or backup id asked for',
  backup_id STRING COMMENT 'backups.backup_id the data came from; null for time travel',
  rows_before BIGINT NOT NULL COMMENT 'Rows of the table before the restore',
  rows_after BIGINT NOT NULL COMMENT 'Rows of the table after the restore',
  restored_by STRING NOT NULL COMMENT 'Who ran the restore: the workspace user, or the local user name',
  engine STRING NOT NULL COMMENT 'Engine that ran it: local, spark or databricks',
  restored_at TIMESTAMP NOT NULL COMMENT 'When the restore was committed (UTC)'
) USING DELTA
COMMENT 'Every restore of a table: who, what, from which version to which. Append-only audit trail, kept 7 years.'
${location:restores}
TBLPROPERTIES (
  'delta.appendOnly' = 'true',
  'delta.enableDeletionVectors' = 'true',
  'delta.logRetentionDuration' = 'interval 2557 days',
  'delta.deletedFileRetentionDuration' = 'interval 2557 days'
);

ALTER TABLE ${catalog}.${schema}.restores ADD CONSTRAINT restores_target_kind_valid
  CHECK (target_kind IN ('version', 'timestamp', 'backup'));
