"""The reports app's SQL that differs between PostgreSQL (production) and SQLite (the
embedded `make run` default). Every vendor switch of the app is here; the modules that
take, count and read reports call these and stay one dialect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import cast

import psycopg
from django.db import connection, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from reports.models import Report, Vote


def is_postgresql(using: BaseDatabaseWrapper | None = None) -> bool:
    return (using or connection).vendor == "postgresql"


def epoch_seconds_sql(column: str, vendor: str) -> str:
    """SQL for a timestamp column's whole seconds since the epoch, rounded down, on `vendor`'s
    database: raw SQL reads group counts by it as plain integers on PostgreSQL and SQLite."""
    if vendor == "postgresql":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)"
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"


# --- the vote claim and the report row (reports.intake) -------------------------------------

_CLAIM_VOTE_SQL = f"""
    INSERT INTO {Vote._meta.db_table} (service_id, client_hash, counted_at_epoch)
    VALUES (%s, %s, %s)
    ON CONFLICT (service_id, client_hash) DO UPDATE
        SET counted_at_epoch = excluded.counted_at_epoch
        WHERE {Vote._meta.db_table}.counted_at_epoch <= %s
    RETURNING id
"""

# The vote claim and the report row in one statement: the same rules as the claim in a
# transaction, in one round trip instead of four (BEGIN, claim, insert, COMMIT), which
# is most of a report's database time. PostgreSQL only: SQLite has no INSERT in WITH.
# A new Report column without a database default must be added here.
_INSERT_REPORT_CLAIMING_VOTE_SQL = f"""
    WITH vote AS ({_CLAIM_VOTE_SQL}),
    claim AS (SELECT EXISTS (SELECT FROM vote) AS counted)
    INSERT INTO {Report._meta.db_table} (
        service_id, problem, created_at, source, city_id, country_code, network_hash,
        network48_hash, prefix_hash, asn, asn_name, counted, abusive, is_aggregated
    )
    SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, counted, false, NOT counted FROM claim
    RETURNING id, counted
"""


def report_insert_claiming_vote(report: Report, *, client_hash: str, now_epoch: int, window: int) -> None:
    """Insert `report`, counted when it claims the client's vote: no counted report of the
    client for the service in the last `window` seconds. One statement claims the vote, so
    the database serialises concurrent duplicates on the row."""
    if not is_postgresql():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    _CLAIM_VOTE_SQL, [report.service_id, client_hash, now_epoch, now_epoch - window]
                )
                report.counted = cursor.fetchone() is not None
            # A repeat is kept as evidence but never counted, so nothing to aggregate.
            report.is_aggregated = not report.counted
            report.save(force_insert=True)
        return
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
                now_epoch - window,
                report.service_id,
                report.problem,
                report.created_at,
                report.source,
                report.city_id,
                report.country_code,
                report.network_hash,
                report.network48_hash,
                report.prefix_hash,
                report.asn,
                report.asn_name,
            ],
            prepare=True,
        )
        report.pk, report.counted = cast(tuple[int, bool], cursor.fetchone())
    report.is_aggregated = not report.counted
    report._state.adding = False
    report._state.db = connection.alias


# --- bulk ingest and counting (reports.aggregation) -----------------------------------------
# PostgreSQL bulk paths: Django's bulk_create and long VALUES lists spend most of a
# backfill converting thousands of placeholders on the client; COPY and unnest() of one
# array per column send the same rows in one statement.

REPORT_COLUMNS = (
    "service_id",
    "problem",
    "created_at",
    "source",
    "city_id",
    "country_code",
    "network_hash",
    "network48_hash",
    "prefix_hash",
    "asn",
    "asn_name",
    "counted",
    "abusive",
    "is_aggregated",
)


def reports_insert_bulk(values: list[tuple]) -> None:
    """Insert report rows given in the column order of REPORT_COLUMNS."""
    if is_postgresql():
        sql = f"COPY {Report._meta.db_table} ({', '.join(REPORT_COLUMNS)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in values:
                copy.write_row(row)
        return
    Report.objects.bulk_create(
        [Report(**dict(zip(REPORT_COLUMNS, row, strict=True))) for row in values], batch_size=1000
    )


def votes_upsert(votes: list[tuple[int, str, int]]) -> None:
    """(service id, client hash, counted_at_epoch) rows, replacing each client's last vote."""
    if is_postgresql():
        _upsert_unnest_pg(
            Vote,
            ["service_id", "client_hash", "counted_at_epoch"],
            votes,
            "ON CONFLICT (service_id, client_hash) DO UPDATE SET counted_at_epoch = excluded.counted_at_epoch",
        )
        return
    Vote.objects.bulk_create(
        [Vote(service_id=s, client_hash=c, counted_at_epoch=e) for s, c, e in votes],
        update_conflicts=True,
        unique_fields=["service", "client_hash"],
        update_fields=["counted_at_epoch"],
        batch_size=1000,
    )


def _upsert_unnest_pg(
    model: type[models.Model], columns: list[str], rows: list[tuple], conflict_sql: str
) -> None:
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


def reports_mark_aggregated(ids: list[int], times: Sequence[dt.datetime]) -> None:
    """is_aggregated = true for the reports `ids`, created at `times`."""
    if not is_postgresql():
        Report.objects.filter(id__in=ids).update(is_aggregated=True)
        return
    with connection.cursor() as cursor:
        # One array, not 20,000 placeholders; the time range lets PostgreSQL look in the
        # partitions holding them only.
        cursor.execute(
            f"UPDATE {Report._meta.db_table} SET is_aggregated = true "
            "WHERE id = ANY(%s) AND created_at BETWEEN %s AND %s",
            [ids, min(times), max(times)],
        )


def counts_increment(
    model: type[models.Model], key_columns: list[str], items: list[tuple], chunk: int = 500
) -> None:
    """count += n for each (*key, n) of `items`, inserting missing rows: INSERT ... ON
    CONFLICT DO UPDATE."""
    if not items:
        return
    table = model._meta.db_table
    columns = [*key_columns, "count"]
    conflict = f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET count = {table}.count + excluded.count"
    if is_postgresql():
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


def counts_decrement(
    model: type[models.Model], key_columns: list[str], items: list[tuple], chunk: int = 300
) -> None:
    """count -= n for each (*key, n) of `items`, never below zero: one UPDATE ... FROM
    (VALUES ...) per chunk of keys (PostgreSQL and SQLite >= 3.33)."""
    if not items:
        return
    table = model._meta.db_table
    names = [*key_columns, "n"]
    match = " AND ".join(f"{table}.{column} = d.{column}" for column in key_columns)
    with connection.cursor() as cursor:
        for start in range(0, len(items), chunk):
            part = items[start : start + chunk]
            if is_postgresql():
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
