from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum

from reports.aggregation import reports_aggregate
from reports.models import DailySalt, Report, ServiceMinute, Vote
from reports.retention import reports_purge_expired
from reports.tasks import purge_expired
from tests.helpers import BOLOGNA_IP, MILAN_IP, post_report

pytestmark = pytest.mark.django_db


def test_old_aggregated_reports_are_deleted_and_their_counts_kept(client, time_machine, settings):
    settings.REPORT_RETENTION_DAYS = 90
    time_machine.move_to("2025-01-01T12:00:00Z", tick=False)
    post_report(client, {"service": "chatgpt"}, ip=MILAN_IP)
    reports_aggregate()
    time_machine.move_to("2025-04-01T11:00:00Z", tick=False)  # 90 days minus an hour later
    post_report(client, {"service": "chatgpt"}, ip=BOLOGNA_IP)
    reports_aggregate()
    time_machine.move_to("2025-04-01T13:00:00Z", tick=False)

    deleted = purge_expired()

    assert deleted["reports"] == 1
    assert Report.objects.count() == 1
    assert ServiceMinute.objects.aggregate(n=Sum("count"))["n"] == 2


def test_reports_not_yet_aggregated_are_never_deleted(client, time_machine):
    time_machine.move_to("2025-01-01T12:00:00Z", tick=False)
    post_report(client, {"service": "chatgpt"})
    time_machine.move_to("2025-06-01T12:00:00Z", tick=False)

    from django.utils import timezone

    reports_purge_expired(now=timezone.now())

    assert Report.objects.count() == 1


def test_votes_and_salts_are_dropped_once_they_cannot_matter(client, time_machine):
    time_machine.move_to("2025-01-01T12:00:00Z", tick=False)
    post_report(client, {"service": "chatgpt"})
    assert Vote.objects.count() == 1 and DailySalt.objects.count() == 1
    later = dt.datetime(2025, 1, 3, 12, tzinfo=dt.UTC)

    deleted = reports_purge_expired(now=later)

    assert deleted["votes"] == 1 and deleted["salts"] == 1
    assert not Vote.objects.exists() and not DailySalt.objects.exists()
