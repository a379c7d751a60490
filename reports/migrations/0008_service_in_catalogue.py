"""Report and count rows point at catalogue.Service (the same table as before)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0001_initial"),
        ("reports", "0007_report_fewer_indexes"),
    ]

    # The tables stay where they are (outages_service, outages_problemtype): only Django's
    # idea of which app owns the models moves.
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="cityminute",
                    name="service",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="catalogue.service"
                    ),
                ),
                migrations.AlterField(
                    model_name="countryminute",
                    name="service",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="catalogue.service"
                    ),
                ),
                migrations.AlterField(
                    model_name="problemminute",
                    name="service",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="catalogue.service"
                    ),
                ),
                migrations.AlterField(
                    model_name="report",
                    name="service",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="catalogue.service",
                    ),
                ),
                migrations.AlterField(
                    model_name="serviceminute",
                    name="service",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="catalogue.service"
                    ),
                ),
                migrations.AlterField(
                    model_name="vote",
                    name="service",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="catalogue.service"
                    ),
                ),
            ],
        ),
    ]
