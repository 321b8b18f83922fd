-- landed_files is append-only audit like raw_documents (which file was taken, when, with which
-- checksum) but was created without the 7-year retention the other audit tables have.
ALTER TABLE ${catalog}.${schema}.landed_files SET TBLPROPERTIES (
  'delta.logRetentionDuration' = 'interval 2557 days',
  'delta.deletedFileRetentionDuration' = 'interval 2557 days'
);
