"""One status table, step 1: the worldwide status becomes the row of scope "" beside the countries'.

Forward: the country table gains the worldwide-only fields, takes the worldwide rows (scope
"") (step 2, 0015, makes it ServiceStatus;
Django runs each migration in its own transaction, and PostgreSQL cannot alter a table
with the copy's foreign-key checks pending). Backward: the worldwide rows go back
into their own table, keyed by the service.
"""

from django.db import migrations, models

_FIELDS = [
    "status",
    "reason",
    "evidence",
    "regional",
    "flood",
    "operator",
    "incident_id",
    "score",
    "count",
    "baseline",
    "minute",
]


def world_rows_in(apps, schema_editor):
    World = apps.get_model("outages", "ServiceStatus")
    Scoped = apps.get_model("outages", "ServiceCountryStatus")
    Scoped.objects.bulk_create(
        [
            Scoped(service_id=row.service_id, country_code="", **{f: getattr(row, f) for f in _FIELDS})
            for row in World.objects.all().iterator()
        ],
        batch_size=1000,
    )


def world_rows_out(apps, schema_editor):
    World = apps.get_model("outages", "ServiceStatus")
    Scoped = apps.get_model("outages", "ServiceCountryStatus")
    world = Scoped.objects.filter(country_code="")
    World.objects.bulk_create(
        [
            World(service_id=row.service_id, **{f: getattr(row, f) for f in _FIELDS})
            for row in world.iterator()
        ],
        batch_size=1000,
    )
    world.delete()


class Migration(migrations.Migration):
    dependencies = [("outages", "0013_country_status")]

    operations = [
        migrations.AddField(
            model_name="servicecountrystatus", name="regional", field=models.BooleanField(default=False)
        ),
        migrations.AddField(
            model_name="servicecountrystatus",
            name="operator",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.RunPython(world_rows_in, world_rows_out),
    ]
