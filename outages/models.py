from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping

import numpy as np
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalogue.models import Service
from outages import detection
from outages.cities import incident_cities_ranked

# --- detection: baselines, incidents, status (filled by outages.baselines and outages.detection_pass) ------------------


class Baseline(models.Model):
    """The seasonal profile of one series: a service (city and country empty), a service in a
    city, or a service in a country (country_code set, city empty).

    One row per series rather than per slot: a profile is read and written whole, and the
    detection pass needs thousands of them every minute. `expected` holds float32 values,
    little-endian, shaped (7 local weekdays from Monday, 1440 // bucket_minutes slots), NaN
    where the series has no history; see outages.detection.Profile.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="baselines")
    city = models.ForeignKey("geo.City", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    country_code = models.CharField(max_length=2, blank=True, default="", db_default="")
    bucket_minutes = models.PositiveSmallIntegerField()
    timezone = models.CharField(max_length=64)
    expected = models.BinaryField()
    # Negative binomial overdispersion of one bucket (variance = mu + alpha * mu**2), and
    # the part of it neighbouring buckets share (outages.detection.Profile.beta).
    alpha = models.FloatField()
    beta = models.FloatField()
    # The series' calibrated bar for each window of the detector, shortest first
    # (outages.detection.calibration); empty: uncalibrated, every bar is the threshold.
    bars = models.JSONField(default=list, blank=True)
    history_reports = models.PositiveIntegerField(default=0)
    built_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service"],
                condition=models.Q(city__isnull=True, country_code=""),
                name="outages_baseline_one_per_service",
            ),
            models.UniqueConstraint(
                fields=["service", "country_code"],
                condition=models.Q(city__isnull=True) & ~models.Q(country_code=""),
                name="outages_baseline_one_per_country",
            ),
            models.UniqueConstraint(
                fields=["service", "city"],
                condition=models.Q(city__isnull=False),
                name="outages_baseline_one_per_city",
            ),
        ]

    def __str__(self) -> str:
        where = f" in city {self.city_id}" if self.city_id else ""
        where = f" in {self.country_code}" if self.country_code else where
        return f"baseline of service {self.service_id}{where}"

    @staticmethod
    def decode(blob: bytes | memoryview, bucket_minutes: int) -> np.ndarray:
        """A stored `expected` as its (7, slots) float32 array: the one place that reads it."""
        return np.frombuffer(bytes(blob), dtype="<f4").reshape(7, 1440 // bucket_minutes)

    @staticmethod
    def encode(expected: np.ndarray) -> bytes:
        return np.asarray(expected).astype("<f4").tobytes()

    def expected_per_minute(self, epoch_minutes: np.ndarray) -> np.ndarray:
        """Expected reports in each of these epoch minutes (float64), through the one
        conversion from a profile (outages.detection.expected_per_minute); NaN without history."""
        profile = self.decode(self.expected, self.bucket_minutes)
        return detection.expected_per_minute(
            profile, epoch_minutes, timezone=self.timezone, bucket_minutes=self.bucket_minutes
        ).astype(float)


# The scope of the worldwide status; any other scope is an ISO 3166-1 country code.
WORLD = ""


class ServiceStatusQuerySet(models.QuerySet):
    def world(self) -> ServiceStatusQuerySet:
        return self.filter(scope=WORLD)


class ServiceStatus(models.Model):
    """A service's public status in one scope (the world, or one country), with its reason,
    so every page, the API, the feeds and the map read one row. Written by the detection
    pass and by every review action, both through outages.status; `evidence` is what the
    scope's counts alone said. A service always has its worldwide row once the pass has
    seen it; a country has a row while it had reports lately (no row: ok)."""

    class Tier(models.TextChoices):
        OK = "ok", "No problems"
        WARNING = "warning", "Possible problems"
        OUTAGE = "outage", "Problems detected"

    class Reason(models.TextChoices):
        NORMAL = "normal", "Reports are at their usual level"
        SPIKE = "spike", "Reports are well above the usual level"
        REGIONAL = "regional", "Reports are up in some cities"
        INCIDENT_OPEN = "incident_open", "An incident is open"
        CONFIRMED = "confirmed", "A reviewer confirmed the outage"
        FLOOD_SUSPECTED = "flood_suspected", "Most reports come from a few networks"
        RECOVERING = "recovering", "Reports are back to normal; the incident closes after a quiet spell"
        ISP = "isp", "Most reports come from one operator's customers"
        FEW_REPORTS = "few_reports", "A few people report problems"
        DISMISSED = "dismissed", "A reviewer judged the rise unrelated to an outage"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="statuses")
    # WORLD ("") or a country code.
    scope = models.CharField(max_length=2, blank=True, default=WORLD)
    status = models.CharField(max_length=7, choices=Tier.choices, default=Tier.OK)
    reason = models.CharField(max_length=15, choices=Reason.choices, default=Reason.NORMAL)
    # The tier the last minute's counts gave on their own, and whether the flood rule held
    # the spike back: kept so a review action can recompute the status without a pass.
    evidence = models.CharField(max_length=7, choices=Tier.choices, default=Tier.OK)
    regional = models.BooleanField(default=False)
    flood = models.BooleanField(default=False)
    # Whether fewer distinct sites than a crowd needs stood behind the spike (a handful of
    # reporters: FloodVerdict.few_reporters), which also holds it back.
    few_reporters = models.BooleanField(default=False)
    # The operator a spike is concentrated on, far above its usual share (an ISP's problem):
    # {"asn", "name", "share", "usual_share"} (the API's contract), plus "services": how many
    # services' spikes it is concentrated in at once. Null otherwise.
    operator = models.JSONField(null=True, blank=True)
    # The open incident behind the status, if any ("Problems since 16:47").
    incident = models.ForeignKey(
        "outages.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score = models.FloatField(default=0.0)
    # The scope's reports and baseline in the clock-aligned 15 minutes holding `minute`, up
    # to and including it (the window of the charts and the peak, outages.peak).
    count = models.PositiveIntegerField(default=0)
    baseline = models.FloatField(null=True, blank=True)
    # Whether the scope's reports of the last 5 minutes (one bucket) are well above their
    # usual (detection.window_raised), whatever the tier: on a series whose bursts are big,
    # the calibrated evidence can stay ok while reports run at several times their usual, and
    # the banner must not then say they are back to normal.
    raised_now = models.BooleanField(default=False)
    minute = models.DateTimeField()

    objects = ServiceStatusQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "service statuses"
        constraints = [
            models.UniqueConstraint(fields=["service", "scope"], name="outages_servicestatus_scope_key")
        ]

    def __str__(self) -> str:
        where = f" in {self.scope}" if self.scope else ""
        return f"{self.service_id}{where}: {self.status} ({self.reason})"


# Where outages.selectors.services_with_status puts a service's status row in the scope
# asked for (or None: the join found no row, and Django then sets nothing), and the scope it
# was loaded for, for outages.presenters.status_of.
STATUS_ATTRIBUTE = "status_in_scope"
STATUS_SCOPE_ATTRIBUTE = "status_scope"


class NetworkMix(models.Model):
    """A service's usual mix of operators and announced prefixes: each one's share of its
    counted reports over the baseline history, rebuilt with the baselines. The flood verdict
    compares a spike's mix with it (outages.detection.flood_verdict). Keyed by scope as
    ServiceStatus is: the world (WORLD), or a country, where an operator's share is of the
    service's reports from that country (operators are national: the ISP rule compares an
    operator with its usual share among the reports from where the spike comes from)."""

    class Level(models.TextChoices):
        OPERATOR = "operator", "Operator"
        PREFIX = "prefix", "Announced prefix"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    level = models.CharField(max_length=8, choices=Level.choices)
    # WORLD (""), or a country code (operator shares only).
    scope = models.CharField(max_length=2, blank=True, default=WORLD)
    key = models.CharField(max_length=100)  # the operator's name or the prefix's hash
    share = models.FloatField()
    reports = models.PositiveIntegerField()
    built_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "level", "scope", "key"], name="outages_networkmix_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.share:.0%} of service {self.service_id} {self.scope or 'worldwide'}"


class DetectionWatermark(models.Model):
    """The last minute the detection pass has processed; advanced in the same transaction
    as that pass's results, and locked for the pass so two workers cannot both run it."""

    name = models.CharField(max_length=30, unique=True)
    processed_through = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} through {self.processed_through}"


