from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("outages", "0021_few_reports"),
    ]

    operations = [
        migrations.AlterField(
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
                    (
                        "recovering",
                        "Reports are back to normal; the incident closes after a quiet spell",
                    ),
                    ("isp", "Most reports come from one operator's customers"),
                    ("few_reports", "A few people report problems"),
                    ("dismissed", "A reviewer judged the rise unrelated to an outage"),
                ],
                default="normal",
                max_length=15,
            ),
        ),
    ]
