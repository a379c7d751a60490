"""Time partitions of the raw reports and the minute counts (PostgreSQL only).

`reports_report` is partitioned by day of `created_at`, the four minute tables by month of
`minute` (PostgreSQL declarative range partitioning). Each table also has a DEFAULT
partition, so an insert never fails for want of a partition: a far-future clock or a
backfill of old reports lands there, and when the partition for that range is created later
its rows are moved out of the default first (PostgreSQL refuses the new partition otherwise).

A beat task (reports.tasks.partitions_maintain) keeps partitions created ahead; retention
(reports.retention.reports_purge_expired) drops whole daily report partitions once they are
past REPORT_RETENTION_DAYS. The count tables are never dropped: counts are kept.

Primary keys are (id, partition key): PostgreSQL requires every unique constraint of a
partitioned table to include its partition key. The count tables' natural keys already
include `minute`, so their ON CONFLICT targets are unchanged. On SQLite everything here is
a no-op and the tables stay plain.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from django.db import OperationalError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from reports import dialect

logger = logging.getLogger(__name__)

# Daily report partitions ahead of today; monthly count partitions ahead of this month.
REPORT_DAYS_AHEAD = 7
COUNT_MONTHS_AHEAD = 2
# A conversion creates partitions back to the oldest row, but no further than this many
# periods: anything older goes to the default partition.
MAX_PERIODS_BACK = 400
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout expired


@dataclass(frozen=True)
class PartitionedTable:
    table: str
    column: str
    period: str  # "day" or "month"

    def start_of(self, moment: dt.datetime) -> dt.datetime:
        moment = moment.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return moment if self.period == "day" else moment.replace(day=1)

    def next_start(self, start: dt.datetime) -> dt.datetime:
        if self.period == "day":
            return start + dt.timedelta(days=1)
        return (start + dt.timedelta(days=32)).replace(day=1)

    def name_of(self, start: dt.datetime) -> str:
        return f"{self.table}_p{start:%Y%m%d}" if self.period == "day" else f"{self.table}_p{start:%Y%m}"

    def start_from_name(self, name: str) -> dt.datetime | None:
        match = re.fullmatch(rf"{re.escape(self.table)}_p(\d{{8}}|\d{{6}})", name)
        if match is None:
            return None
        digits = match.group(1)
        fmt = "%Y%m%d" if len(digits) == 8 else "%Y%m"
        return dt.datetime.strptime(digits, fmt).replace(tzinfo=dt.UTC)

    @property
    def default(self) -> str:
        return f"{self.table}_default"


REPORTS = PartitionedTable("reports_report", "created_at", "day")
COUNTS = [
    PartitionedTable("reports_serviceminute", "minute", "month"),
    PartitionedTable("reports_cityminute", "minute", "month"),
    PartitionedTable("reports_countryminute", "minute", "month"),
    PartitionedTable("reports_problemminute", "minute", "month"),
]
TABLES = [REPORTS, *COUNTS]


def enabled(using: BaseDatabaseWrapper | None = None) -> bool:
    return dialect.is_postgresql(using)


def partitions(table: PartitionedTable) -> dict[dt.datetime, str]:
    """The table's range partitions by start (the default partition not included)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [table.table],
        )
        names = [row[0] for row in cursor.fetchall()]
    found = {}
    for name in names:
        start = table.start_from_name(name)
        if start is not None:
            found[start] = name
    return found


def is_partitioned(table: PartitionedTable) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [table.table])
        return cursor.fetchone() is not None


def partitions_ensure(*, now: dt.datetime, since: dt.datetime | None = None) -> list[str]:
    """Create the partitions from `since` (default: the current period) to the periods ahead;
    returns the names created. Safe to run any time, twice, or from several workers."""
    if not enabled():
        return []
    created = []
    for table in TABLES:
        ahead = (
            now + dt.timedelta(days=REPORT_DAYS_AHEAD)
            if table.period == "day"
            else _months_after(now, COUNT_MONTHS_AHEAD)
        )
        start = table.start_of(since or now)
        last = table.start_of(ahead)
        while start <= last:
            if _partition_create(table, start, lock_timeout="5s"):
                created.append(table.name_of(start))
            start = table.next_start(start)
    return created


def _months_after(moment: dt.datetime, months: int) -> dt.datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1, day=1)


def _partition_create(
    table: PartitionedTable, start: dt.datetime, *, lock_timeout: str | None = None
) -> bool:
    name = table.name_of(start)
    end = table.next_start(start)
    with transaction.atomic(), connection.cursor() as cursor:
        if lock_timeout:
            # Creating a partition locks the table for a moment: never queue inserts behind a
            # long query for it. It fails instead, and the next hourly run tries again (the
            # partitions are days ahead of need).
            cursor.execute(f"SET LOCAL lock_timeout = '{lock_timeout}'")
        # One creator at a time per table (beat, a migration, a manual run).
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"partitions:{table.table}"])
        cursor.execute("SELECT to_regclass(%s)", [name])
        if cursor.fetchone()[0] is not None:
            return False
        # Rows that landed in the default partition for this range move into the new one.
        cursor.execute(
            f"CREATE TEMPORARY TABLE partition_moved ON COMMIT DROP AS "
            f"WITH moved AS (DELETE FROM {table.default} WHERE {table.column} >= %s AND {table.column} < %s "
            f"RETURNING *) SELECT * FROM moved",
            [start, end],
        )
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF {table.table} FOR VALUES FROM (%s) TO (%s)", [start, end]
        )
        cursor.execute(f"INSERT INTO {table.table} SELECT * FROM partition_moved")
        cursor.execute("DROP TABLE partition_moved")  # a migration calls this in one transaction
    return True


