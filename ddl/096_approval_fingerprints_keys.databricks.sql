-- Unity Catalog only: the key of approval_fingerprints and its clustering by the deal and round
-- the pipeline reads it by (a batch reads the rows of the deals it touches).
ALTER TABLE ${catalog}.${schema}.approval_fingerprints ADD CONSTRAINT approval_fingerprints_pk PRIMARY KEY (approval_id);
ALTER TABLE ${catalog}.${schema}.approval_fingerprints ADD CONSTRAINT approval_fingerprints_approval_fk
  FOREIGN KEY (approval_id) REFERENCES ${catalog}.${schema}.deal_approvals (id);
ALTER TABLE ${catalog}.${schema}.approval_fingerprints CLUSTER BY (deal_id, approval_round);
