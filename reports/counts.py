"""The one read model of report counts: the minute count tables, plus the reports not yet
folded into them ("pending": counted, not abusive, not yet aggregated), so a report a
person has just sent shows at once. Pages, map, API, review and detection read counts
here and nowhere else; the write side is reports.aggregation.

Every function takes its window explicitly, half-open: minutes (and pending reports'
created_at) with start <= t < end. A window that ends now ends at minute_end(now), the end
of the minute in progress. Raw SQL reads take their connection from read_connection, which
follows the database router as the ORM does (the replica inside a public read view); table
names come from the models' _meta.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q, QuerySet, Sum

from geo.models import City
from reports.dialect import epoch_seconds_sql, is_postgresql
from reports.minutes import floor_minute
from reports.models import (
    COUNTED_SQL,
    CityMinute,
    CountryMinute,
    MinuteCount,
    ProblemMinute,
    Report,
    ServiceMinute,
)

_MINUTE = dt.timedelta(minutes=1)


def _pending_sql(select: str, *, where: str = "", group_by: str = "") -> str:
    """SELECT `select` over the pending reports created in [%(since)s, %(end)s): the one
    place that says which reports count but are not in the minute tables yet."""
    sql = (
        f"SELECT {select} FROM {Report._meta.db_table} "
        f"WHERE is_aggregated = false AND {COUNTED_SQL} "
        f"AND created_at >= %(since)s AND created_at < %(end)s {where}"
    )
    return f"{sql} GROUP BY {group_by}" if group_by else sql


def read_connection(model: type) -> BaseDatabaseWrapper:
    """The connection raw SQL should read `model`'s table with: the one the router picks
    for the ORM's reads of it (the replica inside a public read view)."""
    return connections[router.db_for_read(model)]


def minute_end(now: dt.datetime) -> dt.datetime:
    """The end of the minute in progress: a window ending `now` includes its minute."""
    return floor_minute(now) + _MINUTE


def _params(database: BaseDatabaseWrapper, **values) -> dict:
    adapt = database.ops.adapt_datetimefield_value
    return {name: adapt(value) if isinstance(value, dt.datetime) else value for name, value in values.items()}


MinuteT = TypeVar("MinuteT", bound=MinuteCount)


def minute_rows(
    model: type[MinuteT], *, start: dt.datetime, end: dt.datetime, service_id: int | None = None
) -> QuerySet[MinuteT]:
    """The minute rows of `model` in [start, end), for one service or all, to group or
    join further (minute counts only: no pending reports)."""
    # _default_manager: MinuteCount is abstract, so the stubs give it no `objects`.
    rows = model._default_manager.filter(minute__gte=start, minute__lt=end)
    return rows if service_id is None else rows.filter(service_id=service_id)


def bucket_rows(
    model: type[MinuteCount],
    keys: Sequence[str],
    *,
    service_ids: Sequence[int] | None,
    start: dt.datetime,
    end: dt.datetime,
    per_seconds: int = 60,
    country: str = "",
) -> list[tuple]:
    """(*keys, epoch // per_seconds, count) for the minutes in [start, end), summed per
    bucket, for `service_ids` (None: every service), in one `country` of CountryMinute when
    given. Minute counts only: detection and the series read closed minutes. One query per
    500 services."""
    if service_ids is not None and not service_ids:
        return []
    database = read_connection(model)
    epoch = epoch_seconds_sql("minute", database.vendor)
    columns = "".join(f"{key}, " for key in keys)
    params = _params(database, start=start, end=end, country=country)
    in_country = "AND country_code = %(country)s" if country else ""
    parts = (
        [None] if service_ids is None else [service_ids[i : i + 500] for i in range(0, len(service_ids), 500)]
    )
    rows: list[tuple] = []
    with database.cursor() as cursor:
        for part in parts:
            where = ""
            if part is not None:
                params.update({f"s{i}": service_id for i, service_id in enumerate(part)})
                where = f"AND service_id IN ({', '.join(f'%(s{i})s' for i in range(len(part)))})"
            cursor.execute(
                f"SELECT {columns}{epoch} / {per_seconds} AS b, SUM(count) FROM {model._meta.db_table} "
                f"WHERE minute >= %(start)s AND minute < %(end)s {in_country} {where} GROUP BY {columns}b",
                params,
            )
            rows.extend(cursor.fetchall())
    return rows


