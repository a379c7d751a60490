"""The catalogue (Service, ProblemType) moves out of `outages` so that `reports` can use it
without importing outages' logic; its tables keep their names."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("outages", "0007_incident_lifecycle_and_status_reason"),
    ]

    # The tables stay where they are (outages_service, outages_problemtype): only Django's
    # idea of which app owns the models moves.
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Service",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("slug", models.SlugField(unique=True)),
                        ("name", models.CharField(max_length=100)),
                        ("category", models.CharField(blank=True, max_length=50)),
                        ("home_url", models.URLField(blank=True)),
                        ("status_page_url", models.URLField(blank=True, verbose_name="official status page")),
                        ("timezone", models.CharField(default="Europe/Rome", max_length=64)),
                        ("is_active", models.BooleanField(default=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        "db_table": "outages_service",
                        "ordering": ["name"],
                    },
                ),
                migrations.CreateModel(
                    name="ProblemType",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("code", models.SlugField(max_length=30)),
                        ("label", models.CharField(max_length=100)),
                        ("position", models.PositiveSmallIntegerField(default=0)),
                        (
                            "service",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="problem_types",
                                to="catalogue.service",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "outages_problemtype",
                        "ordering": ["position", "code"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("service", "code"), name="outages_problemtype_unique_code"
                            )
                        ],
                    },
                ),
            ],
        ),
    ]
