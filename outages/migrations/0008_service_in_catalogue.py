"""Incidents, baselines, statuses and webhooks point at catalogue.Service; the models leave
the outages app's state (the tables stay)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0008_service_in_catalogue"),
        ("catalogue", "0001_initial"),
        ("outages", "0007_incident_lifecycle_and_status_reason"),
    ]

    # The tables stay where they are (outages_service, outages_problemtype): only Django's
    # idea of which app owns the models moves.
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="webhooksubscription",
                    name="service",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="webhooks",
                        to="catalogue.service",
                    ),
                ),
                migrations.AlterField(
                    model_name="baseline",
                    name="service",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="baselines",
                        to="catalogue.service",
                    ),
                ),
                migrations.AlterField(
                    model_name="incident",
                    name="service",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="incidents",
                        to="catalogue.service",
                    ),
                ),
                migrations.AlterField(
                    model_name="servicestatus",
                    name="service",
                    field=models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="current_status",
                        serialize=False,
                        to="catalogue.service",
                    ),
                ),
                migrations.DeleteModel(
                    name="ProblemType",
                ),
                migrations.DeleteModel(
                    name="Service",
                ),
            ],
        ),
    ]
