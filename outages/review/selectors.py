"""Reads for the review queue, the incident review page and the comments to review (what
the public sees is in outages.public).

The queue shows a page of incidents with their charts and manipulation signals in a
fixed number of queries, whatever the page size (tests/test_review_queue.py pins it).
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, IntegerField, Q, QuerySet, When

from catalogue.models import ProblemType, Service
from outages import detection
from outages.cities import incident_cities_ranked
from outages.flood import usual_mixes_of
from outages.models import Baseline, Incident, IncidentCity
from outages.presenters import isp_text, shared_provider_text
from outages.public import TOGETHER, rose_together
from outages.review.models import ReviewAction
from outages.sparkline import sparkline_points, sparkline_step, sparkline_top
from reports.counts import minute_rows
from reports.models import Comment, Report, ServiceMinute, Source
from reports.selectors import with_problem_labels

Status = Incident.Status
_MINUTE = dt.timedelta(minutes=1)
CHART_BUCKET_MINUTES = 5
CHART_BEFORE = dt.timedelta(hours=1)
CHART_AFTER = dt.timedelta(minutes=30)
CHART_MAX = dt.timedelta(hours=6)
# A network is "new" when it sent this service no report in this long before the incident.
NETWORK_MEMORY = dt.timedelta(days=7)
# Newness is checked for an incident's busiest networks only (an IN list per incident).
NEWNESS_NETWORKS = 2000
PAGE_SIZE = 25
CITIES_SHOWN = 10
# Merged-away incidents live on in the one they were merged into: the queue and the merge
# targets leave them out (the public never sees them: Incident.objects.public()).
_NOT_MERGED_AWAY = Q(review__isnull=True) | Q(review__merged_into__isnull=True)


@dataclass
class Signals:
    reports: int = 0
    networks: int = 0
    top3_share: float = 0.0
    api_share: float = 0.0
    # Share of the reports that came from networks new to the service (see NETWORK_MEMORY).
    new_network_share: float = 0.0
    # [(hash prefix, reports, is_new)] for the three busiest networks.
    top_networks: list[tuple[str, int, bool]] = field(default_factory=list)
    # Distinct IPv6 /48s (IPv4 /24s), announced prefixes and operators behind the reports.
    sites: int = 0
    prefixes: int = 0
    operators: int = 0
    # The busiest operators: (name, share of the reports, usual share or None before any
    # history); "Exclude network" takes "operator:<name>" for one of them.
    top_operators: list[tuple[str, float, float | None]] = field(default_factory=list)
    # The busiest sites and prefixes: (hash prefix, reports), excludable by that hash.
    top_sites: list[tuple[str, int]] = field(default_factory=list)
    top_prefixes: list[tuple[str, int]] = field(default_factory=list)
    # "likely an ISP problem (Vodafone Italia, 4 services)" when the pass found the operator
    # concentrated in several services' spikes at once.
    isp_text: str = ""
    # The same two shares over the service's ordinary traffic of the day before (None: too
    # few reports to say): a flag is raised against them, so that a flag is an exception.
    usual_api_share: float | None = None
    usual_new_network_share: float | None = None

    @property
    def api_flag(self) -> bool:
        return _above_usual(self.api_share, self.usual_api_share)

    @property
    def new_networks_flag(self) -> bool:
        return _above_usual(self.new_network_share, self.usual_new_network_share)


# A share is flagged from FLAG_SHARE up, and only when it is FLAG_MARGIN above the service's
# usual share (where that is known): a crowd that reports through the API, or from networks
# that never reported before (most people report a service once in a long while), every day,
# does not make every incident look suspicious.
FLAG_SHARE = 0.5
FLAG_MARGIN = 0.25
# The ordinary traffic a share is compared with: the day before the incident, when it holds
# at least USUAL_MIN_REPORTS counted reports.
USUAL_WINDOW = dt.timedelta(days=1)
USUAL_MIN_REPORTS = 20


def _above_usual(share: float, usual: float | None) -> bool:
    return share >= FLAG_SHARE and (usual is None or share >= usual + FLAG_MARGIN)


@dataclass
class QueueItem:
    incident: Incident
    duration: dt.timedelta
    cities: list[tuple[str, int]]  # (name in the active language, reports), most affected first
    chart: Chart
    signals: Signals
    together: list[tuple[str, str]]  # (service name, status) of incidents starting near this one
    rose_with: int = 1  # services, this one included, that rose together (public.rose_together)
    problem_labels: dict[str, str] = field(default_factory=dict)  # its service's, by code

    @property
    def shared_provider_text(self) -> str:
        return shared_provider_text(services_together=self.rose_with, operator=self.incident.operator)

    @property
    def top_cities(self) -> list[tuple[str, int]]:
        return self.cities[:CITIES_SHOWN]

    @property
    def more_cities(self) -> list[tuple[str, int]]:
        """The rest, folded away: a nationwide incident names dozens of cities."""
        return self.cities[CITIES_SHOWN:]

    @property
    def problems(self) -> list[tuple[str, int]]:
        """The three most reported problems: (name in the active language, reports)."""
        return [
            (self.problem_labels.get(str(row["code"]), str(row["code"])), int(row["count"]))
            for row in self.incident.problems[:3]
        ]

    @property
    def duration_minutes(self) -> int:
        return int(self.duration.total_seconds() // 60)


@dataclass
class Chart:
    """Reports and the baseline per CHART_BUCKET_MINUTES, drawn on one scale as an inline SVG
    sparkline (outages.sparkline), with the incident's buckets shaded."""

    counts: list[float]
    baseline: list[float | None]
    marked_from: int  # index of the bucket where the incident starts
    marked_to: int

    WIDTH = 240
    HEIGHT = 48

    def _points(self, values: list[float | None]) -> str:
        top = sparkline_top(self.counts, self.baseline)
        return sparkline_points(values, width=self.WIDTH, height=self.HEIGHT, top=top)

    @property
    def count_points(self) -> str:
        return self._points(list(self.counts))

    @property
    def baseline_points(self) -> str:
        return self._points(self.baseline)

    @property
    def band_x(self) -> str:
        return f"{self.marked_from * self._step():.1f}"

    @property
    def band_width(self) -> str:
        return f"{max(self.marked_to - self.marked_from, 1) * self._step():.1f}"

    def _step(self) -> float:
        return sparkline_step(len(self.counts), width=self.WIDTH)


