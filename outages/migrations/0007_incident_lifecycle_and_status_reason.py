"""Review state and lifecycle become two facts: `resolved` leaves the review states (an
incident is resolved when `resolved_at` is set), and a resolved incident a reviewer had
confirmed is confirmed again. Service statuses gain their reason and the evidence behind it."""

import django.db.models.deletion
from django.db import migrations, models


def resolved_to_review_state(apps, schema_editor):
    Incident = apps.get_model("outages", "Incident")
    resolved = Incident.objects.filter(status="resolved")
    resolved.filter(review__confirmed_at__isnull=False).update(status="confirmed")
    resolved.update(status="suspected")
    ServiceStatus = apps.get_model("outages", "ServiceStatus")
    for status in ("warning", "outage"):
        ServiceStatus.objects.filter(status=status).update(evidence=status, reason="spike")


def review_state_to_resolved(apps, schema_editor):
    Incident = apps.get_model("outages", "Incident")
    Incident.objects.filter(resolved_at__isnull=False, status__in=["suspected", "confirmed"]).update(
        status="resolved"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("outages", "0006_reviewer_group"),
    ]

    operations = [
        migrations.AddField(
            model_name="servicestatus",
            name="evidence",
            field=models.CharField(
                choices=[
                    ("ok", "No problems"),
                    ("warning", "Possible problems"),
                    ("outage", "Problems detected"),
                ],
                default="ok",
                max_length=7,
            ),
        ),
        migrations.AddField(
            model_name="servicestatus",
            name="flood",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="servicestatus",
            name="incident",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="outages.incident",
            ),
        ),
        migrations.AddField(
            model_name="servicestatus",
            name="reason",
            field=models.CharField(
                choices=[
                    ("normal", "Reports are at their usual level"),
                    ("spike", "Reports are well above the usual level"),
                    ("regional", "Reports are up in some cities"),
                    ("incident_open", "An incident is open"),
                    ("confirmed", "A reviewer confirmed the outage"),
                    ("flood_suspected", "Most reports come from a few networks"),
                    ("recovering", "Reports are back to normal; the incident closes after a quiet spell"),
                ],
                default="normal",
                max_length=15,
            ),
        ),
        migrations.AddField(
            model_name="servicestatus",
            name="regional",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name="incident",
            name="status",
            field=models.CharField(
                choices=[("suspected", "Suspected"), ("confirmed", "Confirmed"), ("dismissed", "Dismissed")],
                default="suspected",
                max_length=9,
            ),
        ),
        migrations.RunPython(resolved_to_review_state, review_state_to_resolved),
    ]
