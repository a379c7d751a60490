"""One outbox for email and webhooks (3 of 3): the email alerts' own table goes (its rows
are in the outbox since 0015)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("outages", "0017_email_alerts_into_the_outbox"),
    ]

    operations = [migrations.DeleteModel(name="EmailAlert")]