def totals(
    model: type[MinuteCount], key: str | None, *, service_id: int, start: dt.datetime, end: dt.datetime
) -> dict:
    """One service's reports in [start, end) per `key` (a column of both `model` and
    Report: "problem", "city_id"; None: one total under the key None), pending reports
    included. Two queries: the minute sums, the pending ones."""
    database = read_connection(model)
    params = _params(database, service=service_id, start=start, since=start, end=end)
    column = key or "NULL"
    group_by = f" GROUP BY {key}" if key else ""
    found: dict = {}
    with database.cursor() as cursor:
        cursor.execute(
            f"SELECT {column}, SUM(count) FROM {model._meta.db_table} "
            f"WHERE service_id = %(service)s AND minute >= %(start)s AND minute < %(end)s{group_by}",
            params,
        )
        minute_sums = cursor.fetchall()
        cursor.execute(
            _pending_sql(
                f"{column}, COUNT(*)",
                where="AND service_id = %(service)s" + (f" AND {key} IS NOT NULL" if key else ""),
                group_by=key or "",
            ),
            params,
        )
        for value, n in [*minute_sums, *cursor.fetchall()]:
            if n:
                found[value] = found.get(value, 0) + int(n)
    return found


@dataclass(slots=True)
class ServiceSums:
    """A service's reports in a window: per epoch minute, per problem code, per city id."""

    minutes: dict[int, int]
    problems: dict[str, int]
    cities: dict[int, int]

    def add(self, other: ServiceSums) -> None:
        _add_into(self.minutes, other.minutes)
        _add_into(self.problems, other.problems)
        _add_into(self.cities, other.cities)

    def copy(self) -> ServiceSums:
        return ServiceSums(minutes=dict(self.minutes), problems=dict(self.problems), cities=dict(self.cities))


KeyT = TypeVar("KeyT")


def _add_into(target: dict[KeyT, int], source: dict[KeyT, int]) -> None:
    for key, n in source.items():
        target[key] = target.get(key, 0) + n


def scope_sums(
    service_id: int,
    scope: str = "",
    *,
    start: dt.datetime,
    end: dt.datetime,
    pending_since: dt.datetime | None = None,
) -> ServiceSums:
    """A service's minutes, problems and cities in [start, end), worldwide (scope "") or from
    the reports of one country, in one round trip; with pending_since, also the pending
    reports created in [pending_since, end) (a caller that caches the older minutes reads
    these from its whole window: while the aggregation lags, pending reports can be older
    than `start`).

    Worldwide: ServiceMinute, ProblemMinute and CityMinute (index-only scans on
    (service_id, minute) INCLUDE (...)). In a country: CountryMinute, the cities in it, and
    problems from the counted, aggregated report rows of the window (no minute table has
    problems per country; those rows are what the minute tables were summed from)."""
    database = read_connection(ServiceMinute)
    where = "WHERE service_id = %(service)s AND minute >= %(start)s AND minute < %(end)s"
    minute = epoch_seconds_sql("minute", database.vendor)
    if scope:
        sql = f"""
            SELECT 'minute', {minute} / 60, '', 0, count
            FROM {CountryMinute._meta.db_table} {where} AND country_code = %(country)s
            UNION ALL
            SELECT 'problem', NULL, problem, 0, count(*) FROM {Report._meta.db_table}
            WHERE service_id = %(service)s AND created_at >= %(start)s AND created_at < %(end)s
            AND is_aggregated AND {COUNTED_SQL} AND country_code = %(country)s
            GROUP BY problem
            UNION ALL
            SELECT 'city', NULL, '', city_id, sum(count) FROM {CityMinute._meta.db_table} {where}
            AND city_id IN (SELECT id FROM {City._meta.db_table} WHERE country_code = %(country)s)
            GROUP BY city_id
        """
    else:
        # Minutes as epoch integers, which SQLite (the embedded default) can compute too.
        sql = f"""
            SELECT 'minute', {minute} / 60, '', 0, count
            FROM {ServiceMinute._meta.db_table} {where}
            UNION ALL
            SELECT 'problem', NULL, problem, 0, sum(count) FROM {ProblemMinute._meta.db_table} {where}
            GROUP BY problem
            UNION ALL
            SELECT 'city', NULL, '', city_id, sum(count) FROM {CityMinute._meta.db_table} {where}
            GROUP BY city_id
        """
    if pending_since is not None:
        sql += " UNION ALL " + _pending_sql(
            f"'pending', {epoch_seconds_sql('created_at', database.vendor)} / 60, problem, "
            "coalesce(city_id, 0), count(*)",
            where="AND service_id = %(service)s" + (" AND country_code = %(country)s" if scope else ""),
            group_by="2, 3, 4",
        )
    with database.cursor() as cursor:
        cursor.execute(
            sql,
            _params(database, service=service_id, country=scope, start=start, end=end, since=pending_since),
        )
        return _sums_of(cursor.fetchall())


