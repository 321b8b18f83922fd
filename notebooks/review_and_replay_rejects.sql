-- Databricks notebook source
-- MAGIC %md
-- MAGIC # Deal Desk: reviewing and replaying rejected documents
-- MAGIC
-- MAGIC A document that fails validation is never dropped: it is kept in `rejected_documents` with
-- MAGIC every failing rule (field, rule, message, offending value), and `rejection_reasons` shows one
-- MAGIC row per reason. Set **catalog** and **schema** in the widgets above, and an event id for the
-- MAGIC cells about one document.
-- MAGIC
-- MAGIC How a rejected document gets in after all:
-- MAGIC - **The sender fixes it** and sends a corrected copy with the same `event_id`: the next
-- MAGIC   processing run takes it, because an event that is still rejected is not a duplicate.
-- MAGIC - **Something it refers to arrives later** (a user, a deal, reference data): replay the stored
-- MAGIC   document unchanged with the processing job's replay (`dealdesk replay EVENT_ID ...`).
-- MAGIC
-- MAGIC Either way the accepting run stamps `replayed_at` and `replay_run_id`, so the document leaves
-- MAGIC the open list below.

-- COMMAND ----------

CREATE WIDGET TEXT catalog DEFAULT 'main';
CREATE WIDGET TEXT schema DEFAULT 'deal_desk_prod';
CREATE WIDGET TEXT event_id DEFAULT '';

-- COMMAND ----------

USE CATALOG IDENTIFIER(:catalog);
USE SCHEMA IDENTIFIER(:schema);

-- COMMAND ----------

-- MAGIC %md
-- MAGIC ## What is rejected, by day and rule

-- COMMAND ----------

SELECT rejected_day, kind, rule, documents, open_documents, replayed_documents, fields
FROM rejects_summary
WHERE rejected_day >= date_sub(current_date(), 30)
ORDER BY rejected_day DESC, open_documents DESC

-- COMMAND ----------

-- MAGIC %md
-- MAGIC The rules that keep most documents out right now.

-- COMMAND ----------

SELECT kind, rule, count(DISTINCT event_id) AS open_documents, min(rejected_at) AS oldest, max(rejected_at) AS newest
FROM rejection_reasons
WHERE is_open
GROUP BY kind, rule
ORDER BY open_documents DESC

-- COMMAND ----------

-- MAGIC %md
-- MAGIC ## Open rejects, one row per reason
-- MAGIC The event ids to send back to the sender, or to replay once the cause is fixed.

-- COMMAND ----------

SELECT event_id, kind, rejected_at, source_file, line_number, field, rule, message, value
FROM rejection_reasons
WHERE is_open
ORDER BY rejected_at DESC, event_id, field

-- COMMAND ----------

-- MAGIC %md
-- MAGIC ## One document: what was received and why it was refused

-- COMMAND ----------

SELECT d.event_id, d.kind, d.source_file, d.line_number, d.rejected_at, d.run_id, d.replayed_at, d.payload
FROM rejected_documents AS d
WHERE d.event_id = :event_id

-- COMMAND ----------

SELECT field, rule, message, value
FROM rejection_reasons
WHERE event_id = :event_id
ORDER BY field

-- COMMAND ----------

-- MAGIC %md
-- MAGIC ## Replays that worked
-- MAGIC Documents a later run accepted, and how long they waited.

-- COMMAND ----------

SELECT
  event_id,
  kind,
  rejected_at,
  replayed_at,
  replay_run_id,
  round((unix_timestamp(replayed_at) - unix_timestamp(rejected_at)) / 3600, 1) AS hours_rejected
FROM rejected_documents
WHERE replayed_at IS NOT NULL
ORDER BY replayed_at DESC