# Who reviews: the permission and the group that holds it (outages.review, outages.alerts).
REVIEW_PERMISSION = "outages.review_incidents"
REVIEWER_GROUP = "reviewer"

# The incident lifecycle's clock, kept here with the lifecycle so the live pass, review and
# the backtest read one value.
# An incident resolves after this many minutes without a spike or a warning-level score.
RESOLVE_QUIET_MINUTES = 30
# A spike this soon after an incident resolved re-opens it instead of opening another.
REOPEN_MINUTES = 60
# Hysteresis: for this long after an incident resolved, only clearly stronger evidence (a
# score of REARM_FACTOR times the threshold, one in 10^10 instead of 10^5) opens another: on
# a busy day, the next burst after a quiet half-hour is the same episode, not news.
REARM_MINUTES = 360
REARM_FACTOR = 2.0
# One episode, one incident: a service whose reports run at this many times their usual
# level or more is still up (Incident.elevated_ratio). An ongoing incident does not resolve
# while it is (outages.incidents._still_up_since), and within REARM_MINUTES a spike re-opens the
# last incident while the reports since it resolved ran so (the service never went back to
# normal: a busy day's next burst, not a new event).
EPISODE_RATIO = 1.5
_MINUTE = dt.timedelta(minutes=1)


class IncidentQuerySet(models.QuerySet):
    def public(self) -> IncidentQuerySet:
        """The one visibility rule: the public never sees a dismissed incident. Merged-away
        incidents are dismissed (with `review.merged_into` set), so they are hidden too."""
        return self.exclude(status=Incident.Status.DISMISSED)

    def ongoing(self) -> IncidentQuerySet:
        return self.filter(resolved_at__isnull=True)

    def with_escalated_at(self) -> IncidentQuerySet:
        """Each incident with `escalated_at`, the minute of its latest escalation (or None), in
        the same query: a subquery on the escalations' (incident, at) index."""
        latest = (
            IncidentEscalation.objects.filter(incident=models.OuterRef("pk")).order_by("-at").values("at")
        )
        return self.annotate(escalated_at=models.Subquery(latest[:1]))

    def in_country(self, country: str) -> IncidentQuerySet:
        """The incidents with a listed city in `country` (the list and API's ?country=)."""
        return self.filter(
            pk__in=IncidentCity.objects.listed().filter(city__country_code=country).values("incident_id")
        )