def review_queue(
    *,
    now: dt.datetime,
    service_id: int | None = None,
    status: str | None = None,
    day: dt.date | None = None,
    page: int | str = 1,  # a number, or the ?page= text as sent: Paginator.get_page reads both
    per_page: int = PAGE_SIZE,
) -> tuple[Page, list[QueueItem]]:
    """Ongoing incidents first, then the rest; within each, those waiting for a decision
    (suspected) first, newest first (queue_incidents)."""
    incidents = queue_incidents(service_id=service_id, status=status, day=day)
    paged = Paginator(incidents, per_page).get_page(page)
    return paged, queue_items(list(paged.object_list), now=now)


def queue_incidents(
    *, service_id: int | None = None, status: str | None = None, day: dt.date | None = None
) -> QuerySet[Incident]:
    # A dismissed incident that is still going on is not news: it sorts with the finished ones.
    incidents = Incident.objects.select_related("service", "review").annotate(
        later=Case(
            When(Q(resolved_at__isnull=True) & ~Q(status=Status.DISMISSED), then=0),
            default=1,
            output_field=IntegerField(),
        ),
        waiting=Case(When(status=Status.SUSPECTED, then=0), default=1, output_field=IntegerField()),
    )
    incidents = incidents.filter(status=status) if status else incidents.filter(_NOT_MERGED_AWAY)
    if service_id:
        incidents = incidents.filter(service_id=service_id)
    if day:
        incidents = incidents.filter(started_at__date=day)
    return incidents.order_by("later", "waiting", "-started_at", "-pk")


def queue_items(incidents: list[Incident], *, now: dt.datetime) -> list[QueueItem]:
    """Everything the queue shows beside each incident, in a fixed number of queries."""
    if not incidents:
        return []
    windows = {incident.pk: _window(incident, now) for incident in incidents}
    cities = _cities(incidents)
    charts = _charts(incidents, windows)
    signals = _signals(incidents, windows)
    together, rose_with = _together(incidents)
    labels = _problem_labels(incidents)
    return [
        QueueItem(
            incident=incident,
            duration=windows[incident.pk][1] - incident.started_at,
            cities=cities.get(incident.pk, []),
            chart=charts[incident.pk],
            signals=signals.get(incident.pk, Signals()),
            together=together.get(incident.pk, []),
            rose_with=rose_with[incident.pk],
            problem_labels=labels[incident.service_id],
        )
        for incident in incidents
    ]


