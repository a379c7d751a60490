import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("outages", "0022_dismissed_reason"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="recipient_key",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        migrations.AlterField(
            model_name="notification",
            name="event",
            field=models.CharField(
                choices=[
                    ("opened", "Incident opened"),
                    ("confirmed", "Confirmed by a reviewer"),
                    ("resolved", "Resolved"),
                    ("escalated", "Reports rising sharply again"),
                    ("confirmation", "Subscription's confirmation link"),
                ],
                max_length=12,
            ),
        ),
        migrations.AlterField(
            model_name="notification",
            name="incident",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notifications",
                to="outages.incident",
            ),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("event", "confirmation")),
                fields=["recipient_key", "created_at"],
                name="outages_notification_budget",
            ),
        ),
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("channel", "subscriber_email"),
                        ("event", "confirmation"),
                        ("incident__isnull", True),
                        ("recipient_key__regex", "^[0-9a-f]{32}$"),
                    ),
                    models.Q(
                        models.Q(("event", "confirmation"), _negated=True),
                        ("incident__isnull", False),
                        ("recipient_key", ""),
                    ),
                    _connector="OR",
                ),
                name="outages_notification_confirmation",
            ),
        ),
    ]
