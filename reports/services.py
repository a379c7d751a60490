"""Taking reports in and counting them.

A request writes one Report row and claims the client's vote in one transaction;
reports_aggregate folds new rows into the minute count tables in batches shortly after
(a Celery beat job, and the first step of every detection pass).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.db import connection, transaction

from geo.ip import IPAddress, network_of, parse_ip
from geo.lookup import Location, locate
from geo.models import City
from geo.services import city_for_location
from outages.models import Service
from reports import hashing, partitions
from reports.minutes import floor_minute
from reports.models import (
    CityMinute,
    CountryMinute,
    DailySalt,
    ProblemMinute,
    Report,
    ServiceMinute,
    Vote,
)


class ReportRejected(Exception):
    """Input that cannot become a report; `code` and the message say what to fix."""

    def __init__(self, code: str, message: str, *, valid: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.valid = list(valid)


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    report: Report
    counted: bool
    location: Location | None
    city: City | None


@dataclass(frozen=True, slots=True)
class IncomingReport:
    """A report to ingest in bulk (backfill, simulator): same rules as report_create."""

    service_id: int
    problem: str
    client_ip: str
    created_at: dt.datetime
    source: str


def report_create(
    *,
    service: Service,
    problem: str,
    valid_problems: Sequence[str],
    client_ip: IPAddress | str | None,
    source: str,
    now: dt.datetime,
) -> ReportOutcome:
    """Store one report. Counted unless the same client reported this service within
    REPORT_DEDUPE_MINUTES; placed in a city when the address can be located."""
    if problem not in valid_problems:
        raise ReportRejected(
            "unknown_problem",
            f"Unknown problem {problem!r}; choose one of: {', '.join(valid_problems)}.",
            valid=valid_problems,
        )
    address = client_ip if not isinstance(client_ip, str | None) else parse_ip(client_ip)
    if address is None:
        raise ReportRejected("no_client_address", "The client address could not be determined.")
    location = locate(address)
    city = city_for_location(location) if location else None
    report = Report(
        service=service,
        problem=problem,
        created_at=now,
        source=source,
        city=city,
        country_code=location.country_code if location else "",
        network_hash=hashing.network_hash(address),
    )
    client_hash = hashing.client_hash(address, day=now.date())
    if connection.vendor == "postgresql":
        _report_insert_claiming_vote(report, client_hash=client_hash, now=now)
    else:
        with transaction.atomic():
            report.counted = _claim_vote(service.pk, client_hash, now)
            # A repeat is kept as evidence but never counted, so nothing to aggregate.
            report.is_aggregated = not report.counted
            report.save(force_insert=True)
    return ReportOutcome(report=report, counted=report.counted, location=location, city=city)


def _dedupe_seconds() -> int:
    return settings.REPORT_DEDUPE_MINUTES * 60


_CLAIM_VOTE_SQL = f"""
    INSERT INTO {Vote._meta.db_table} (service_id, client_hash, counted_at_epoch)
    VALUES (%s, %s, %s)
    ON CONFLICT (service_id, client_hash) DO UPDATE
        SET counted_at_epoch = excluded.counted_at_epoch
        WHERE {Vote._meta.db_table}.counted_at_epoch <= %s
    RETURNING id
"""


def _claim_vote(service_id: int, client_hash: str, now: dt.datetime) -> bool:
    """True when this report is the client's vote: no counted report in the window.

    One statement, so the database serialises concurrent duplicates on the row.
    """
    now_epoch = int(now.timestamp())
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_VOTE_SQL,
            [service_id, client_hash, now_epoch, now_epoch - _dedupe_seconds()],
        )
        return cursor.fetchone() is not None


# The vote claim and the report row in one statement: the same rules as _claim_vote in a
# transaction, in one round trip instead of four (BEGIN, claim, insert, COMMIT), which
# is most of a report's database time. PostgreSQL only: SQLite has no INSERT in WITH.
# A new Report column without a database default must be added here.
_INSERT_REPORT_CLAIMING_VOTE_SQL = f"""
    WITH vote AS ({_CLAIM_VOTE_SQL}),
    claim AS (SELECT EXISTS (SELECT FROM vote) AS counted)
    INSERT INTO {Report._meta.db_table} (
        service_id, problem, created_at, source, city_id, country_code, network_hash,
        counted, abusive, is_aggregated
    )
    SELECT %s, %s, %s, %s, %s, %s, %s, counted, false, NOT counted FROM claim
    RETURNING id, counted
