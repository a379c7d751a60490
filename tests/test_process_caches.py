"""The one reset hook for module-level caches: each app's AppConfig.process_caches_clear,
which tests/conftest.py calls around every test."""

from __future__ import annotations

import datetime as dt

from django.apps import apps

from catalogue.models import Service
from catalogue.selectors import intake_service
from geo.ip import parse_ip
from geo.lookup import locate
from geo.models import City
from geo.services import city_for_location
from reports.hashing import daily_salt
from reports.models import DailySalt
from tests.helpers import MILAN_IP

DAY = dt.date(2026, 3, 31)


def process_caches_clear() -> None:
    for app in ("catalogue", "geo", "reports", "outages"):
        apps.get_app_config(app).process_caches_clear()


def test_after_the_hook_each_app_reads_its_rows_again(db):
    intake_service("chatgpt")
    milan = city_for_location(locate(parse_ip(MILAN_IP)))
    salt = daily_salt(DAY)
    Service.objects.filter(slug="chatgpt").update(is_active=False)
    City.objects.filter(pk=milan.pk).delete()
    DailySalt.objects.filter(day=DAY).update(salt="0" * 64)
    # Until then the process answers from memory, as between a worker's requests.
    assert intake_service("chatgpt") is not None
    assert city_for_location(locate(parse_ip(MILAN_IP))).pk == milan.pk
    assert daily_salt(DAY) == salt

    process_caches_clear()

    assert intake_service("chatgpt") is None
    assert city_for_location(locate(parse_ip(MILAN_IP))).pk != milan.pk
    assert daily_salt(DAY) == "0" * 64