def _problem_labels(incidents: list[Incident]) -> dict[int, dict[str, str]]:
    """Each service's problem names by code, translated for the default types: one query."""
    labels: dict[int, dict[str, str]] = defaultdict(dict)
    for problem in ProblemType.objects.filter(service_id__in={incident.service_id for incident in incidents}):
        labels[problem.service_id][problem.code] = problem.display_label
    return labels


def _window(incident: Incident, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    end = incident.resolved_at or max(
        incident.last_elevated_at + _MINUTE, min(now, incident.started_at + CHART_MAX)
    )
    return incident.started_at, end


def _cities(incidents: list[Incident]) -> dict[int, list[tuple[str, int]]]:
    """Each incident's cities as the public surfaces rank them (Incident.affected_cities), by
    their name in the reviewer's language: one query for the page."""
    rows: dict[int, list[IncidentCity]] = defaultdict(list)
    for row in (
        IncidentCity.objects.listed().filter(incident_id__in=[i.pk for i in incidents]).select_related("city")
    ):
        rows[row.incident_id].append(row)
    return {
        pk: [(row.city.local_name(), row.count) for row in incident_cities_ranked(listed)]
        for pk, listed in rows.items()
    }


def _charts(
    incidents: list[Incident], windows: dict[int, tuple[dt.datetime, dt.datetime]]
) -> dict[int, Chart]:
    bucket = dt.timedelta(minutes=CHART_BUCKET_MINUTES)
    ranges = {}
    for incident in incidents:
        start, end = windows[incident.pk]
        lo = _floor(start - CHART_BEFORE, bucket)
        hi = _floor(min(end, start + CHART_MAX) + CHART_AFTER, bucket)
        ranges[incident.pk] = (lo, hi)
    # Every incident's window in one query (OR of the windows).
    in_windows = functools.reduce(
        operator.or_,
        (
            minute_rows(
                ServiceMinute,
                start=ranges[incident.pk][0],
                end=ranges[incident.pk][1],
                service_id=incident.service_id,
            )
            for incident in incidents
        ),
    )
    minutes: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    for service_id, minute, count in in_windows.values_list("service_id", "minute", "count"):
        minutes[service_id].append((minute, count))
    profiles = {
        baseline.service_id: baseline
        for baseline in Baseline.objects.filter(
            service_id__in={i.service_id for i in incidents}, city__isnull=True, country_code=""
        ).only("service_id", "expected", "bucket_minutes", "timezone")
    }
    charts = {}
    for incident in incidents:
        lo, hi = ranges[incident.pk]
        n = max(int((hi - lo) / bucket), 1)
        counts = [0.0] * n
        for minute, count in minutes[incident.service_id]:
            if lo <= minute < hi:
                counts[int((minute - lo) / bucket)] += count
        start, end = windows[incident.pk]
        charts[incident.pk] = Chart(
            counts=counts,
            baseline=_baseline(profiles.get(incident.service_id), lo, n),
            marked_from=int((start - lo) / bucket),
            marked_to=min(int((end - lo) / bucket), n - 1),
        )
    return charts


def _baseline(profile: Baseline | None, start: dt.datetime, n: int) -> list[float | None]:
    """The usual count of each of n chart buckets from `start`: the profile's expected
    reports summed over each bucket's minutes."""
    if profile is None:
        return [None] * n
    first = int(start.timestamp()) // 60
    values = profile.expected_per_minute(first + np.arange(n * CHART_BUCKET_MINUTES))
    values = values.reshape(n, CHART_BUCKET_MINUTES).sum(axis=1)
    return [float(v) if np.isfinite(v) else None for v in values]


def _signals(incidents: list[Incident], windows: dict) -> dict[int, Signals]:
    # One row per (network, source) on the page, with one count column per incident
    # (windows of one service can overlap once incidents are merged, so no CASE).
    in_window = {}
    for incident in incidents:
        start, end = windows[incident.pk]
        in_window[incident.pk] = Q(service_id=incident.service_id, created_at__gte=start, created_at__lt=end)
    per_network: dict[int, Counter] = defaultdict(Counter)
    per_site: dict[int, Counter] = defaultdict(Counter)
    per_prefix: dict[int, Counter] = defaultdict(Counter)
    per_operator: dict[int, Counter] = defaultdict(Counter)
    per_country: dict[int, Counter] = defaultdict(Counter)
    api: Counter = Counter()
    rows = (
        Report.objects.counted()
        .filter(_any(in_window.values()))
        .values("network_hash", "network48_hash", "prefix_hash", "asn_name", "source", "country_code")
        .annotate(**{f"i{pk}": Count("id", filter=q) for pk, q in in_window.items()})
    )
    for row in rows:
        for incident in incidents:
            n = row[f"i{incident.pk}"]
            if n:
                per_network[incident.pk][row["network_hash"]] += n
                per_site[incident.pk][row["network48_hash"] or row["network_hash"]] += n
                if row["prefix_hash"]:
                    per_prefix[incident.pk][row["prefix_hash"]] += n
                if row["asn_name"]:
                    per_operator[incident.pk][row["asn_name"]] += n
                if row["source"] == Source.API:
                    api[incident.pk] += n
                per_country[incident.pk][row["country_code"]] += n
    mixes = usual_mixes_of(incident.service_id for incident in incidents)

    # The networks behind each incident, and those of its service's day before (the usual,
    # USUAL_WINDOW), each checked for reports in the NETWORK_MEMORY before it: one query.
    day_networks, day_api = _usual_day(incidents)
    before = {}
    for incident in incidents:
        busiest = [h for h, _ in per_network[incident.pk].most_common(NEWNESS_NETWORKS)]
        if busiest:
            before[f"i{incident.pk}"] = Q(
                service_id=incident.service_id,
                created_at__gte=incident.started_at - NETWORK_MEMORY,
                created_at__lt=incident.started_at,
                network_hash__in=busiest,
            )
        if sum(day_networks[incident.pk].values()) >= USUAL_MIN_REPORTS:
            before[f"u{incident.pk}"] = Q(
                service_id=incident.service_id,
                created_at__gte=incident.started_at - USUAL_WINDOW - NETWORK_MEMORY,
                created_at__lt=incident.started_at - USUAL_WINDOW,
                network_hash__in=[h for h, _ in day_networks[incident.pk].most_common(NEWNESS_NETWORKS)],
            )
    seen_before: dict[str, set[str]] = defaultdict(set)
    if before:
        rows = (
            Report.objects.filter(_any(before.values()))
            .values("network_hash")
            .annotate(**{key: Count("id", filter=q) for key, q in before.items()})
        )
        for row in rows:
            for key in before:
                # .get: the row's type names only network_hash, as the counts' keys are made here.
                if row.get(key):
                    seen_before[key].add(row["network_hash"])

    found = {}
    for incident in incidents:
        networks = per_network[incident.pk]
        total = sum(networks.values())
        if not total:
            continue
        top = networks.most_common(3)
        checked = networks.most_common(NEWNESS_NETWORKS)
        known = seen_before[f"i{incident.pk}"]
        found[incident.pk] = Signals(
            reports=total,
            networks=len(networks),
            top3_share=sum(n for _, n in top) / total,
            api_share=api[incident.pk] / total,
            new_network_share=sum(n for h, n in checked if h not in known) / total,
            top_networks=[(h[:8], n, h not in known) for h, n in top],
            sites=len(per_site[incident.pk]),
            prefixes=len(per_prefix[incident.pk]),
            operators=len(per_operator[incident.pk]),
            # Each against its usual share where the incident's reports come from, as the
            # ISP verdict compares it (detection.usual_share_here).
            top_operators=[
                (
                    name,
                    n / total,
                    detection.usual_share_here(
                        name,
                        per_country[incident.pk],
                        usual_operators=mixes[incident.service_id].operators,
                        usual_in_countries=mixes[incident.service_id].in_countries,
                    )
                    if mixes[incident.service_id].operators
                    else None,
                )
                for name, n in per_operator[incident.pk].most_common(3)
            ],
            top_sites=[(h[:8], n) for h, n in per_site[incident.pk].most_common(3)],
            top_prefixes=[(h[:8], n) for h, n in per_prefix[incident.pk].most_common(3)],
            isp_text=isp_text(incident.operator),
            **_usual_shares(day_networks[incident.pk], day_api[incident.pk], seen_before[f"u{incident.pk}"]),
        )
    return found


def _usual_day(incidents: list[Incident]) -> tuple[dict[int, Counter], Counter]:
    """Each incident's service's counted reports over the USUAL_WINDOW before it: per network,
    and how many came through the API. One query."""
    day = {
        incident.pk: Q(
            service_id=incident.service_id,
            created_at__gte=incident.started_at - USUAL_WINDOW,
            created_at__lt=incident.started_at,
        )
        for incident in incidents
    }
    per_network: dict[int, Counter] = defaultdict(Counter)
    api: Counter = Counter()
    rows = (
        Report.objects.counted()
        .filter(_any(day.values()))
        .values("network_hash", "source")
        .annotate(**{f"i{pk}": Count("id", filter=q) for pk, q in day.items()})
    )
    for row in rows:
        for pk in day:
            n = row.get(f"i{pk}", 0)
            if n:
                per_network[pk][row["network_hash"]] += n
                if row["source"] == Source.API:
                    api[pk] += n
    return per_network, api


def _usual_shares(networks: Counter, api: int, seen: set[str]) -> dict[str, float | None]:
    """The usual API and new-network shares from a day's reports (None below USUAL_MIN_REPORTS)."""
    total = sum(networks.values())
    if total < USUAL_MIN_REPORTS:
        return {"usual_api_share": None, "usual_new_network_share": None}
    checked = networks.most_common(NEWNESS_NETWORKS)
    return {
        "usual_api_share": api / total,
        "usual_new_network_share": sum(n for h, n in checked if h not in seen) / total,
    }


def _any(conditions: Iterable[Q]) -> Q:
    combined = Q(pk__in=[])
    for condition in conditions:
        combined |= condition
    return combined


def _together(incidents: list[Incident]) -> tuple[dict[int, list[tuple[str, str]]], dict[int, int]]:
    """The other services' public incidents that started within TOGETHER of each one, as
    (name, review state in the active language), and how many services rose together with it (public.rose_together)."""
    near = Q()
    for incident in incidents:
        near |= Q(
            started_at__gte=incident.started_at - TOGETHER, started_at__lte=incident.started_at + TOGETHER
        )
    others = list(
        Incident.objects.public()
        .filter(near)
        .values_list("pk", "service_id", "service__name", "status", "started_at", "operator")
    )
    found: dict[int, list[tuple[str, str]]] = {}
    rose_with: dict[int, int] = {}
    for incident in incidents:
        found[incident.pk] = sorted(
            {
                (name, str(Status(status).label))
                for pk, service_id, name, status, started_at, _ in others
                if service_id != incident.service_id and abs(started_at - incident.started_at) <= TOGETHER
            }
        )
        rose_with[incident.pk] = rose_together(
            incident,
            [(service_id, started_at, operator) for _, service_id, _, _, started_at, operator in others],
        )
    return found, rose_with


def _floor(moment: dt.datetime, step: dt.timedelta) -> dt.datetime:
    seconds = int(step.total_seconds())
    return dt.datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, tz=dt.UTC)