"""


def _report_insert_claiming_vote(report: Report, *, client_hash: str, now: dt.datetime) -> None:
    now_epoch = int(now.timestamp())
    connection.ensure_connection()
    # A server-side prepared statement: psycopg binds the parameters itself and PostgreSQL
    # parses and plans the statement once per connection, not per report. That needs the
    # connection's prepare_threshold set (config/settings.py): with Django's default, None,
    # psycopg ignores prepare=True. Django's error wrapping is kept, so a lost database
    # still answers 503 (config.middleware).
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            _INSERT_REPORT_CLAIMING_VOTE_SQL,
            [
                report.service_id,
                client_hash,
                now_epoch,
                now_epoch - _dedupe_seconds(),
                report.service_id,
                report.problem,
                report.created_at,
                report.source,
                report.city_id,
                report.country_code,
                report.network_hash,
            ],
            prepare=True,
        )
        report.pk, report.counted = cursor.fetchone()
    report.is_aggregated = not report.counted
    report._state.adding = False
    report._state.db = connection.alias


def reports_ingest_bulk(*, reports: Iterable[IncomingReport], batch_size: int = 5000) -> int:
    """Ingest many reports (oldest first) with report_create's rules; returns how many
    were counted. For offline backfill: dedupe is decided in memory per batch, so it
    must not run concurrently with live traffic for the same clients."""
    counted_total = 0
    batch: list[IncomingReport] = []
    for incoming in reports:
        batch.append(incoming)
        if len(batch) >= batch_size:
            counted_total += _ingest_batch(batch)
            batch = []
    if batch:
        counted_total += _ingest_batch(batch)
    return counted_total


def _ingest_batch(batch: list[IncomingReport]) -> int:
    window = _dedupe_seconds()
    rows = []
    for incoming in batch:
        address = parse_ip(incoming.client_ip)
        if address is None:
            raise ReportRejected("no_client_address", f"Not an IP address: {incoming.client_ip!r}")
        location = locate(address)
        rows.append(
            (
                incoming,
                address,
                location,
                city_for_location(location) if location else None,
                hashing.client_hash(address, day=incoming.created_at.date()),
            )
        )
    keys = {(incoming.service_id, client) for incoming, _, _, _, client in rows}
    last_counted: dict[tuple[int, str], int] = {}
    for service_id in {service for service, _ in keys}:
        hashes = [client for service, client in keys if service == service_id]
        last_counted.update(
            ((service_id, vote.client_hash), vote.counted_at_epoch)
            for vote in Vote.objects.filter(service_id=service_id, client_hash__in=hashes)
        )
    # Report rows in the column order of _REPORT_COLUMNS.
    values = []
    network_hashes: dict[str, str] = {}  # one HMAC per network, not per report
    for incoming, address, location, city, client in rows:
        epoch = int(incoming.created_at.timestamp())
        previous = last_counted.get((incoming.service_id, client))
        counted = previous is None or previous <= epoch - window
        if counted:
            last_counted[(incoming.service_id, client)] = epoch
        prefix = str(network_of(address))
        network = network_hashes.get(prefix)
        if network is None:
            network = network_hashes[prefix] = hashing.network_hash_of_prefix(prefix)
        values.append(
            (
                incoming.service_id,
                incoming.problem,
                incoming.created_at,
                incoming.source,
                city.pk if city else None,
                location.country_code if location else "",
                network,
                counted,
                False,
                not counted,
            )
        )
    votes = [(service_id, client, epoch) for (service_id, client), epoch in last_counted.items()]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _votes_upsert_pg(votes)
            _reports_copy_pg(values)
        else:
            Vote.objects.bulk_create(
                [Vote(service_id=s, client_hash=c, counted_at_epoch=e) for s, c, e in votes],
                update_conflicts=True,
                unique_fields=["service", "client_hash"],
                update_fields=["counted_at_epoch"],
                batch_size=1000,
            )
            Report.objects.bulk_create(
                [Report(**dict(zip(_REPORT_COLUMNS, row, strict=True))) for row in values], batch_size=1000
            )
    return sum(row[7] for row in values)


_REPORT_COLUMNS = (
    "service_id",
    "problem",
    "created_at",
    "source",
    "city_id",
    "country_code",
    "network_hash",
    "counted",
    "abusive",
    "is_aggregated",
)


# PostgreSQL bulk paths. Django's bulk_create and long VALUES lists spend most of a
# backfill converting thousands of placeholders on the client; COPY and unnest() of
# one array per column send the same rows in one statement.


def _reports_copy_pg(values: list[tuple]) -> None:
    sql = f"COPY {Report._meta.db_table} ({', '.join(_REPORT_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in values:
            copy.write_row(row)


def _votes_upsert_pg(votes: list[tuple]) -> None:
    _upsert_unnest_pg(
        Vote,
        ["service_id", "client_hash", "counted_at_epoch"],
        votes,
        "ON CONFLICT (service_id, client_hash) DO UPDATE SET counted_at_epoch = excluded.counted_at_epoch",
    )


def _upsert_unnest_pg(model: type, columns: list[str], rows: list[tuple], conflict_sql: str) -> None:
    """INSERT INTO model (columns) <rows> <conflict_sql>, the rows as one array per column."""
    if not rows:
        return
    meta = model._meta
    arrays = [f"%s::{meta.get_field(column).db_type(connection)}[]" for column in columns]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {meta.db_table} ({', '.join(columns)}) "
            f"SELECT * FROM unnest({', '.join(arrays)}) {conflict_sql}",
            [list(column) for column in zip(*rows, strict=True)],
        )


def reports_aggregate(*, batch_size: int = 20_000) -> int:
    """Fold one batch of new reports into the minute counts; returns how many.

    Claim and count happen in one transaction: a worker killed half-way leaves the rows
    pending for the next run, and SKIP LOCKED lets two workers share the backlog.
    """
    with transaction.atomic():
        pending = list(
            Report.objects.select_for_update(skip_locked=True)
            .filter(is_aggregated=False)
            .order_by("id")
            .values_list(
                "id",
                "service_id",
                "city_id",
                "country_code",
                "problem",
                "created_at",
                "abusive",
            )[:batch_size]
        )
        if not pending:
            return 0
        ids = [row[0] for row in pending]
        if connection.vendor == "postgresql":  # one array, not 20,000 placeholders
            with connection.cursor() as cursor:
                # The time range lets PostgreSQL look in the partitions holding them only.
                times = [row[5] for row in pending]
                cursor.execute(
                    f"UPDATE {Report._meta.db_table} SET is_aggregated = true "
                    "WHERE id = ANY(%s) AND created_at BETWEEN %s AND %s",
                    [ids, min(times), max(times)],
                )
        else:
            Report.objects.filter(id__in=ids).update(is_aggregated=True)
        _minute_counts_apply(
            [
                (service, city, country, problem, at)
                for _, service, city, country, problem, at, abusive in pending
                if not abusive
            ],
            _increment,
        )
    return len(pending)


def reports_aggregate_all(*, batch_size: int = 20_000) -> int:
    total = 0
    while done := reports_aggregate(batch_size=batch_size):
        total += done
    return total


CountRow = tuple[int, int | None, str, str, dt.datetime]  # service, city, country, problem, created_at


def _minute_counts_apply(rows: Iterable[CountRow], operation) -> None:
    """Group reports into the four minute tables' keys and apply `operation` to each."""
    by_service: Counter = Counter()
    by_city: Counter = Counter()
    by_country: Counter = Counter()
    by_problem: Counter = Counter()
    for service_id, city_id, country_code, problem, created_at in rows:
        minute = floor_minute(created_at)
        by_service[(service_id, minute)] += 1
        by_problem[(service_id, problem, minute)] += 1
        if city_id is not None:
            by_city[(service_id, city_id, minute)] += 1
        if country_code:
            by_country[(service_id, country_code, minute)] += 1
    operation(ServiceMinute, ["service_id", "minute"], by_service)
    operation(CityMinute, ["service_id", "city_id", "minute"], by_city)
    operation(CountryMinute, ["service_id", "country_code", "minute"], by_country)
    operation(ProblemMinute, ["service_id", "problem", "minute"], by_problem)


