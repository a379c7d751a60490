"""Load shedding: a request that already waited too long in the queues in front of the app
is answered 503 + Retry-After at once, and does no work."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from reports.models import Report
from tests.helpers import post_report

pytestmark = pytest.mark.django_db

REPORT = {"service": "chatgpt", "problem": "login"}


@pytest.fixture(autouse=True)
def _frozen_clock(time_machine):
    """The stamps are read against time.time(): frozen, a request "0.1 s old" stays 0.1 s old
    however long a busy machine takes to reach the middleware."""
    time_machine.move_to(dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def behind_nginx(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.LOAD_SHED_QUEUE_SECONDS = 2


def stamped(seconds_ago: float) -> dict[str, str]:
    return {
        "HTTP_X_REQUEST_START": f"t={time.time() - seconds_ago:.3f}",
        "HTTP_X_FORWARDED_FOR": "93.56.1.1",
    }


def test_a_report_that_waited_too_long_is_503_with_retry_after_and_not_stored(client, behind_nginx):
    response = post_report(client, REPORT, **stamped(5))

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"] == "overloaded"
    assert not Report.objects.exists()


def test_a_report_that_did_not_wait_is_taken(client, behind_nginx):
    assert post_report(client, REPORT, **stamped(0.1)).status_code == 201


def test_pages_are_shed_too_but_never_the_health_check(client, behind_nginx):
    page = client.get("/", **stamped(5))

    assert page.status_code == 503 and int(page["Retry-After"]) > 0
    assert client.get("/healthz", **stamped(5)).status_code == 200


def test_without_a_trusted_proxy_the_stamp_is_ignored(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.LOAD_SHED_QUEUE_SECONDS = 2

    assert post_report(client, REPORT, HTTP_X_REQUEST_START=f"t={time.time() - 60}").status_code == 201


def test_an_unreadable_stamp_is_ignored(client, behind_nginx):
    response = post_report(client, REPORT, HTTP_X_REQUEST_START="soon", HTTP_X_FORWARDED_FOR="93.56.1.1")

    assert response.status_code == 201


def test_a_flood_of_shed_requests_logs_one_summary_line(client, behind_nginx, caplog):
    for _ in range(20):
        post_report(client, REPORT, **stamped(5))

    lines = [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    assert len(lines) == 1 and "load shed" in lines[0].getMessage()
