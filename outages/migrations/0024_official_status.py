import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0004_official_status_source"),
        ("outages", "0023_confirmations_in_the_outbox"),
    ]

    operations = [
        migrations.CreateModel(
            name="OfficialState",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("ok", "operational"),
                            ("maintenance", "maintenance"),
                            ("minor", "minor problems"),
                            ("major", "major outage"),
                            ("critical", "critical outage"),
                            ("incident", "an open incident (a feed gives no severity)"),
                        ],
                        max_length=11,
                    ),
                ),
                ("changed_at", models.DateTimeField()),
                ("seen_at", models.DateTimeField()),
                (
                    "service",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="official_states",
                        to="catalogue.service",
                    ),
                ),
            ],
            options={
                "ordering": ["changed_at", "pk"],
            },
        ),
        migrations.CreateModel(
            name="OfficialSource",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("url", models.URLField()),
                ("etag", models.CharField(blank=True, max_length=200)),
                ("last_modified", models.CharField(blank=True, max_length=100)),
                ("checked_at", models.DateTimeField(blank=True, null=True)),
                ("failures", models.PositiveIntegerField(default=0)),
                ("next_poll", models.DateTimeField(blank=True, null=True)),
                (
                    "problem",
                    models.CharField(
                        blank=True,
                        choices=[("", "none"), ("unreachable", "unreachable"), ("unreadable", "unreadable")],
                        default="",
                        max_length=11,
                    ),
                ),
                ("last_error", models.CharField(blank=True, max_length=1000)),
                (
                    "service",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="official_source",
                        to="catalogue.service",
                    ),
                ),
                (
                    "current",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="outages.officialstate",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="officialstate",
            index=models.Index(fields=["service", "changed_at"], name="outages_officialstate_changed"),
        ),
    ]
