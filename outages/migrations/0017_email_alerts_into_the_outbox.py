"""One outbox for email and webhooks (2 of 3): every email alert becomes an outbox row of
the subscriber_email channel. A sent alert is a sent row; an unsent one is pending and never
claimed, so the sweep delivers it (a sweep re-queues rows unclaimed after 2 minutes).

Backwards, the subscriber_email rows go back to email alerts (sent or not, with their last
error), and the rows the old schema cannot hold are dropped: webhook rows of the confirmed
and resolved events, which the old code never sends. Separate from the schema changes
around it: PostgreSQL refuses to ALTER a table with pending foreign key checks in the same
transaction as the INSERT that made them."""

from django.db import migrations

FORWARD = """
INSERT INTO outages_notification
    (incident_id, event, channel, email_subscription_id, state, attempts, claimed_at, sent_at,
     last_error, created_at)
SELECT incident_id, event, 'subscriber_email', subscription_id,
       CASE WHEN sent_at IS NULL THEN 'pending' ELSE 'sent' END,
       CASE WHEN sent_at IS NULL THEN 0 ELSE 1 END,
       sent_at, sent_at, last_error, created_at
FROM outages_emailalert
ORDER BY id
"""

BACKWARD = """
INSERT INTO outages_emailalert (subscription_id, incident_id, event, created_at, sent_at, last_error)
SELECT email_subscription_id, incident_id, event, created_at,
       CASE WHEN state = 'sent' THEN COALESCE(sent_at, created_at) END, last_error
FROM outages_notification
WHERE channel = 'subscriber_email'
ORDER BY id;
DELETE FROM outages_notification WHERE channel = 'subscriber_email' OR event <> 'opened';
"""


class Migration(migrations.Migration):
    dependencies = [
        ("outages", "0016_one_outbox"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
