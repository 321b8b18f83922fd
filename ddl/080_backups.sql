-- Restore points written by `dealdesk backup` and the backup job: one row per table per backup.
-- The copies live in the backup schema (<schema>_backup), one table per source table; each backup
-- is a new version of that copy. Only the backup command writes here; it prunes its own rows.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.backups (
  backup_id STRING NOT NULL COMMENT 'Restore point: the UTC time the backup started, as YYYYMMDDTHHMMSSffffffZ',
  table_name STRING NOT NULL COMMENT 'Table of this schema that was copied',
  source_version BIGINT NOT NULL COMMENT 'Delta version of the table that was copied',
  backup_version BIGINT NOT NULL COMMENT 'Delta version of the copy in the backup schema that holds it',
  row_count BIGINT NOT NULL COMMENT 'Rows copied',
  engine STRING NOT NULL COMMENT 'Engine that made the copy: local, spark or databricks',
  method STRING NOT NULL COMMENT 'How the copy was made: DEEP CLONE (Databricks) or CTAS (a full copy)',
  backed_up_at TIMESTAMP NOT NULL COMMENT 'When the copy was made (UTC)'
) USING DELTA
COMMENT 'Restore points: which version of each table every backup copied, into which version of its copy'
${location:backups}
TBLPROPERTIES ('delta.enableDeletionVectors' = 'true');

ALTER TABLE ${catalog}.${schema}.backups ADD CONSTRAINT backups_versions_valid
  CHECK (source_version >= 0 AND backup_version >= 0 AND row_count >= 0);
