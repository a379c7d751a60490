"""Installs the default catalogue so a fresh database is usable. Editable in the admin."""

from __future__ import annotations

from django.db import migrations

DEFAULT_SERVICES: list[dict[str, str]] = [
    {
        "slug": "chatgpt",
        "name": "ChatGPT",
        "category": "AI",
        "home_url": "https://chatgpt.com/",
        "status_page_url": "https://status.openai.com/",
    },
    {
        "slug": "sora",
        "name": "Sora",
        "category": "AI",
        "home_url": "https://sora.com/",
        "status_page_url": "https://status.openai.com/",
    },
    {
        "slug": "whatsapp",
        "name": "WhatsApp",
        "category": "Messaging",
        "home_url": "https://www.whatsapp.com/",
        "status_page_url": "https://metastatus.com/",
    },
    {
        "slug": "instagram",
        "name": "Instagram",
        "category": "Social",
        "home_url": "https://www.instagram.com/",
        "status_page_url": "https://metastatus.com/",
    },
    {
        "slug": "facebook",
        "name": "Facebook",
        "category": "Social",
        "home_url": "https://www.facebook.com/",
        "status_page_url": "https://metastatus.com/",
    },
    {
        "slug": "youtube",
        "name": "YouTube",
        "category": "Video",
        "home_url": "https://www.youtube.com/",
        "status_page_url": "",
    },
    {
        "slug": "gmail",
        "name": "Gmail",
        "category": "Email",
        "home_url": "https://mail.google.com/",
        "status_page_url": "https://www.google.com/appsstatus/dashboard/",
    },
    {
        "slug": "netflix",
        "name": "Netflix",
        "category": "Video",
        "home_url": "https://www.netflix.com/",
        "status_page_url": "https://help.netflix.com/is-netflix-down",
    },
    {
        "slug": "tim",
        "name": "TIM",
        "category": "Telecom",
        "home_url": "https://www.tim.it/",
        "status_page_url": "",
    },
    {
        "slug": "vodafone",
        "name": "Vodafone",
        "category": "Telecom",
        "home_url": "https://www.vodafone.it/",
        "status_page_url": "",
    },
    {
        "slug": "fastweb",
        "name": "Fastweb",
        "category": "Telecom",
        "home_url": "https://www.fastweb.it/",
        "status_page_url": "",
    },
    {
        "slug": "iliad",
        "name": "Iliad",
        "category": "Telecom",
        "home_url": "https://www.iliad.it/",
        "status_page_url": "",
    },
    {
        "slug": "playstation-network",
        "name": "PlayStation Network",
        "category": "Gaming",
        "home_url": "https://www.playstation.com/",
        "status_page_url": "https://status.playstation.com/",
    },
    {
        "slug": "steam",
        "name": "Steam",
        "category": "Gaming",
        "home_url": "https://store.steampowered.com/",
        "status_page_url": "",
    },
    {
        "slug": "spotify",
        "name": "Spotify",
        "category": "Music",
        "home_url": "https://open.spotify.com/",
        "status_page_url": "",
    },
]

# English labels as stored; the UI shows them translated (outages.models.DEFAULT_PROBLEM_TYPES).
DEFAULT_PROBLEM_LABELS: list[tuple[str, str]] = [
    ("app", "App"),
    ("login", "Login"),
    ("website", "Website"),
    ("connection", "Server connection"),
    ("other", "Something else"),
]


def install_catalogue(apps, schema_editor):
    Service = apps.get_model("outages", "Service")
    ProblemType = apps.get_model("outages", "ProblemType")
    for fields in DEFAULT_SERVICES:
        service, created = Service.objects.get_or_create(slug=fields["slug"], defaults=fields)
        if created:
            ProblemType.objects.bulk_create(
                ProblemType(service=service, code=code, label=label, position=position)
                for position, (code, label) in enumerate(DEFAULT_PROBLEM_LABELS)
            )


class Migration(migrations.Migration):
    dependencies = [("outages", "0001_initial")]

    operations = [migrations.RunPython(install_catalogue, migrations.RunPython.noop)]
