from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0003_trigram_extension"),
    ]

    operations = [
        migrations.AddField(
            model_name="service",
            name="official_format",
            field=models.CharField(
                choices=[
                    ("none", "none"),
                    ("statuspage", "Atlassian Statuspage JSON (/api/v2/summary.json)"),
                    ("feed", "RSS or Atom incident feed"),
                ],
                db_default="none",
                default="none",
                max_length=10,
                verbose_name="official status format",
            ),
        ),
        migrations.AddField(
            model_name="service",
            name="official_url",
            field=models.URLField(
                blank=True,
                db_default="",
                default="",
                help_text="e.g. https://status.openai.com/api/v2/summary.json, or the incident feed's address",
                verbose_name="official status address",
            ),
        ),
    ]