def _sums_of(rows: list[tuple]) -> ServiceSums:
    sums = ServiceSums(minutes={}, problems={}, cities={})
    for kind, minute, problem, city_id, n in rows:
        n = int(n)
        if kind == "minute" or kind == "pending":
            sums.minutes[minute] = sums.minutes.get(minute, 0) + n
        if kind == "problem" or kind == "pending":
            sums.problems[problem] = sums.problems.get(problem, 0) + n
        if (kind == "city" or kind == "pending") and city_id:
            sums.cities[city_id] = sums.cities.get(city_id, 0) + n
    return sums


def city_service_sums(
    *,
    start: dt.datetime,
    end: dt.datetime,
    service_id: int | None = None,
    pending: bool = False,
    leave_out: tuple[dt.datetime, dt.datetime] | None = None,
) -> list[tuple[int, int, int]]:
    """(city id, service id, reports) in [start, end), for one service or all. Minutes in
    `leave_out` (a part the caller has summed already) are not read; with `pending`, the
    pending reports created in [start, end) that have a city are added. One query."""
    database = read_connection(CityMinute)
    service_filter = "AND service_id = %(service)s" if service_id is not None else ""
    ranges = [(start, end)] if leave_out is None else [(start, leave_out[0]), (leave_out[1], end)]
    params = _params(database, service=service_id, since=start, end=end)
    parts = []
    for i, (first, last) in enumerate(ranges):
        params.update(_params(database, **{f"from{i}": first, f"to{i}": last}))
        parts.append(
            f"SELECT city_id, service_id, count AS n FROM {CityMinute._meta.db_table} "
            f"WHERE minute >= %(from{i})s AND minute < %(to{i})s {service_filter}"
        )
    if pending:
        parts.append(
            _pending_sql("city_id, service_id, 1", where=f"AND city_id IS NOT NULL {service_filter}")
        )
    sql = f"SELECT city_id, service_id, sum(n) FROM ({' UNION ALL '.join(parts)}) AS parts GROUP BY city_id, service_id"
    with database.cursor() as cursor:
        cursor.execute(sql, params)
        return [(city_id, service_id_, int(n)) for city_id, service_id_, n in cursor.fetchall()]


def _window_selects(
    database: BaseDatabaseWrapper,
    windows: Sequence[tuple[int, dt.datetime, dt.datetime]],
    select: Callable[[int], str],
    **shared,
) -> tuple[list[str], dict]:
    """One SELECT per window (service id, start, end), `select(i)` reading the window's own
    parameters %(s<i>)s, %(a<i>)s and %(e<i>)s, to be joined with UNION ALL: each window
    reads its own rows only, all in one query. `shared` parameters are bound once."""
    params = _params(database, **shared)
    parts = []
    for i, (service_id, start, end) in enumerate(windows):
        params.update(_params(database, **{f"s{i}": service_id, f"a{i}": start, f"e{i}": end}))
        parts.append(select(i))
    return parts, params


def window_bucket_sums(
    model: type[MinuteCount],
    windows: Sequence[tuple[int, dt.datetime, dt.datetime]],
    *,
    per_seconds: int,
    country: str = "",
) -> list[tuple[int, int, int]]:
    """(window index, epoch // per_seconds, count) for each window (service id, start, end)
    of `model`, in one `country` of CountryMinute when given: each window reads its own
    minutes only, all in one query. Minute counts only, as bucket_rows."""
    if not windows:
        return []
    database = read_connection(model)
    epoch = epoch_seconds_sql("minute", database.vendor)
    in_country = "AND country_code = %(country)s" if country else ""
    parts, params = _window_selects(
        database,
        windows,
        lambda i: (
            f"SELECT {i} AS w, {epoch} / {per_seconds} AS b, count FROM {model._meta.db_table} "
            f"WHERE service_id = %(s{i})s AND minute >= %(a{i})s AND minute < %(e{i})s {in_country}"
        ),
        country=country,
    )
    with database.cursor() as cursor:
        cursor.execute(
            f"SELECT w, b, SUM(count) FROM ({' UNION ALL '.join(parts)}) AS windows GROUP BY w, b", params
        )
        return [(int(w), int(b), int(n)) for w, b, n in cursor.fetchall()]


