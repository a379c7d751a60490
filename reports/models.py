from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Source(models.TextChoices):
    WEB = "web", "Web form"
    API = "api", "API"
    SIMULATED = "sim", "Simulated"


# The one rule of which reports count, for raw SQL (reports.counts, reports.aggregation):
# the first report of a person in the dedupe window, not marked abusive by review.
COUNTED_SQL = "counted AND NOT abusive"


class ReportQuerySet(models.QuerySet):
    def counted(self) -> ReportQuerySet:
        """The reports that count (COUNTED_SQL): every ORM read of counted reports uses it."""
        return self.filter(counted=True, abusive=False)


class Report(models.Model):
    """One "it's down for me". Never holds the client address, only keyed hashes.

    Rows are written by the request and folded into the minute counts by
    reports_aggregate shortly after; pages and detection read the counts.
    """

    # No single-column indexes on service or problem: every query by service also bounds
    # created_at (reports_report_service_time), and none filters raw rows by problem. Each index
    # costs PostgreSQL work on every insert, the hottest write we have.
    service = models.ForeignKey(
        "catalogue.Service", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    problem = models.SlugField(max_length=30, db_index=False)
    created_at = models.DateTimeField()
    source = models.CharField(max_length=3, choices=Source.choices)
    city = models.ForeignKey("geo.City", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    country_code = models.CharField(max_length=2, blank=True)
    # HMAC of the client's /24 or /64 under a stable key: lets review group and exclude
    # networks without revealing them.
    network_hash = models.CharField(max_length=32)
    # The same for the IPv6 /48 (for IPv4, the /24 again) and for the announced prefix
    # ("" when unknown): the levels the flood verdict and review group networks at.
    network48_hash = models.CharField(max_length=32, blank=True, default="", db_default="")
    prefix_hash = models.CharField(max_length=32, blank=True, default="", db_default="")
    # The operator announcing the address: it describes an ISP, not a person, so it is kept
    # plainly. asn is null only when a GEOIP_ASN_PATH .mmdb names an operator without its number.
    asn = models.PositiveIntegerField(null=True, blank=True)
    asn_name = models.CharField(max_length=100, blank=True, default="", db_default="")
    # False for a repeat from the same client within the dedupe window: kept as evidence
    # for abuse review, never counted.
    counted = models.BooleanField(default=True)
    abusive = models.BooleanField(default=False)
    is_aggregated = models.BooleanField(default=False)

    objects = ReportQuerySet.as_manager()

    class Meta:
        indexes = [
            # reports_aggregate: the pending rows, oldest first.
            models.Index(
                fields=["id"],
                condition=Q(is_aggregated=False),
                name="reports_report_pending",
            ),
            # Review and retention: a service's reports in a time window.
            models.Index(fields=["service", "created_at"], name="reports_report_service_time"),
            models.Index(fields=["created_at"], name="reports_report_created"),
            # Review signals: when a network was first seen, across services.
            models.Index(fields=["network_hash", "created_at"], name="reports_report_network_time"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id}/{self.problem} at {self.created_at:%Y-%m-%d %H:%M}"


class Vote(models.Model):
    """The last counted report of one client for one service: one person, one vote.

    Claimed by a single INSERT ... ON CONFLICT DO UPDATE ... WHERE statement, so
    concurrent duplicates cannot both count (reports.dialect.report_insert_claiming_vote).
    """

    service = models.ForeignKey("catalogue.Service", on_delete=models.CASCADE, related_name="+")
    client_hash = models.CharField(max_length=32)
    counted_at_epoch = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "client_hash"], name="reports_vote_one_per_client")
        ]
        indexes = [models.Index(fields=["counted_at_epoch"], name="reports_vote_counted_at")]

    def __str__(self) -> str:
        return f"vote {self.client_hash[:8]} for service {self.service_id}"


class DailySalt(models.Model):
    """A random salt per UTC day for client hashes; deleted after two days, so old
    hashes cannot be linked to anything, even by someone holding the secret key."""

    day = models.DateField(unique=True)
    salt = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"salt for {self.day}"


class MinuteCount(models.Model):
    minute = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.count} at {self.minute:%Y-%m-%d %H:%M}"


class ServiceMinute(MinuteCount):
    service = models.ForeignKey("catalogue.Service", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "minute"], name="reports_serviceminute_key")
        ]
        # The detection pass reads every service's recent minutes at once.
        indexes = [models.Index(fields=["minute"], name="reports_serviceminute_minute")]


class CityMinute(MinuteCount):
    service = models.ForeignKey("catalogue.Service", on_delete=models.CASCADE, related_name="+")
    city = models.ForeignKey("geo.City", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "city", "minute"], name="reports_cityminute_key")
        ]
        indexes = [
            # The map and detection read every city of a window across services.
            models.Index(fields=["minute"], name="reports_cityminute_minute"),
            # Service page, cities API: one service's cities over a window, index-only.
            models.Index(
                fields=["service", "minute"], include=["city", "count"], name="reports_cityminute_service"
            ),
        ]


class CountryMinute(MinuteCount):
    service = models.ForeignKey("catalogue.Service", on_delete=models.CASCADE, related_name="+")
    country_code = models.CharField(max_length=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "country_code", "minute"],
                name="reports_countryminute_key",
            )
        ]
        # A country's home page reads every service's minutes in one country at once:
        # index-only, not a scan of the month's partition (the home p95 was 116 ms at 10 M reports).
        indexes = [
            models.Index(
                fields=["country_code", "minute"],
                include=["service", "count"],
                name="reports_countryminute_country",
            )
        ]


class ProblemMinute(MinuteCount):
    service = models.ForeignKey("catalogue.Service", on_delete=models.CASCADE, related_name="+")
    problem = models.SlugField(max_length=30)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "problem", "minute"],
                name="reports_problemminute_key",
            )
        ]
        # Service page, problems API: one service's problems over a window, index-only.
        indexes = [
            models.Index(
                fields=["service", "minute"],
                include=["problem", "count"],
                name="reports_problemminute_service",
            )
        ]


class Comment(models.Model):
    """A short message sent with a counted report, shown on the service page once a
    reviewer approves it (reports.comments takes it in, outages.review decides).

    It keeps what the page and review show of its report (service, problem, city, time)
    and the report's network hash for the per-network cap; never an address. report_id is
    a plain number, not a foreign key: reports are partitioned by day (their key is
    (id, created_at)) and whole days are dropped by retention, while comments stay.
    """

    # Not a column: reports.selectors.with_problem_labels sets it for display.
    problem_label: str

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        HIDDEN = "hidden", "Hidden"

    report_id = models.BigIntegerField()
    service = models.ForeignKey("catalogue.Service", on_delete=models.CASCADE, related_name="+")
    problem = models.SlugField(max_length=30, db_index=False)
    city = models.ForeignKey("geo.City", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The report's /24 or /64 hash (reports.hashing): the cap on pending comments is per network.
    network_hash = models.CharField(max_length=32)
    text = models.CharField(max_length=280)
    # The language the page was shown in when the comment was sent ("" when not known).
    language = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            # The service page: its approved comments, newest first.
            models.Index(fields=["service", "state", "-created_at"], name="reports_comment_service"),
            # The review lists: every pending (or approved) comment, newest first.
            models.Index(fields=["state", "-created_at"], name="reports_comment_state"),
            # reports.comments.comment_add: a network's pending comments for a service.
            models.Index(
                fields=["service", "network_hash", "created_at"],
                condition=Q(state="pending"),
                name="reports_comment_pending_net",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.state} comment on {self.service_id} at {self.created_at:%Y-%m-%d %H:%M}"