class Incident(models.Model):
    """A spike of one service, from the first minute of its evidence until a quiet spell.

    Two separate facts: the lifecycle (ongoing while `resolved_at` is null; opened, extended,
    resolved and re-opened by the methods below) and the review state (`status`: suspected
    until a reviewer confirms or dismisses it). Detection never changes the review state, and
    a confirmed incident that resolves stays confirmed.
    """

    class Status(models.TextChoices):
        SUSPECTED = "suspected", _("Suspected")
        CONFIRMED = "confirmed", _("Confirmed")
        DISMISSED = "dismissed", _("Dismissed")

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="incidents")
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.SUSPECTED)
    # The first minute of the evidence that opened it (the start of the spiking window).
    started_at = models.DateTimeField()
    last_spike_at = models.DateTimeField()
    # The last minute reports were above the warning level: resolution waits for a quiet spell.
    last_elevated_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The first minute of its latest re-opening's rise (IncidentReopening.at); null until it
    # re-opens. "Problems since" reads it (ongoing_since): after a re-opening, the problems
    # shown began then, not when the incident first opened hours before.
    reopened_at = models.DateTimeField(null=True, blank=True)
    # Reports in the busiest aligned 15-minute bucket of the incident, and when it began
    # (never before started_at: a bucket that began earlier is dated from the start).
    peak_count = models.PositiveIntegerField(default=0)
    peak_at = models.DateTimeField()
    # Its peak on the minutes before the last ESCALATION_WINDOW_MINUTES (the same buckets as
    # peak_count): what an escalation is measured against (outages.escalations). Kept minute
    # by minute, so a pass of one minute and a replay of a day measure it alike.
    settled_peak = models.PositiveIntegerField(default=0)
    max_score = models.FloatField(default=0.0)
    # Reports above the baseline over the incident; never below zero.
    excess_reports = models.FloatField(default=0.0)
    # Since it resolved (for REARM_MINUTES): the reports, and the usual reports for those
    # minutes. Their ratio tells whether the service went back to normal (stayed_elevated).
    # A database default too: workers of the previous release, still running while this
    # migration applies, insert incidents without these columns.
    reports_since_resolved = models.FloatField(default=0.0, db_default=0.0)
    usual_since_resolved = models.FloatField(default=0.0, db_default=0.0)
    # Ranked [{"code": "login", "count": 120}, ...] over the incident.
    problems = models.JSONField(default=list, blank=True)
    # The operator its spike is concentrated on when it looks like an ISP's problem:
    # {"asn", "name", "share", "usual_share", "services"}, as on ServiceStatus.
    operator = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            # Incident list and service page: a service's incidents, newest first.
            models.Index(fields=["service", "-started_at"], name="outages_incident_service"),
            # Review queue: incidents by status, newest first.
            models.Index(fields=["status", "-started_at"], name="outages_incident_status"),
            # Detection pass: the open incidents.
            models.Index(
                fields=["service"],
                condition=models.Q(resolved_at__isnull=True),
                name="outages_incident_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.status} from {self.started_at:%Y-%m-%d %H:%M}"

    # --- lifecycle ------------------------------------------------------------------------

    @classmethod
    def open(cls, *, service_id: int, evidence_from: dt.datetime, at: dt.datetime) -> Incident:
        """A new, unsaved incident for a spike confirmed at `at` whose evidence began at
        `evidence_from`: its window holds the reports that opened it."""
        start = min(evidence_from, at)
        return cls(
            service_id=service_id,
            status=cls.Status.SUSPECTED,
            started_at=start,
            last_spike_at=at,
            last_elevated_at=at,
            peak_at=start,
        )

    @property
    def ongoing(self) -> bool:
        return self.resolved_at is None

    @property
    def ongoing_since(self) -> dt.datetime:
        """When the problems it stands for began: its start, or its latest re-opening's."""
        return self.reopened_at or self.started_at

    @property
    def official_lead_minutes(self) -> int | None:
        """How many minutes the incident began before the official page admitted a problem
        (negative: the official page was first), from `official_first_at`
        (outages.official.selectors.with_official_first); None when the page never did meanwhile."""
        first = getattr(self, "official_first_at", None)
        if first is None:
            return None
        return round((first - self.started_at).total_seconds() / 60)

    @property
    def closes_at(self) -> dt.datetime:
        """When an ongoing incident resolves if reports stay at their usual level."""
        return self.last_elevated_at + dt.timedelta(minutes=RESOLVE_QUIET_MINUTES) + _MINUTE

    def spike_continues_it(self, at: dt.datetime) -> bool:
        """Whether a spike at `at` belongs to this incident: it is ongoing, or it resolved
        so recently that the spike re-opens it rather than opening another.

        A dismissed incident never re-opens: a spike that belongs to it is its rise going on
        (absorbed, unless it is clearly new: outages.incidents), and the hour counts from the
        later of its end and the last spike it absorbed, so a rise that comes back before the
        hour is over stays the dismissed one for as long as it lasts."""
        if self.resolved_at is None:
            return True
        end = max(self.resolved_at, self.last_spike_at) if self.dismissed else self.resolved_at
        return at - end <= dt.timedelta(minutes=REOPEN_MINUTES) or self.episode_goes_on(at)

    def episode_goes_on(self, at: dt.datetime) -> bool:
        """Whether a spike at `at`, later than the hour that re-opens any incident, re-opens
        this one all the same: it resolved less than REARM_MINUTES ago and the service has
        stayed above its usual level since (stayed_elevated). Such a spike still needs the
        evidence a new incident would need then (opening_bar): the episode only decides
        which incident it belongs to. Never a dismissed one."""
        return (
            not self.dismissed
            and self.resolved_at is not None
            and at - self.resolved_at > dt.timedelta(minutes=REOPEN_MINUTES)
            and self.in_episode(at)
            and self.stayed_elevated
        )

    def in_episode(self, at: dt.datetime) -> bool:
        """Whether minute `at` is within REARM_MINUTES of its resolution: what follows may
        still be its episode (stayed_elevated), and a new incident needs clearly stronger
        evidence (opening_bar)."""
        return self.resolved_at is not None and at - self.resolved_at <= dt.timedelta(minutes=REARM_MINUTES)

    @property
    def stayed_elevated(self) -> bool:
        """Whether the reports since it resolved ran at EPISODE_RATIO times their usual or more."""
        return self.elevated_ratio(reports=self.reports_since_resolved, usual=self.usual_since_resolved)

    @staticmethod
    def elevated_ratio(*, reports: float, usual: float) -> bool:
        """The one rule for a service that is still up: reports at EPISODE_RATIO times their
        usual or more. It keeps an ongoing incident from resolving (outages.incidents), and
        after it resolved it makes a spike re-open it (stayed_elevated)."""
        return usual > 0 and reports >= EPISODE_RATIO * usual

    def record_since_resolved(self, *, reports: float, usual: float) -> None:
        """Add minutes after its resolution: their reports and the usual reports for them."""
        self.reports_since_resolved += reports
        self.usual_since_resolved += usual

    def dismissed_rise_at(self, at: dt.datetime) -> bool:
        """Whether minute `at` is still in the rise a reviewer dismissed: the incident is
        dismissed and a spike then would belong to it (spike_continues_it)."""
        return self.dismissed and self.spike_continues_it(at)

    def opening_bar(self, at: dt.datetime, threshold: float) -> float:
        """The score a spike at `at`, after this incident, needs to open another or to go on
        with its episode (episode_goes_on): REARM_FACTOR times the threshold while it resolved
        less than REARM_MINUTES ago (hysteresis), the threshold after that."""
        return REARM_FACTOR * threshold if self.in_episode(at) else threshold

    def extend(self, *, at: dt.datetime, spike: bool, elevated: bool) -> None:
        """Record minute `at` of an ongoing incident (re-opening it on a spike). A dismissed
        incident that resolved only remembers the spike of its rise: it never re-opens."""
        if spike and self.dismissed and self.resolved_at is not None:
            self.last_spike_at = max(self.last_spike_at, at)
            return
        if spike:
            self.resolved_at = None
            self.last_spike_at = at
        if spike or elevated:
            self.last_elevated_at = max(self.last_elevated_at, at)

    def resolve_if_quiet(self, at: dt.datetime) -> bool:
        """Resolve at the end of its last elevated minute once `at` is RESOLVE_QUIET_MINUTES
        past it; returns whether it resolved now."""
        if self.resolved_at is not None:
            return False
        if at - self.last_elevated_at < dt.timedelta(minutes=RESOLVE_QUIET_MINUTES):
            return False
        self._resolve_at(self.last_elevated_at + _MINUTE)
        return True

    def resolve(self, at: dt.datetime) -> None:
        """End it now (a reviewer's decision); the review state is unchanged."""
        if self.resolved_at is None:
            self._resolve_at(at)

    def _resolve_at(self, at: dt.datetime) -> None:
        self.resolved_at = at
        self.reports_since_resolved = self.usual_since_resolved = 0.0

    def reopen(self, at: dt.datetime) -> None:
        """Make it ongoing again from `at` (a reviewer's decision); detection resolves it
        after a new quiet spell."""
        self.resolved_at = None
        self.reopened_at = at
        self.last_elevated_at = max(self.last_elevated_at, at)

    def record_minute(self, *, at: dt.datetime, score: float, excess: float) -> None:
        """Add one minute of evidence: its score and its reports above the baseline."""
        self.max_score = max(self.max_score, score)
        self.excess_reports = max(0.0, self.excess_reports + excess)

    def record_peak(self, *, count: int, bucket_start: dt.datetime) -> None:
        """Keep the busiest aligned 15-minute bucket, dated inside the incident."""
        if count > self.peak_count:
            self.peak_count = count
            self.peak_at = max(bucket_start, self.started_at)

    def record_settled_peak(self, count: int) -> None:
        """Fold in the aligned 15-minute count of a minute that has left the escalation window."""
        self.settled_peak = max(self.settled_peak, count)

    # --- review state ---------------------------------------------------------------------

    def review_action_allowed(self, action: str) -> bool:
        """Whether a reviewer's action applies to the review state and lifecycle: confirm and
        dismiss change the review state, resolve ends an ongoing incident, and reopen puts a
        decided or resolved one back in the queue, ongoing. (Merging is checked by review.)"""
        if action == "confirm":
            return self.status != self.Status.CONFIRMED
        if action == "dismiss":
            return self.status != self.Status.DISMISSED
        if action == "resolve":
            return self.ongoing and self.status != self.Status.DISMISSED
        if action == "reopen":
            return self.status != self.Status.SUSPECTED or not self.ongoing
        return False

    @property
    def confirmed(self) -> bool:
        return self.status == self.Status.CONFIRMED

    @property
    def dismissed(self) -> bool:
        return self.status == self.Status.DISMISSED

    def affected_cities(self, scope: str = WORLD) -> list[IncidentCity]:
        """The cities it names, most affected first (outages.cities.incident_cities_ranked),
        all of them or those in one country (`scope`): what the incident page, the incidents
        API, the service page during the incident, the review queue and the alerts all show.
        Reads the prefetched `cities` when there are (with their city), else one query."""
        if "cities" in getattr(self, "_prefetched_objects_cache", {}):
            rows = self.cities.all()
        else:
            rows = self.cities.listed().select_related("city")
        ranked = incident_cities_ranked(rows)
        return ranked if scope == WORLD else [row for row in ranked if row.city.country_code == scope]

    def problem_counts(self) -> Counter[str]:
        """`problems` as counts by code, to add to or subtract from."""
        return Counter({row["code"]: row["count"] for row in self.problems})

    def set_problem_counts(self, counts: Mapping[str, int]) -> None:
        """Store counts as `problems`: most reported first, codes with none left out."""
        self.problems = [
            {"code": code, "count": count}
            for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            if count > 0
        ]


class IncidentCityQuerySet(models.QuerySet):
    def listed(self) -> IncidentCityQuerySet:
        """The cities an incident names: a city with no report in it is never listed."""
        return self.filter(count__gt=0)


class IncidentCity(models.Model):
    """A city whose own series spiked during the incident, with its reports since the
    incident began."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="cities")
    city = models.ForeignKey("geo.City", on_delete=models.CASCADE, related_name="+")
    count = models.PositiveIntegerField(default=0)
    excess = models.FloatField(default=0.0)
    first_flagged_at = models.DateTimeField()

    objects = IncidentCityQuerySet.as_manager()

    class Meta:
        ordering = ["-excess", "city_id"]
        verbose_name_plural = "incident cities"
        constraints = [models.UniqueConstraint(fields=["incident", "city"], name="outages_incidentcity_key")]

    def __str__(self) -> str:
        return f"city {self.city_id} in incident {self.incident_id}"


class IncidentEscalation(models.Model):
    """A clearly bigger event inside an ongoing incident ("reports rising sharply again at
    16:07"), decided by outages.escalations: its minute, the reports and the baseline of the
    sliding 15 minutes ending then, and the peak they more than doubled."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="escalations")
    at = models.DateTimeField()
    count = models.PositiveIntegerField()
    baseline = models.FloatField()
    previous_peak = models.PositiveIntegerField()

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            # One a minute; its index also serves an incident's escalations in order (pages,
            # API, the pass's cooldown).
            models.UniqueConstraint(fields=["incident", "at"], name="outages_incidentescalation_key")
        ]

    def __str__(self) -> str:
        return f"escalation of incident {self.incident_id} at {self.at:%Y-%m-%d %H:%M}"


class IncidentReopening(models.Model):
    """An incident that had resolved, ongoing again ("problems again since 14:10"): reports
    rose again soon enough to be the same episode (Incident.spike_continues_it), or a
    reviewer re-opened it. `at` is the first minute of the rise that re-opened it (dated as
    an opening is, outages.incidents) or the minute of the reviewer's decision; `resolved_at`
    the resolution it undid. Subscribers were told of that resolution, so they are told of
    this too, and of the next resolution."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="reopenings")
    at = models.DateTimeField()
    resolved_at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "at"], name="outages_incidentreopening_key")
        ]

    def __str__(self) -> str:
        return f"incident {self.incident_id} re-opened at {self.at:%Y-%m-%d %H:%M}"


from outages.alerts.models import EmailSubscription, Notification, WebhookSubscription  # noqa: E402,F401
from outages.official.models import OfficialSource, OfficialState  # noqa: E402,F401
from outages.review.models import IncidentReview, ReviewAction  # noqa: E402,F401