def minute_counts_subtract(*, rows: Iterable[CountRow]) -> None:
    """Take already-counted reports back out of the minute tables (review's network
    exclusion), in the database; a count never goes below zero."""
    _minute_counts_apply(rows, _decrement)


def _decrement(model: type, key_columns: list[str], counts: Counter, chunk: int = 300) -> None:
    """One UPDATE ... FROM (VALUES ...) per chunk of keys (PostgreSQL and SQLite >= 3.33)."""
    if not counts:
        return
    table = model._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    items = [(*key[:-1], adapt(key[-1]), n) for key, n in counts.items()]
    names = [*key_columns, "n"]
    match = " AND ".join(f"{table}.{column} = d.{column}" for column in key_columns)
    with connection.cursor() as cursor:
        for start in range(0, len(items), chunk):
            part = items[start : start + chunk]
            if connection.vendor == "postgresql":
                # VALUES needs its column types spelled out once PostgreSQL compares them.
                casts = [model._meta.get_field(column).db_type(connection) for column in key_columns] + [
                    "integer"
                ]
                row = "(" + ", ".join(f"CAST(%s AS {cast})" for cast in casts) + ")"
                values = f"(VALUES {', '.join([row] * len(part))}) AS d({', '.join(names)})"
            else:
                row = "(" + ", ".join(["%s"] * len(names)) + ")"
                columns = ", ".join(f"column{i + 1} AS {name}" for i, name in enumerate(names))
                values = f"(SELECT {columns} FROM (VALUES {', '.join([row] * len(part))})) AS d"
            cursor.execute(
                f"UPDATE {table} SET count = CASE WHEN {table}.count > d.n THEN {table}.count - d.n ELSE 0 END "
                f"FROM {values} WHERE {match}",
                [value for item in part for value in item],
            )


