"""The official status against Downradar's incidents: when the official page first admitted
each incident's problem, and so how long after Downradar (the lead time)."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from django.db.models import OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from outages.models import Incident
from outages.official.models import PROBLEM_STATES, OfficialState

# An official problem this long before an incident began is still taken for the same event:
# a service's engineers sometimes post before the crowd notices.
OFFICIAL_LEAD_WINDOW = dt.timedelta(minutes=15)
# The running record on a service page compares this many of its latest public incidents.
RECORD_INCIDENTS = 50

Incidents = TypeVar("Incidents", bound=QuerySet[Incident])


def with_official_first(incidents: Incidents) -> Incidents:
    """Each incident with `official_first_at`: the first time the service's official page
    admitted a problem from OFFICIAL_LEAD_WINDOW before the incident began until it
    resolved, or None; in the same query, a subquery on the states' (service, changed_at)
    index. Incident.official_lead_minutes reads it."""
    until = Coalesce(OuterRef("resolved_at"), Value(dt.datetime.max.replace(tzinfo=dt.UTC)))
    first = (
        OfficialState.objects.filter(
            service=OuterRef("service"),
            state__in=PROBLEM_STATES,
            changed_at__gte=OuterRef("started_at") - Value(OFFICIAL_LEAD_WINDOW),
            changed_at__lte=until,
        )
        .order_by("changed_at")
        .values("changed_at")
    )
    return incidents.annotate(official_first_at=Subquery(first[:1]))


def official_leads(service_id: int) -> dict[int, int]:
    """{incident id: lead in minutes} for the service's latest public incidents that its
    official page also marked (Incident.official_lead_minutes), newest first: one query."""
    incidents = with_official_first(Incident.objects.public().filter(service_id=service_id))
    latest = incidents.order_by("-started_at", "-pk").only("pk", "started_at")[:RECORD_INCIDENTS]
    return {incident.pk: lead for incident in latest if (lead := incident.official_lead_minutes) is not None}
