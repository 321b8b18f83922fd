-- Unity Catalog only: the keys of delegations and notifications, their clustering by what the
-- pipeline reads them by (a batch reads the delegations still to start; a run's inbox the
-- notifications of the deals it touched), and the inbox followed by the serving database.
ALTER TABLE ${catalog}.${schema}.delegations ADD CONSTRAINT delegations_pk PRIMARY KEY (id);
ALTER TABLE ${catalog}.${schema}.delegations CLUSTER BY (ends_at);
ALTER TABLE ${catalog}.${schema}.notifications ADD CONSTRAINT notifications_pk PRIMARY KEY (id);
ALTER TABLE ${catalog}.${schema}.notifications CLUSTER BY (deal_id, notify_at);
ALTER TABLE ${catalog}.${schema}.app_inbox ADD CONSTRAINT app_inbox_pk PRIMARY KEY (notification_id);
ALTER TABLE ${catalog}.${schema}.app_inbox SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true');
GRANT SELECT ON TABLE ${catalog}.${schema}.app_inbox TO ${param:analysts_group};
