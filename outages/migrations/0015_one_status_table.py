"""One status table, step 2: the world's table goes and the country table, holding every
scope since 0014, becomes ServiceStatus, keyed by (service, scope)."""

from django.db import migrations, models
from django.db.models import deletion


class Migration(migrations.Migration):
    dependencies = [("outages", "0014_one_status_table_rows")]

    operations = [
        migrations.DeleteModel(name="ServiceStatus"),
        migrations.RemoveConstraint(model_name="servicecountrystatus", name="outages_countrystatus_key"),
        migrations.RenameField(model_name="servicecountrystatus", old_name="country_code", new_name="scope"),
        migrations.RenameModel(old_name="ServiceCountryStatus", new_name="ServiceStatus"),
        migrations.AlterModelOptions(
            name="servicestatus", options={"verbose_name_plural": "service statuses"}
        ),
        migrations.AlterField(
            model_name="servicestatus",
            name="scope",
            field=models.CharField(blank=True, default="", max_length=2),
        ),
        migrations.AlterField(
            model_name="servicestatus",
            name="service",
            field=models.ForeignKey(
                on_delete=deletion.CASCADE, related_name="statuses", to="catalogue.service"
            ),
        ),
        migrations.AddConstraint(
            model_name="servicestatus",
            constraint=models.UniqueConstraint(
                fields=("service", "scope"), name="outages_servicestatus_scope_key"
            ),
        ),
    ]
