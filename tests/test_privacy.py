from __future__ import annotations

import logging
import subprocess

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from reports.aggregation import reports_aggregate
from tests.helpers import post_report

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CLIENT_IPS = [
    "93.56.1.1",
    "93.56.7.201",
    "2.37.197.14",
    "1.1.1.1",
    "8.8.8.8",
    "2a01:4f8:1:2::1",
    "151.38.12.9",
    "79.18.44.3",
]


def database_dump() -> str:
    db = connection.settings_dict
    result = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "-h",
            db["HOST"] or "127.0.0.1",
            "-U",
            db["USER"] or "postgres",
            db["NAME"],
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def redis_dump() -> str:
    client = cache.client.get_client()  # django-redis
    parts = []
    for key in client.scan_iter("*"):
        parts.append(key.decode(errors="replace"))
        if client.type(key) == b"string":
            parts.append((client.get(key) or b"").decode(errors="replace"))
    return "\n".join(parts)


def test_no_client_address_is_stored_cached_or_logged(client, on_postgres, caplog, settings_with_redis):
    caplog.set_level(logging.DEBUG)
    for ip in CLIENT_IPS:
        post_report(client, {"service": "chatgpt", "problem": "login"}, ip=ip)
        post_report(client, {"service": "chatgpt", "problem": "app"}, ip=ip)  # repeats, kept as evidence
        client.post("/s/sora/report/", {"problem": "app"}, REMOTE_ADDR=ip)
    post_report(client, {"service": "unknown-service"}, ip=CLIENT_IPS[0])
    reports_aggregate()

    dump = database_dump()
    cached = redis_dump()
    logs = caplog.text
    assert "reports_report" in dump and "Milan" in dump  # the dump really holds the data
    assert cached  # the rate limiter really wrote to Redis
    for ip in CLIENT_IPS:
        assert ip not in dump, f"{ip} found in the database"
        assert ip not in cached, f"{ip} found in Redis"
        assert ip not in logs, f"{ip} found in the logs"


@pytest.fixture
def settings_with_redis():
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache", "run with make test"
