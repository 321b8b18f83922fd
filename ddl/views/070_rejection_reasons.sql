-- Rejected documents with their reasons unpacked from the JSON text: one row per reason.
CREATE OR REPLACE VIEW ${catalog}.${schema}.rejection_reasons (
  event_id COMMENT 'Event id of the rejected document',
  kind COMMENT 'Document kind; unreadable when the line could not be read',
  source_file COMMENT 'Landing file the document came from',
  line_number COMMENT 'Line number within the file',
  rejected_at COMMENT 'When the document was (last) rejected (UTC)',
  rejected_day COMMENT 'Day of the rejection (UTC)',
  run_id COMMENT 'job_runs.run_id of the rejecting run',
  is_open COMMENT 'Still rejected: no replay has accepted it',
  replayed_at COMMENT 'When a replay accepted the document',
  replay_run_id COMMENT 'job_runs.run_id of the accepting replay',
  field COMMENT 'Field the rule checked',
  rule COMMENT 'Name of the failing rule',
  message COMMENT 'What is wrong, in words',
  value COMMENT 'The offending input as text'
)
COMMENT 'One row per reason of each rejected document: field, rule, message and offending value'
AS
SELECT
  r.event_id,
  coalesce(r.kind, 'unreadable') AS kind,
  r.source_file,
  r.line_number,
  r.rejected_at,
  CAST(r.rejected_at AS DATE) AS rejected_day,
  r.run_id,
  r.replayed_at IS NULL AS is_open,
  r.replayed_at,
  r.replay_run_id,
  reason.field,
  reason.rule,
  reason.message,
  reason.value
FROM (
  -- The filter keeps every row: it is there because the local engine's from_json fails on an empty
  -- batch of rows (its schema argument comes as an empty column), which the scan of a table gives
  -- once a MERGE has replaced rows (a replay stamps replayed_at); a filter passes no empty batch on.
  SELECT * FROM ${catalog}.${schema}.rejected_documents WHERE coalesce(length(reasons), 0) >= 0
) AS r
LATERAL VIEW OUTER explode(
  from_json(r.reasons, 'ARRAY<STRUCT<field: STRING, rule: STRING, message: STRING, value: STRING>>')
) reasons AS reason;
