"""One outbox for email and webhooks (1 of 3): the outbox row names its event, and a
subscriber's email is a channel beside the webhooks. Rows that exist are "opened" events."""

import django.db.models.deletion
from django.db import migrations, models

CHANNELS = [
    ("email", "Email to reviewers"),
    ("webhook", "Reviewers' webhook"),
    ("subscriber", "Subscriber's webhook"),
    ("subscriber_email", "Subscriber's email"),
]
EVENTS = [("opened", "Incident opened"), ("confirmed", "Confirmed by a reviewer"), ("resolved", "Resolved")]


class Migration(migrations.Migration):
    dependencies = [
        ("outages", "0015_one_status_table"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="notification", name="outages_notification_one_per_channel"),
        migrations.RemoveConstraint(
            model_name="notification", name="outages_notification_one_per_subscriber"
        ),
        migrations.AddField(
            model_name="notification",
            name="event",
            field=models.CharField(choices=EVENTS, default="opened", max_length=9),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="notification",
            name="email_subscription",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="outages.emailsubscription",
            ),
        ),
        migrations.AlterField(
            model_name="notification",
            name="channel",
            field=models.CharField(choices=CHANNELS, max_length=16),
        ),
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.UniqueConstraint(
                condition=models.Q(("email_subscription__isnull", True), ("subscription__isnull", True)),
                fields=("incident", "event", "channel"),
                name="outages_notification_one_per_channel",
            ),
        ),
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.UniqueConstraint(
                condition=models.Q(("subscription__isnull", False)),
                fields=("incident", "event", "subscription"),
                name="outages_notification_one_per_subscriber",
            ),
        ),
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.UniqueConstraint(
                condition=models.Q(("email_subscription__isnull", False)),
                fields=("incident", "event", "email_subscription"),
                name="outages_notification_one_per_email_subscriber",
            ),
        ),
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("channel", "subscriber"),
                        ("email_subscription__isnull", True),
                        ("subscription__isnull", False),
                    ),
                    models.Q(
                        ("channel", "subscriber_email"),
                        ("email_subscription__isnull", False),
                        ("subscription__isnull", True),
                    ),
                    models.Q(
                        ("channel__in", ["email", "webhook"]),
                        ("email_subscription__isnull", True),
                        ("subscription__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="outages_notification_recipient",
            ),
        ),
    ]
