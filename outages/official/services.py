"""Polling official status pages and storing each change of state.

A poll claims its source with a conditional UPDATE of next_poll (so however many beats or
workers ask, a page is fetched at most once per OFFICIAL_STATUS_POLL_SECONDS), fetches it
through outages.outbound (address checks on every hop, a total deadline, a size cap) with
the validators of the last answer (ETag, Last-Modified), and stores what it read. No
transaction is held while the page is on the wire."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from catalogue.models import Service
from outages import outbound
from outages.official.models import OfficialSource, OfficialState
from outages.official.parse import Reading, Unreadable, feed_read, statuspage_read

logger = logging.getLogger(__name__)

Problem = OfficialSource.Problem
# A failing page is tried again after the poll interval times 2 ** (failures - 1), up to this.
BACKOFF_MAX = dt.timedelta(hours=1)
_ACCEPT: dict[str, str] = {
    Service.OfficialFormat.STATUSPAGE: "application/json",
    Service.OfficialFormat.FEED: "application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.1",
}


def official_sources_due(*, now: dt.datetime) -> list[int]:
    """The services whose official page is due for a poll; a service that has just been
    given one gets its source row here."""
    named = (
        Service.objects.active().exclude(official_format=Service.OfficialFormat.NONE).exclude(official_url="")
    )
    OfficialSource.objects.bulk_create(
        [OfficialSource(service_id=pk, url=url) for pk, url in named.values_list("pk", "official_url")],
        ignore_conflicts=True,
    )
    due = OfficialSource.objects.filter(service__in=named).filter(
        Q(next_poll__isnull=True) | Q(next_poll__lte=now)
    )
    return list(due.values_list("service_id", flat=True))


def official_poll(*, service_id: int, now: dt.datetime) -> str:
    """Poll one service's official page if it is due; what happened, in a word: skipped
    (not due, or no page), unchanged, changed, unreachable or unreadable."""
    service = Service.objects.filter(pk=service_id).first()
    if service is None or not service.has_official_status:
        return "skipped"
    OfficialSource.objects.get_or_create(service=service, defaults={"url": service.official_url})
    claimed = (
        OfficialSource.objects.filter(service=service)
        .filter(Q(next_poll__isnull=True) | Q(next_poll__lte=now))
        .update(next_poll=now + dt.timedelta(seconds=settings.OFFICIAL_STATUS_POLL_SECONDS))
    )
    if not claimed:
        return "skipped"
    source = OfficialSource.objects.select_related("current").get(service=service)
    if source.url != service.official_url:  # a new address: the old validators mean nothing there
        source.url, source.etag, source.last_modified = service.official_url, "", ""
    headers = {"User-Agent": "Downradar-Official-Status/1", "Accept": _ACCEPT[service.official_format]}
    if source.etag:
        headers["If-None-Match"] = source.etag
    if source.last_modified:
        headers["If-Modified-Since"] = source.last_modified
    limit = settings.OFFICIAL_STATUS_MAX_BYTES
    try:
        answer = outbound.get(
            source.url,
            headers=headers,
            allowed=outbound.public_or_loopback
            if settings.OFFICIAL_STATUS_ALLOW_LOOPBACK
            else outbound.address_allowed,
            deadline=float(settings.OFFICIAL_STATUS_DEADLINE_SECONDS),
            limit=limit,
        )
    except outbound.OutboundError as exc:
        return _failed(source, now, Problem.UNREACHABLE, f"status page {exc}")
    if answer.status == 304 and source.current is not None:
        return _read(source, now, None)
    if answer.status != 200:
        return _failed(source, now, Problem.UNREACHABLE, f"HTTP {answer.status} from the status page")
    if not answer.complete:
        return _failed(source, now, Problem.UNREADABLE, f"status page larger than {limit} bytes")
    try:
        if service.official_format == Service.OfficialFormat.STATUSPAGE:
            reading = statuspage_read(answer.body)
        else:
            reading = feed_read(answer.body, now=now)
    except Unreadable as exc:
        return _failed(source, now, Problem.UNREADABLE, f"status page unreadable: {exc}")
    source.etag = answer.headers.get("etag", "")[:200]
    source.last_modified = answer.headers.get("last-modified", "")[:100]
    return _read(source, now, reading)


@transaction.atomic
def _read(source: OfficialSource, now: dt.datetime, reading: Reading | None) -> str:
    """A poll that read the page (reading None: 304, as before): a new state gets its row,
    dated by the page's own time, kept after our last poll that saw the old one."""
    outcome = "unchanged"
    if reading is not None and (source.current is None or source.current.state != reading.state):
        changed_at = min(reading.changed_at or now, now)
        if source.checked_at is not None:
            changed_at = max(changed_at, source.checked_at)
        source.current = OfficialState.objects.create(
            service_id=source.service_id, state=reading.state, changed_at=changed_at, seen_at=now
        )
        outcome = "changed"
    source.checked_at = now
    source.failures = 0
    source.problem = Problem.NONE
    source.last_error = ""
    source.save(
        update_fields=[
            "url",
            "etag",
            "last_modified",
            "current",
            "checked_at",
            "failures",
            "problem",
            "last_error",
        ]
    )
    return outcome


def _failed(source: OfficialSource, now: dt.datetime, problem: str, error: str) -> str:
    """A poll that could not read the page: say so, and back off (the next poll waits
    twice as long after each failure in a row, up to BACKOFF_MAX)."""
    failures = source.failures + 1
    wait = dt.timedelta(
        seconds=outbound.retry_after(
            settings.OFFICIAL_STATUS_POLL_SECONDS, failures, BACKOFF_MAX.total_seconds()
        )
    )
    OfficialSource.objects.filter(pk=source.pk).update(
        url=source.url,
        etag=source.etag,
        last_modified=source.last_modified,
        failures=failures,
        problem=problem,
        last_error=error[:1000],
        next_poll=now + wait,
    )
    logger.info("official status of service %s: %s (failure %d)", source.service_id, error, failures)
    return problem
