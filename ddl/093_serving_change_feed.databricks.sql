-- The read models the serving database follows continuously: Lakebase synced tables in
-- continuous (and triggered) mode read the change data feed of their source tables.
ALTER TABLE ${catalog}.${schema}.app_deals SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true');
ALTER TABLE ${catalog}.${schema}.app_approval_queue SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true');
ALTER TABLE ${catalog}.${schema}.app_deal_history SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true');
ALTER TABLE ${catalog}.${schema}.app_document_outcomes SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true');
ALTER TABLE ${catalog}.${schema}.app_people SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true');
