"""The per-network cap on pending comments holds when a network's requests arrive at once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from catalogue.models import Service
from geo.ip import parse_ip
from reports.comments import PENDING_PER_NETWORK, comment_add
from reports.intake import report_create
from reports.models import Comment

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_twelve_simultaneous_comments_from_one_network_keep_only_its_share(on_postgres):
    service = Service.objects.get(slug="chatgpt")
    # Twelve households of one /24, each with a counted report.
    reports = [
        report_create(
            service=service,
            problem="login",
            address=parse_ip(f"93.56.1.{i}"),
            source="api",
            now=timezone.now(),
        ).report
        for i in range(1, 13)
    ]
    start = threading.Barrier(len(reports))
    kept: list[bool] = []
    errors: list[BaseException] = []

    def send(report) -> None:
        try:
            start.wait()
            kept.append(
                comment_add(report=report, text="down", language="en", now=timezone.now()) is not None
            )
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(report,)) for report in reports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert kept.count(True) == PENDING_PER_NETWORK
    assert Comment.objects.count() == PENDING_PER_NETWORK
