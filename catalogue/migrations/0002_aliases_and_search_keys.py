"""Search by aliases: each service keeps the search key of its name and slug, and aliases
("open ai", "psn") are rows the admin edits. The default catalogue gets its common aliases."""

import django.db.models.deletion
from django.db import migrations, models

from catalogue.models import search_key

DEFAULT_ALIASES = {
    "chatgpt": ["OpenAI", "Open AI", "Chat GPT", "GPT"],
    "sora": ["OpenAI Sora"],
    "playstation-network": ["PSN", "PlayStation", "PS Network"],
    "whatsapp": ["Whats App"],
    "facebook": ["FB", "Meta"],
    "instagram": ["Insta", "IG"],
    "youtube": ["You Tube", "YT"],
    "gmail": ["Google Mail"],
    "tim": ["Telecom Italia"],
    "steam": ["Valve"],
}


def keys_and_aliases(apps, schema_editor):
    Service = apps.get_model("catalogue", "Service")
    ServiceAlias = apps.get_model("catalogue", "ServiceAlias")
    for service in Service.objects.all():
        service.search_keys = f"{search_key(service.name)} {search_key(service.slug)}"
        service.save(update_fields=["search_keys"])
        for alias in DEFAULT_ALIASES.get(service.slug, []):
            ServiceAlias.objects.get_or_create(
                service=service, key=search_key(alias), defaults={"alias": alias}
            )


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="service",
            name="search_keys",
            field=models.CharField(blank=True, editable=False, max_length=250),
        ),
        migrations.CreateModel(
            name="ServiceAlias",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("alias", models.CharField(max_length=100)),
                ("key", models.CharField(db_index=True, editable=False, max_length=100)),
                (
                    "service",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="aliases",
                        to="catalogue.service",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "service aliases",
                "constraints": [
                    models.UniqueConstraint(fields=("service", "key"), name="catalogue_alias_unique")
                ],
            },
        ),
        migrations.RunPython(keys_and_aliases, migrations.RunPython.noop),
    ]
