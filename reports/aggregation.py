"""Counting reports: folding new rows into the minute count tables in batches (a Celery
beat job, and the first step of every detection pass), taking counted reports back out
(review), and the bulk ingest of many reports at once (backfill, simulator).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from geo.ip import parse_ip
from geo.lookup import locate
from geo.services import city_for_location
from reports import dialect, hashing
from reports.intake import ReportRejected, dedupe_seconds
from reports.minutes import floor_minute
from reports.models import CityMinute, CountryMinute, ProblemMinute, Report, ServiceMinute, Vote


@dataclass(frozen=True, slots=True)
class IncomingReport:
    """A report to ingest in bulk (backfill, simulator): same rules as report_create."""

    service_id: int
    problem: str
    client_ip: str
    created_at: dt.datetime
    source: str


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
    window = dedupe_seconds()
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
    # Report rows in the column order of dialect.REPORT_COLUMNS.
    values = []
    network_hashes: dict[str, str] = {}  # one HMAC per network, not per report
    for incoming, address, location, city, client in rows:
        epoch = int(incoming.created_at.timestamp())
        previous = last_counted.get((incoming.service_id, client))
        counted = previous is None or previous <= epoch - window
        if counted:
            last_counted[(incoming.service_id, client)] = epoch
        network = hashing.network_identity(address, cache=network_hashes)
        values.append(
            (
                incoming.service_id,
                incoming.problem,
                incoming.created_at,
                incoming.source,
                city.pk if city else None,
                location.country_code if location else "",
                network.network_hash,
                network.network48_hash,
                network.prefix_hash,
                network.asn,
                network.asn_name,
                counted,
                False,
                not counted,
            )
        )
    votes = [(service_id, client, epoch) for (service_id, client), epoch in last_counted.items()]
    with transaction.atomic():
        dialect.votes_upsert(votes)
        dialect.reports_insert_bulk(values)
    return sum(row[11] for row in values)


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
        dialect.reports_mark_aggregated([row[0] for row in pending], [row[5] for row in pending])
        _minute_counts_apply(
            [
                (service, city, country, problem, at)
                for _, service, city, country, problem, at, abusive in pending
                if not abusive
            ],
            dialect.counts_increment,
        )
    return len(pending)


def reports_aggregate_all(*, batch_size: int = 20_000) -> int:
    total = 0
    while done := reports_aggregate(batch_size=batch_size):
        total += done
    return total


CountRow = tuple[int, int | None, str, str, dt.datetime]  # service, city, country, problem, created_at


def _minute_counts_apply(
    rows: Iterable[CountRow], operation: Callable[[type, list[str], list[tuple]], None]
) -> None:
    """Group reports into the four minute tables' keys and apply `operation` to each
    table's (*key, n) items."""
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
    adapt = connection.ops.adapt_datetimefield_value
    for model, key_columns, counts in (
        (ServiceMinute, ["service_id", "minute"], by_service),
        (CityMinute, ["service_id", "city_id", "minute"], by_city),
        (CountryMinute, ["service_id", "country_code", "minute"], by_country),
        (ProblemMinute, ["service_id", "problem", "minute"], by_problem),
    ):
        operation(model, key_columns, [(*key[:-1], adapt(key[-1]), n) for key, n in counts.items()])


def minute_counts_subtract(*, rows: Iterable[CountRow]) -> None:
    """Take already-counted reports back out of the minute tables (review's network
    exclusion), in the database; a count never goes below zero."""
    _minute_counts_apply(rows, dialect.counts_decrement)
