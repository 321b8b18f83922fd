-- The read models the serving database follows continuously: Lakebase synced tables in
-- continuous (and triggered) mode read the change data feed of their source tables.
ALTER TABLE ${catalog}.${schema}.app_deals SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true');
ALTER TABLE ${catalog}.${schema}.app_approval_queue SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true');
ALTER TABLE ${catalog}.${schema}.app_deal_history SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true');
ALTER TABLE ${catalog}.${schema}.app_document_outcomes SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true');
ALTER TABLE ${catalog}.${schema}.app_people SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true');

-- The analysts read the read models on the SQL warehouse like the reporting views. The tables
-- carry no row filter (a synced table's source cannot have one): only the analysts, who see
-- every deal, and the jobs read them; the app reads its copy under row-level security.
GRANT SELECT ON TABLE ${catalog}.${schema}.app_deals TO ${param:analysts_group};
GRANT SELECT ON TABLE ${catalog}.${schema}.app_approval_queue TO ${param:analysts_group};
GRANT SELECT ON TABLE ${catalog}.${schema}.app_deal_history TO ${param:analysts_group};
GRANT SELECT ON TABLE ${catalog}.${schema}.app_document_outcomes TO ${param:analysts_group};
GRANT SELECT ON TABLE ${catalog}.${schema}.app_people TO ${param:analysts_group};
