from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection

from geo.services import city_cache_clear
from outages.selectors import intake_cache_clear
from reports import hashing


def pytest_report_header(config):
    return "database and Redis: see DATABASE_URL / REDIS_URL (make test points them at localhost)"


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Per-process caches hold rows that each test's rollback deletes."""
    city_cache_clear()
    intake_cache_clear()
    hashing._salts.clear()
    yield
    city_cache_clear()
    intake_cache_clear()
    hashing._salts.clear()


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def on_postgres(db):
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL: run it with `make test`")


@pytest.fixture
def chatgpt(db):
    from outages.models import Service

    return Service.objects.get(slug="chatgpt")