# --- the incident page ----------------------------------------------------------------------


def incident_audit(incident_id: int) -> QuerySet[ReviewAction]:
    return (
        ReviewAction.objects.filter(incident_id=incident_id)
        .select_related("incident")
        .order_by("created_at", "pk")
    )


def merge_candidates(incident: Incident) -> QuerySet[Incident]:
    """Later incidents of the same service within a week, which this one may merge into."""
    return (
        Incident.objects.filter(
            service_id=incident.service_id,
            started_at__gt=incident.started_at,
            started_at__lte=incident.started_at + dt.timedelta(days=7),
        )
        .filter(_NOT_MERGED_AWAY)
        .order_by("started_at")
    )


def review_services() -> QuerySet[Service]:
    return Service.objects.order_by("name").only("pk", "name")


# --- comments -------------------------------------------------------------------------------

COMMENT_PAGE_SIZE = 50


def review_comments(*, state: str, page: int | str = 1, per_page: int = COMMENT_PAGE_SIZE) -> Page:
    """A page of comments in `state` (pending, or approved for hiding), newest first, with
    their service, city and problem label. Four queries, whatever the page size."""
    comments = (
        Comment.objects.filter(state=state).select_related("service", "city").order_by("-created_at", "-id")
    )
    paged = Paginator(comments, per_page).get_page(page)
    paged.object_list = with_problem_labels(list(paged.object_list))
    return paged
