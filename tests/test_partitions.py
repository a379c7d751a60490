"""Time partitions on PostgreSQL: created ahead, a default catching everything else,
retention dropping whole days (reports.partitions)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from reports import partitions
from reports.aggregation import reports_aggregate
from reports.models import Report, ServiceMinute
from reports.retention import reports_purge_expired
from reports.tasks import partitions_maintain

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def report(service, at: dt.datetime, *, aggregated: bool = True) -> Report:
    return Report.objects.create(
        service=service,
        problem="login",
        created_at=at,
        source="api",
        network_hash="n" * 32,
        is_aggregated=aggregated,
    )


def home_of(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def test_reports_and_counts_are_partitioned_with_a_default(on_postgres):
    for table in partitions.TABLES:
        assert partitions.is_partitioned(table), table.table
        assert exists(table.default)


def test_the_scheduled_task_creates_a_week_of_days_and_two_months_ahead(on_postgres, time_machine):
    later = timezone.now().replace(hour=12) + 40 * DAY
    time_machine.move_to(later, tick=False)

    partitions_maintain()

    days = partitions.partitions(partitions.REPORTS)
    for ahead in range(8):
        assert partitions.REPORTS.start_of(later + ahead * DAY) in days
    months = partitions.partitions(partitions.COUNTS[0])
    assert {partitions.COUNTS[0].start_of(partitions._months_after(later, n)) for n in range(3)} <= set(
        months
    )
    assert partitions_maintain() == []  # nothing left to create


def test_a_report_far_in_the_future_lands_in_the_default_partition_then_moves_to_its_own(
    chatgpt, on_postgres
):
    far = dt.datetime(2100, 1, 2, 3, 4, tzinfo=dt.UTC)
    late = report(chatgpt, far, aggregated=False)
    count = ServiceMinute.objects.create(service=chatgpt, minute=far.replace(second=0), count=1)
    assert home_of("reports_report", late.pk) == "reports_report_default"
    assert home_of("reports_serviceminute", count.pk) == "reports_serviceminute_default"

    assert reports_aggregate() == 1  # the aggregator's UPDATE by id finds it there

    created = partitions.partitions_ensure(now=far)

    assert "reports_report_p21000102" in created
    assert home_of("reports_report", late.pk) == "reports_report_p21000102"
    assert home_of("reports_serviceminute", count.pk) == "reports_serviceminute_p210001"
    assert ServiceMinute.objects.get(service=chatgpt, minute=far.replace(second=0)).count == 2
    assert Report.objects.get(pk=late.pk).is_aggregated


def test_a_report_far_in_the_past_lands_in_the_default_partition(chatgpt, on_postgres):
    old = report(chatgpt, dt.datetime(1999, 5, 1, tzinfo=dt.UTC))

    assert home_of("reports_report", old.pk) == "reports_report_default"


def test_retention_drops_whole_expired_days_and_keeps_one_with_uncounted_reports(
    chatgpt, on_postgres, settings
):
    now = timezone.now()
    expired = now - (settings.REPORT_RETENTION_DAYS + 5) * DAY
    pending_day = expired + DAY
    partitions.partitions_ensure(now=now, since=expired)
    dropped_day = partitions.REPORTS.name_of(partitions.REPORTS.start_of(expired))
    kept_day = partitions.REPORTS.name_of(partitions.REPORTS.start_of(pending_day))
    for _ in range(3):
        report(chatgpt, expired)
    waiting = report(chatgpt, pending_day, aggregated=False)
    in_default = report(chatgpt, dt.datetime(1999, 5, 1, tzinfo=dt.UTC))
    recent = report(chatgpt, now - DAY)
    with connection.cursor() as cursor:
        # The rows are committed long before retention comes in real life; here the deferred
        # foreign-key checks of this test's transaction would block the DROP.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    deleted = reports_purge_expired(now=now)

    assert not exists(dropped_day)
    assert exists(kept_day)
    assert deleted["reports"] == 4  # three in the dropped day, one deleted from the default
    assert set(Report.objects.values_list("pk", flat=True)) == {waiting.pk, recent.pk}
    assert not Report.objects.filter(pk=in_default.pk).exists()
