from __future__ import annotations

from django.db import models

from catalogue.models import Service


class OfficialState(models.Model):
    """One change of a service's official state: a row each time the page says something
    else than it said before (the history the lead times are measured against)."""

    class State(models.TextChoices):
        OK = "ok", "operational"
        MAINTENANCE = "maintenance", "maintenance"
        MINOR = "minor", "minor problems"
        MAJOR = "major", "major outage"
        CRITICAL = "critical", "critical outage"
        INCIDENT = "incident", "an open incident (a feed gives no severity)"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="official_states")
    state = models.CharField(max_length=11, choices=State.choices)
    # When the page says it changed (Statuspage's page.updated_at, a feed entry's time), kept
    # between our last poll that saw the old state and the poll that saw this one; without
    # a time on the page, when we saw it.
    changed_at = models.DateTimeField()
    seen_at = models.DateTimeField()  # the poll that first saw it

    class Meta:
        ordering = ["changed_at", "pk"]
        # The lead time's query: a service's first problem state in a window of changed_at.
        indexes = [models.Index(fields=["service", "changed_at"], name="outages_officialstate_changed")]

    def __str__(self) -> str:
        return f"{self.service_id}: {self.state} at {self.changed_at:%Y-%m-%d %H:%M}"


# States that count as the official page admitting a problem (for the lead time).
PROBLEM_STATES = frozenset(
    {
        OfficialState.State.MINOR,
        OfficialState.State.MAJOR,
        OfficialState.State.CRITICAL,
        OfficialState.State.INCIDENT,
    }
)


class OfficialSource(models.Model):
    """How polling a service's official status goes: conditional GET validators, failures
    and the backoff they earn, and the state in force (the latest OfficialState)."""

    class Problem(models.TextChoices):
        NONE = "", "none"
        UNREACHABLE = "unreachable", "unreachable"  # no answer, an error status, too slow
        UNREADABLE = "unreadable", "unreadable"  # an answer we cannot read: bad JSON, too big

    service = models.OneToOneField(Service, on_delete=models.CASCADE, related_name="official_source")
    url = models.URLField()  # the address the validators below belong to
    etag = models.CharField(max_length=200, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    current = models.ForeignKey(
        OfficialState, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)  # the last poll that read the page
    failures = models.PositiveIntegerField(default=0)  # in a row; the backoff doubles with each
    next_poll = models.DateTimeField(null=True, blank=True)  # the claim: a poll moves it on first
    problem = models.CharField(max_length=11, choices=Problem.choices, blank=True, default="")
    last_error = models.CharField(max_length=1000, blank=True)

    def __str__(self) -> str:
        return f"official status of {self.service_id}"
