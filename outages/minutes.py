"""Epoch minutes and the per-minute count rows detection reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import connection

from outages.selectors import epoch_seconds_sql


def count_rows(
    table: str,
    keys: Sequence[str],
    *,
    service_ids: Sequence[int],
    start: dt.datetime,
    end: dt.datetime,
    per_seconds: int = 60,
) -> list[tuple]:
    """(*keys, epoch // per_seconds, count) for start <= minute < end, summed per bucket."""
    if not service_ids:
        return []
    epoch = epoch_seconds_sql("minute", connection.vendor)
    key_sql = ", ".join(keys)
    adapt = connection.ops.adapt_datetimefield_value
    rows: list[tuple] = []
    with connection.cursor() as cursor:
        for offset in range(0, len(service_ids), 500):
            part = list(service_ids[offset : offset + 500])
            cursor.execute(
                f"SELECT {key_sql}, {epoch} / {per_seconds} AS b, SUM(count) FROM {table} "
                f"WHERE service_id IN ({', '.join(['%s'] * len(part))}) AND minute >= %s AND minute < %s "
                f"GROUP BY {key_sql}, b",
                [*part, adapt(start), adapt(end)],
            )
            rows.extend(cursor.fetchall())
    return rows


def epoch_minute(moment: dt.datetime) -> int:
    return int(moment.timestamp()) // 60


def from_epoch_minute(minute: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(minute * 60, tz=dt.UTC)


def floor_minute(moment: dt.datetime) -> dt.datetime:
    """The start of the minute holding `moment`: the one way every module floors a time."""
    return moment.replace(second=0, microsecond=0)