def report_partitions_drop(*, before: dt.datetime) -> int:
    """Retention: drop the daily report partitions that end at or before `before`, each
    once all its rows are counted; returns the rows dropped. Rows elsewhere (the default
    partition, the day the cutoff falls in) are left to row deletes."""
    if not enabled() or not is_partitioned(REPORTS):
        return 0
    dropped = 0
    for start, name in sorted(partitions(REPORTS).items()):
        if REPORTS.next_start(start) > before:
            break
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {name}")
            rows = cursor.fetchone()[0]
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                # Dropping a partition locks the whole table: never queue inserts behind a
                # long query for it; the next run tries again.
                cursor.execute("SET LOCAL lock_timeout = '2s'")
                cursor.execute(f"LOCK TABLE {REPORTS.table} IN ACCESS EXCLUSIVE MODE")
                cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {name} WHERE NOT is_aggregated)")
                if cursor.fetchone()[0]:
                    continue  # uncounted rows: left to the row deletes after aggregation
                cursor.execute(f"DROP TABLE {name}")
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            logger.warning("retention: %s is busy, not dropped this time", name)
            continue
        dropped += rows
    return dropped


# --- converting plain tables (migrations) ---------------------------------------------------


def tables_partition(schema_editor, *, now: dt.datetime) -> None:
    """Turn the plain tables into partitioned ones holding the same rows (a migration step;
    the tables are rewritten, so it takes as long as copying them)."""
    if not enabled(schema_editor.connection):
        return
    for table in TABLES:
        _rebuild(schema_editor, table, partitioned=True)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT min({table.column}) FROM {table.default}")
            oldest = cursor.fetchone()[0]
        since = None
        if oldest is not None:
            since = max(oldest, _periods_before(table, now, MAX_PERIODS_BACK))
        _ensure_table(table, now=now, since=min(since or now, now))


def tables_unpartition(schema_editor) -> None:
    if not enabled(schema_editor.connection):
        return
    for table in TABLES:
        _rebuild(schema_editor, table, partitioned=False)


def _ensure_table(table: PartitionedTable, *, now: dt.datetime, since: dt.datetime) -> None:
    ahead = (
        now + dt.timedelta(days=REPORT_DAYS_AHEAD)
        if table.period == "day"
        else _months_after(now, COUNT_MONTHS_AHEAD)
    )
    start, last = table.start_of(since), table.start_of(ahead)
    while start <= last:
        _partition_create(table, start)
        start = table.next_start(start)


def _periods_before(table: PartitionedTable, now: dt.datetime, periods: int) -> dt.datetime:
    if table.period == "day":
        return now - dt.timedelta(days=periods)
    return _months_after(now, -periods)


def _rebuild(schema_editor, table: PartitionedTable, *, partitioned: bool) -> None:
    """Recreate `table` as a partitioned (or plain) table with the same columns, defaults,
    checks, identity, indexes, unique and foreign-key constraints, and copy its rows."""
    name, old = table.table, f"{table.table}_old"
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s",
            [name],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f')",
            [name],
        )
        constraints = cursor.fetchall()
        owned = {conname for conname, _, _ in constraints}
        cursor.execute(f"ALTER TABLE {name} RENAME TO {old}")
        for conname in owned:
            cursor.execute(f"ALTER TABLE {old} DROP CONSTRAINT {conname}")
        for indexname, _ in indexes:
            if indexname not in owned:
                cursor.execute(f"DROP INDEX {indexname}")
        suffix = f" PARTITION BY RANGE ({table.column})" if partitioned else ""
        cursor.execute(
            f"CREATE TABLE {name} (LIKE {old} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS){suffix}"
        )
        if partitioned:
            cursor.execute(f"CREATE TABLE {table.default} PARTITION OF {name} DEFAULT")
        primary = ("id", table.column) if partitioned else ("id",)
        cursor.execute(f"ALTER TABLE {name} ADD CONSTRAINT {name}_pkey PRIMARY KEY ({', '.join(primary)})")
        for conname, contype, definition in constraints:
            if contype != "p":
                cursor.execute(f"ALTER TABLE {name} ADD CONSTRAINT {conname} {definition}")
        for indexname, definition in indexes:
            if indexname not in owned:
                cursor.execute(definition)
        cursor.execute(f"INSERT INTO {name} SELECT * FROM {old}")
        cursor.execute(f"DROP TABLE {old}")
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), coalesce(max(id), 0) + 1, false) FROM {name}",
            [name],
        )
        if not partitioned:
            cursor.execute("DROP TABLE IF EXISTS " + table.default)
