-- Notifications (business rules, section 10): one row per thing a person must hear about, made by
-- the decision core at the business time it happened. The key is deterministic (cause, kind,
-- recipient, subject): a re-run or a replay never makes one twice.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.notifications (
  id BIGINT NOT NULL COMMENT 'Deterministic key: 64-bit hash of source_event_id, kind, recipient_id and the approval or deal',
  recipient_id BIGINT NOT NULL COMMENT 'users.id of the person to tell',
  kind STRING NOT NULL COMMENT 'assigned, due_tomorrow, overdue_escalated, deal_decided, revision_requested or document_rejected',
  deal_id BIGINT COMMENT 'deals.id; null for a rejected document that names no deal',
  reference_number STRING COMMENT 'The deal reference, when there is a deal',
  approval_id BIGINT COMMENT 'deal_approvals.id, for the kinds about an approval',
  message STRING NOT NULL COMMENT 'One line for the person, naming the deal and what happened',
  source_event_id STRING NOT NULL COMMENT 'The document (or timer: escalate:<approval>, delegation-start:<event>) that caused it',
  notify_at TIMESTAMP NOT NULL COMMENT 'Business time it is due to be delivered (UTC): a reminder lies a day before the due date',
  created_at TIMESTAMP NOT NULL COMMENT 'Business time of its cause (UTC)'
) USING DELTA
COMMENT 'What each person must hear about. Append-only; kept 7 years.'
${location:notifications}
TBLPROPERTIES (
  'delta.appendOnly' = 'true',
  'delta.enableDeletionVectors' = 'true',
  'delta.logRetentionDuration' = 'interval 2557 days',
  'delta.deletedFileRetentionDuration' = 'interval 2557 days'
);

ALTER TABLE ${catalog}.${schema}.notifications ADD CONSTRAINT notifications_kind_valid
  CHECK (kind IN ('assigned', 'due_tomorrow', 'overdue_escalated', 'deal_decided', 'revision_requested', 'document_rejected'));

-- The app's inbox: the notifications with the recipient's e-mail, and whether a reminder still
-- stands (the approval still pending, theirs, the deal in review); kept by every run like the
-- other read models (092).
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.app_inbox (
  notification_id BIGINT NOT NULL COMMENT 'notifications.id',
  recipient_email STRING NOT NULL COMMENT 'Who it is for (row-level security)',
  kind STRING NOT NULL COMMENT 'notifications.kind',
  deal_id BIGINT COMMENT 'deals.id, when there is a deal',
  reference_number STRING COMMENT 'The deal reference',
  approval_id BIGINT COMMENT 'deal_approvals.id, for the kinds about an approval',
  message STRING NOT NULL COMMENT 'One line for the person',
  notify_at TIMESTAMP NOT NULL COMMENT 'When to show it (UTC): the app shows the rows with notify_at <= now',
  is_current BOOLEAN NOT NULL COMMENT 'False for a reminder whose approval was decided or went to someone else',
  source_event_id STRING NOT NULL COMMENT 'The document or timer that caused it',
  created_at TIMESTAMP NOT NULL COMMENT 'Business time of its cause (UTC)',
  refreshed_at TIMESTAMP NOT NULL COMMENT 'When a processing run last wrote the row (UTC)'
) USING DELTA
COMMENT 'The app inbox: the notifications of each person, newest first'
${location:app_inbox}
TBLPROPERTIES ('delta.enableDeletionVectors' = 'true');
