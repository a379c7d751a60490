"""The peak of an outage and its window: the one rule every surface follows.

The peak is the busiest clock-aligned bucket of PEAK_MINUTES (Downdetector's "1,251
reports at 17:00"), the same buckets the charts draw, dated no earlier than the incident
it belongs to. The detection pass follows it minute by minute as an incident grows
(outages.detection.aligned_running_sum, Incident.record_peak); everything that measures it
again from the stored counts (the service page's headline, review after an exclusion, an
incident's peak in one country) calls `busiest_bucket` or `incident_peaks` here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from outages.models import RESOLVE_QUIET_MINUTES, WORLD, Incident
from reports.counts import window_bucket_sums
from reports.models import CountryMinute, ServiceMinute

PEAK_MINUTES = 15
_MINUTE = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Peak:
    start: dt.datetime  # the bucket's start, or the incident's start when it began inside it
    count: int


def bucket_floor(moment: dt.datetime, minutes: int = PEAK_MINUTES) -> dt.datetime:
    """The start of the clock-aligned bucket of `minutes` holding `moment`."""
    epoch = int(moment.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % (minutes * 60), tz=dt.UTC)


def busiest_bucket(
    buckets: Iterable[tuple[dt.datetime, int]], *, since: dt.datetime | None = None
) -> Peak | None:
    """The busiest of (start, count) aligned buckets (the earliest of equals), from the
    bucket holding `since` on (an incident's start), dated no earlier than `since`; None
    without a report."""
    first = bucket_floor(since) if since is not None else None
    best: Peak | None = None
    for start, count in buckets:
        if (first is None or start >= first) and count > 0 and (best is None or count > best.count):
            best = Peak(start, count)
    if best is not None and since is not None and best.start < since:
        best = Peak(since, best.count)
    return best


def incident_window(incident: Incident, *, until: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The minutes an incident's peak is measured over, half-open: from the start of the
    bucket holding its start (a bucket counts from the clock) through the minutes detection
    followed it (a resolved one until its quiet spell ended), and never past `until`."""
    end = until
    if incident.resolved_at is not None:
        end = min(end, incident.last_elevated_at + dt.timedelta(minutes=RESOLVE_QUIET_MINUTES))
    return bucket_floor(incident.started_at), max(end, incident.started_at + _MINUTE)


def incident_peaks(
    incidents: Sequence[Incident], *, scope: str = WORLD, until: dt.datetime
) -> dict[int, Peak | None]:
    """Each incident's peak in `scope` (the world, or a country's own reports), measured
    from the stored minute counts up to `until`. One query for any number of incidents."""
    windows = [(incident.service_id, *incident_window(incident, until=until)) for incident in incidents]
    per_bucket: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    for index, bucket, count in window_bucket_sums(
        CountryMinute if scope != WORLD else ServiceMinute,
        windows,
        per_seconds=PEAK_MINUTES * 60,
        country=scope,
    ):
        start = dt.datetime.fromtimestamp(bucket * PEAK_MINUTES * 60, tz=dt.UTC)
        per_bucket[index].append((start, count))
    return {
        incident.pk: busiest_bucket(sorted(per_bucket[i]), since=incident.started_at)
        for i, incident in enumerate(incidents)
    }
