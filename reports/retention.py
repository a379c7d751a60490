"""Retention: what is deleted, and when. Counts are kept; per-report rows, votes and
salts go once they are no longer needed."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from reports import partitions
from reports.intake import dedupe_seconds
from reports.models import DailySalt, Report, Vote


def reports_purge_expired(*, now: dt.datetime) -> dict[str, int]:
    """Drop per-report rows older than REPORT_RETENTION_DAYS once counted, votes older
    than the dedupe window and salts older than yesterday. On PostgreSQL whole daily
    partitions go first (reports.partitions); rows outside them are deleted."""
    cutoff = now - dt.timedelta(days=settings.REPORT_RETENTION_DAYS)
    deleted_reports = partitions.report_partitions_drop(before=cutoff)
    while True:
        ids = list(
            Report.objects.filter(created_at__lt=cutoff, is_aggregated=True).values_list("id", flat=True)[
                :10_000
            ]
        )
        if not ids:
            break
        deleted_reports += Report.objects.filter(id__in=ids).delete()[0]
    deleted_votes = Vote.objects.filter(
        counted_at_epoch__lt=int(now.timestamp()) - dedupe_seconds()
    ).delete()[0]
    deleted_salts = DailySalt.objects.filter(day__lt=now.date() - dt.timedelta(days=1)).delete()[0]
    return {"reports": deleted_reports, "votes": deleted_votes, "salts": deleted_salts}
