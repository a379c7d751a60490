from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

# The problem types every service offers unless an admin changes its list.
DEFAULT_PROBLEM_TYPES: dict[str, str] = {
    "app": _("App"),
    "login": _("Login"),
    "website": _("Website"),
    "connection": _("Server connection"),
    "other": _("Something else"),
}
DEFAULT_PROBLEM = "other"


class ServiceQuerySet(models.QuerySet):
    def active(self) -> ServiceQuerySet:
        return self.filter(is_active=True)


class Service(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    category = models.CharField(max_length=50, blank=True)
    home_url = models.URLField(blank=True)
    status_page_url = models.URLField("official status page", blank=True)
    # Baselines follow the daily rhythm of the people who use the service.
    timezone = models.CharField(max_length=64, default="Europe/Rome")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProblemType(models.Model):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="problem_types")
    code = models.SlugField(max_length=30)
    label = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["service", "code"], name="outages_problemtype_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.service.slug}: {self.code}"

    @property
    def display_label(self) -> str:
        """The translated label for the default types, the admin's text for others."""
        default = DEFAULT_PROBLEM_TYPES.get(self.code)
        if default is not None:
            with translation.override("en"):
                unchanged = self.label == str(default)
            if unchanged:
                return str(default)
        return self.label


# --- detection: baselines, incidents, status (filled by outages.services) ------------------


class Baseline(models.Model):
    """The seasonal profile of one series: a service (city empty) or a service in a city.

    One row per series rather than per slot: a profile is read and written whole, and the
    detection pass needs thousands of them every minute. `expected` holds float32 values,
    little-endian, shaped (7 local weekdays from Monday, 1440 // bucket_minutes slots), NaN
    where the series has no history; see outages.detection.Profile.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="baselines")
    city = models.ForeignKey("geo.City", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    bucket_minutes = models.PositiveSmallIntegerField()
    timezone = models.CharField(max_length=64)
    expected = models.BinaryField()
    # Negative binomial overdispersion of one bucket (variance = mu + alpha * mu**2), and
    # the part of it neighbouring buckets share (outages.detection.Profile.beta).
    alpha = models.FloatField()
    beta = models.FloatField()
    history_reports = models.PositiveIntegerField(default=0)
    built_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service"],
                condition=models.Q(city__isnull=True),
                name="outages_baseline_one_per_service",
            ),
            models.UniqueConstraint(
                fields=["service", "city"],
                condition=models.Q(city__isnull=False),
                name="outages_baseline_one_per_city",
            ),
        ]

    def __str__(self) -> str:
        where = f" in city {self.city_id}" if self.city_id else ""
        return f"baseline of service {self.service_id}{where}"


class ServiceStatus(models.Model):
    """The latest detection result of a service, so pages and lists read one row."""

    class Tier(models.TextChoices):
        OK = "ok", "No problems"
        WARNING = "warning", "Possible problems"
        OUTAGE = "outage", "Problems detected"

    service = models.OneToOneField(
        Service, on_delete=models.CASCADE, primary_key=True, related_name="current_status"
    )
    status = models.CharField(max_length=7, choices=Tier.choices, default=Tier.OK)
    score = models.FloatField(default=0.0)
    # Reports and the baseline over the 15 minutes up to and including `minute`.
    count = models.PositiveIntegerField(default=0)
    baseline = models.FloatField(null=True, blank=True)
    minute = models.DateTimeField()

    class Meta:
        verbose_name_plural = "service statuses"

    def __str__(self) -> str:
        return f"{self.service_id}: {self.status}"


class DetectionWatermark(models.Model):
    """The last minute the detection pass has processed; advanced in the same transaction
    as that pass's results, and locked for the pass so two workers cannot both run it."""

    name = models.CharField(max_length=30, unique=True)
    processed_through = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} through {self.processed_through}"


class Incident(models.Model):
    class Status(models.TextChoices):
        SUSPECTED = "suspected", "Suspected"
        CONFIRMED = "confirmed", "Confirmed"
        DISMISSED = "dismissed", "Dismissed"
        RESOLVED = "resolved", "Resolved"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="incidents")
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.SUSPECTED)
    started_at = models.DateTimeField()
    last_spike_at = models.DateTimeField()
    # The last minute reports were above the warning level: resolution waits for a quiet spell.
    last_elevated_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Reports in the busiest aligned 15-minute bucket of the incident, and its start.
    peak_count = models.PositiveIntegerField(default=0)
    peak_at = models.DateTimeField()
    max_score = models.FloatField(default=0.0)
    excess_reports = models.FloatField(default=0.0)
    # Ranked [{"code": "login", "count": 120}, ...] over the incident.
    problems = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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


class IncidentCity(models.Model):
    """A city whose own series spiked during the incident, with its reports since then."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="cities")
    city = models.ForeignKey("geo.City", on_delete=models.CASCADE, related_name="+")
    count = models.PositiveIntegerField(default=0)
    excess = models.FloatField(default=0.0)
    first_flagged_at = models.DateTimeField()

    class Meta:
        ordering = ["-excess", "city_id"]
        verbose_name_plural = "incident cities"
        constraints = [models.UniqueConstraint(fields=["incident", "city"], name="outages_incidentcity_key")]

    def __str__(self) -> str:
        return f"city {self.city_id} in incident {self.incident_id}"


from outages.review.models import IncidentReview, Notification, ReviewAction, WebhookSubscription  # noqa: E402,F401