def window_problem_sums(
    windows: Sequence[tuple[int, dt.datetime, dt.datetime]], *, country: str
) -> list[tuple[int, str, int]]:
    """(window index, problem code, reports) for each window (service id, start, end) of
    one country's counted reports, aggregated or not, all in one query: no minute table
    has problems per country (as scope_sums), and a report row is counted once whether the
    aggregation has folded it in yet or not."""
    if not windows:
        return []
    database = read_connection(Report)
    parts, params = _window_selects(
        database,
        windows,
        lambda i: (
            f"SELECT {i} AS w, problem, count(*) AS n FROM {Report._meta.db_table} "
            f"WHERE service_id = %(s{i})s AND created_at >= %(a{i})s AND created_at < %(e{i})s "
            f"AND {COUNTED_SQL} AND country_code = %(country)s GROUP BY problem"
        ),
        country=country,
    )
    with database.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return [(int(w), problem, int(n)) for w, problem, n in cursor.fetchall()]


def bucket_series(
    model: type[MinuteCount],
    key: str | None,
    ids: list[int],
    *,
    start: dt.datetime,
    end: dt.datetime,
    bucket_minutes: int,
    min_reports: int = 0,
) -> dict:
    """Bucket counts of the history of `model` in [start, end): service -> [(the `key`
    column's value, or None for the national table; (k, 2) rows of (bucket, count))], for
    the series with at least `min_reports` reports, in buckets of `bucket_minutes`. The
    one history reader, for the national, city and country profiles (outages.baselines).

    On PostgreSQL the database sums minutes into 5-minute buckets and packs each series into
    one bytea of big-endian int4 pairs, read by numpy without a Python loop per bucket: one
    row per series, not per bucket. Most (service, city) pairs have a handful of reports and
    never get a profile, so their buckets are neither summed nor sent. Elsewhere (SQLite in
    development) bucket rows are grouped here.
    """
    seconds = bucket_minutes * 60
    database = read_connection(model)
    series: dict = defaultdict(list)
    keys = ["service_id"] if key is None else ["service_id", key]
    if not is_postgresql(database):
        by_series: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
        for *series_key, b, n in bucket_rows(
            model, keys, service_ids=ids, start=start, end=end, per_seconds=seconds
        ):
            by_series[tuple(series_key)].append((b, n))
        for found_key, points in sorted(by_series.items()):
            table = np.array(points, dtype=np.int64).reshape(-1, 2)
            if table[:, 1].sum() >= min_reports:
                series[found_key[0]].append((found_key[1] if key else None, table))
        return series
    columns = ", ".join(keys)
    bucket = f"(date_part('epoch', minute)::int8 / {seconds})::int4"
    where = "service_id = ANY(%s) AND minute >= %s AND minute < %s"
    pack = "string_agg(int4send(b) || int4send(n), ''::bytea)"
    table_name = model._meta.db_table
    params: list[list[int] | dt.datetime | int]
    if min_reports > 0:
        source = (
            f"WITH busy AS (SELECT {columns} FROM {table_name} WHERE {where} "
            f"GROUP BY {columns} HAVING SUM(count) >= %s) "
            f"SELECT {columns}, {pack} FROM (SELECT {columns}, {bucket} AS b, SUM(count)::int4 AS n "
            f"FROM {table_name} JOIN busy USING ({columns}) WHERE {where} GROUP BY {columns}, b) AS t "
            f"GROUP BY {columns}"
        )
        params = [ids, start, end, min_reports, ids, start, end]
    else:
        source = (
            f"SELECT {columns}, {pack} FROM (SELECT {columns}, {bucket} AS b, SUM(count)::int4 AS n "
            f"FROM {table_name} WHERE {where} GROUP BY {columns}, b) AS t GROUP BY {columns}"
        )
        params = [ids, start, end]
    with transaction.atomic(using=database.alias), database.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")  # the bucket GROUP BYs hash in memory
        cursor.execute(source, params)
        for *series_key, blob in cursor.fetchall():
            series[series_key[0]].append((series_key[1] if key else None, _unpack(blob)))
    return series


def _unpack(blob: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(blob), dtype=">i4").astype(np.int64).reshape(-1, 2)


def city_sums_over(
    windows: Sequence[tuple[dt.datetime, dt.datetime]], *, service_id: int | None
) -> dict[int, int]:
    """Reports per city id over several windows of minutes (start, end] together, for one
    service or all: the minute counts only (the windows are in the past). One query."""
    if not windows:
        return {}
    within = Q()
    for start, end in windows:
        within |= Q(minute__gt=start, minute__lte=end)
    rows = CityMinute.objects.filter(within)
    if service_id is not None:
        rows = rows.filter(service_id=service_id)
    return {row["city_id"]: int(row["n"]) for row in rows.values("city_id").annotate(n=Sum("count"))}