def _increment(model: type, key_columns: list[str], counts: Counter, chunk: int = 500) -> None:
    """count += n for each key, inserting missing rows: INSERT ... ON CONFLICT DO UPDATE."""
    if not counts:
        return
    table = model._meta.db_table
    columns = [*key_columns, "count"]
    conflict = f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET count = {table}.count + excluded.count"
    adapt = connection.ops.adapt_datetimefield_value
    items = [(*key[:-1], adapt(key[-1]), n) for key, n in counts.items()]
    if connection.vendor == "postgresql":
        _upsert_unnest_pg(model, columns, items, conflict)
        return
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(items), chunk):
            part = items[start : start + chunk]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([placeholders] * len(part))} "
                f"{conflict}",
                [value for row in part for value in row],
            )


def reports_purge_expired(*, now: dt.datetime) -> dict[str, int]:
    """Retention: drop per-report rows older than REPORT_RETENTION_DAYS once counted,
    votes older than the dedupe window and salts older than yesterday. Counts stay.
    On PostgreSQL whole daily partitions go first (reports.partitions); rows outside them
    are deleted."""
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
        counted_at_epoch__lt=int(now.timestamp()) - _dedupe_seconds()
    ).delete()[0]
    deleted_salts = DailySalt.objects.filter(day__lt=now.date() - dt.timedelta(days=1)).delete()[0]
    return {"reports": deleted_reports, "votes": deleted_votes, "salts": deleted_salts}
