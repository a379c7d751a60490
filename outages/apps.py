from __future__ import annotations

from django.apps import AppConfig


class OutagesConfig(AppConfig):
    name = "outages"
    verbose_name = "Services, baselines and incidents"
