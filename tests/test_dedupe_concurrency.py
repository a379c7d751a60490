from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from catalogue.models import Service
from geo.ip import parse_ip
from reports.intake import report_create
from reports.models import Report

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_twenty_simultaneous_reports_from_one_client_count_once(on_postgres):
    service = Service.objects.get(slug="chatgpt")
    start = threading.Barrier(20)
    outcomes: list[bool] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            start.wait()
            outcome = report_create(
                service=service,
                problem="login",
                address=parse_ip("93.56.1.1"),
                source="api",
                now=timezone.now(),
            )
            outcomes.append(outcome.counted)
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert sorted(outcomes) == [False] * 19 + [True]
    assert Report.objects.count() == 20
    assert Report.objects.filter(counted=True).count() == 1


def test_twenty_simultaneous_requests_over_http_count_once(live_server, on_postgres):
    import json
    import urllib.error
    import urllib.request

    statuses: list[int] = []
    start = threading.Barrier(20)

    def send() -> None:
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/reports/",
            data=json.dumps({"service": "chatgpt", "problem": "app"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] * 19 + [201]
    assert Report.objects.filter(counted=True).count() == 1
