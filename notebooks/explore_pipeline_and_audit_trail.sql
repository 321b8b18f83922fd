-- Databricks notebook source
-- MAGIC %md
-- MAGIC # Deal Desk: pipeline, cycle time, bottlenecks and audit trail
-- MAGIC
-- MAGIC Every cell reads the reporting views of the Deal Desk schema; none needs a join.
-- MAGIC Set **catalog** and **schema** in the widgets above (the test environment is `deal_desk_test`),
-- MAGIC and a deal reference for the audit-trail cells. Times are UTC business times of the events.
-- MAGIC
-- MAGIC | view | one row per |
-- MAGIC |---|---|
-- MAGIC | `deal_pipeline` | status, region, sales channel and approval level |
-- MAGIC | `deal_cycle_times`, `cycle_time_by_month` | deal; month and approval level |
-- MAGIC | `deal_status_durations`, `status_time_by_month` | stay of a deal in a status; month and status |
-- MAGIC | `approval_details`, `approval_queue`, `review_time_by_month` | approval; open approval; month and department |
-- MAGIC | `approval_bottlenecks` | department and approver |
-- MAGIC | `audit_trail` | status change or approval action, with names |
-- MAGIC | `rejection_reasons`, `rejects_summary` | reason of a rejected document; day and rule |

-- COMMAND ----------

CREATE WIDGET TEXT catalog DEFAULT 'main';
CREATE WIDGET TEXT schema DEFAULT 'deal_desk_prod';
CREATE WIDGET TEXT reference_number DEFAULT 'DEAL-2026-001';

-- COMMAND ----------

USE CATALOG IDENTIFIER(:catalog);
USE SCHEMA IDENTIFIER(:schema);

-- COMMAND ----------

-- MAGIC %md
-- MAGIC ## The pipeline now
-- MAGIC Deals, value and incentive cost by status, in workflow order.

-- COMMAND ----------

SELECT
  status,
  sum(deals) AS deals,
  sum(total_deal_value) AS deal_value,
  sum(total_incentive_cost) AS incentive_cost,
  sum(deals_needing_attention) AS needing_attention
FROM deal_pipeline
GROUP BY status, status_order
ORDER BY status_order

-- COMMAND ----------

-- MAGIC %md
-- MAGIC Deals in approval or later (not drafts, not closed) by region and sales channel.

-- COMMAND ----------

SELECT
  region,
  sales_channel,
  sum(deals) AS deals,
  sum(total_deal_value) AS deal_value,
  sum(total_incentive_cost) AS incentive_cost
FROM deal_pipeline
WHERE status NOT IN ('draft', 'scoping', 'converted', 'signed', 'lost')
GROUP BY region, sales_channel
ORDER BY deal_value DESC

-- COMMAND ----------

-- MAGIC %md
-- MAGIC ## Approval cycle time
-- MAGIC From entering `submitted` to entering `approved`, by month of approval: the measure of the
-- MAGIC promised cut in cycle time. `approval_level = 'all'` rows cover every level.

-- COMMAND ----------

SELECT month, approval_level, approved_deals, median_cycle_hours, p90_cycle_hours, mean_cycle_hours
FROM cycle_time_by_month
ORDER BY month DESC, approval_level

-- COMMAND ----------

-- MAGIC %md
-- MAGIC Where the time goes: hours spent in each status, by the month the status was left.

-- COMMAND ----------

SELECT month, status, spells, median_hours, p90_hours
FROM status_time_by_month
ORDER BY month DESC, median_hours DESC

-- COMMAND ----------

-- MAGIC %md
-- MAGIC ## Bottlenecks and the approval queue

-- COMMAND ----------

SELECT
  department_name,
  approver_name,
  open_approvals,
  overdue_open_approvals,
  decided_approvals,
  median_hours_to_decision,
  round(overdue_rate * 100, 1) AS missed_sla_percent
FROM approval_bottlenecks
ORDER BY open_approvals DESC, overdue_open_approvals DESC

-- COMMAND ----------

SELECT
  reference_number,
  deal_name,
  department_name,
  stage_name,
  assignee,
  priority,
  round(age_hours, 1) AS age_hours,
  due_date,
  is_overdue
FROM approval_queue
ORDER BY is_overdue DESC, hours_until_due

-- COMMAND ----------

-- MAGIC %md
-- MAGIC ## Audit trail of one deal
-- MAGIC Every status change and approval action of the deal in the `reference_number` widget, in order
-- MAGIC (at equal times status changes first, then the approvals opened and assigned).

-- COMMAND ----------

SELECT occurred_at, description, performed_by_name, comments, entry_type, action, from_status, to_status
FROM audit_trail
WHERE reference_number = :reference_number
ORDER BY occurred_at, entry_type DESC, status_seq, action DESC

-- COMMAND ----------

-- MAGIC %md
-- MAGIC Who did what in the last seven days.

-- COMMAND ----------

SELECT performed_by_name, entry_type, action, count(*) AS entries
FROM audit_trail
WHERE occurred_at >= current_timestamp() - INTERVAL 7 DAYS
GROUP BY performed_by_name, entry_type, action
ORDER BY entries DESC
