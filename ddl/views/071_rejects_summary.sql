-- Rejections by day and rule: what the senders get wrong most, and what is still waiting for a replay.
CREATE OR REPLACE VIEW ${catalog}.${schema}.rejects_summary (
  rejected_day COMMENT 'Day of the rejection (UTC)',
  kind COMMENT 'Document kind',
  rule COMMENT 'Failing rule',
  documents COMMENT 'Documents rejected by the rule that day',
  open_documents COMMENT 'Of those, documents still rejected',
  replayed_documents COMMENT 'Of those, documents a replay accepted since',
  reasons COMMENT 'Failures of the rule (a document can fail a rule on several fields)',
  fields COMMENT 'Fields the rule failed on, comma separated'
)
COMMENT 'Rejected documents by day and rule, with how many are still open and how many were replayed'
AS
SELECT
  rejected_day,
  kind,
  coalesce(rule, 'unknown') AS rule,
  count(DISTINCT event_id) AS documents,
  count(DISTINCT CASE WHEN is_open THEN event_id END) AS open_documents,
  count(DISTINCT CASE WHEN NOT is_open THEN event_id END) AS replayed_documents,
  count(*) AS reasons,
  concat_ws(', ', sort_array(collect_set(field))) AS fields
FROM ${catalog}.${schema}.rejection_reasons
GROUP BY rejected_day, kind, coalesce(rule, 'unknown');
