"""What the public may see of incidents: the service page, the incident list and the feeds
all read it here, built on the one visibility rule (`Incident.objects.public()`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from outages.models import Incident


@dataclass(frozen=True, slots=True)
class PublicIncident:
    pk: int
    service_slug: str
    service_name: str
    started_at: dt.datetime
    resolved_at: dt.datetime | None
    updated_at: dt.datetime
    peak_count: int
    # A reviewer confirmed it (even if it has resolved since).
    confirmed: bool
    public_note: str


def public_incidents(*, service_id: int | None = None, limit: int = 50) -> list[PublicIncident]:
    """Incidents the public may see, newest first: never dismissed or merged-away ones.

    For the service page, the incident list and the feeds: one query.
    """
    incidents = Incident.objects.public().select_related("service", "review").order_by("-started_at", "-pk")
    if service_id is not None:
        incidents = incidents.filter(service_id=service_id)
    found = []
    for incident in incidents[:limit]:
        review = getattr(incident, "review", None)
        found.append(
            PublicIncident(
                pk=incident.pk,
                service_slug=incident.service.slug,
                service_name=incident.service.name,
                started_at=incident.started_at,
                resolved_at=incident.resolved_at,
                updated_at=incident.updated_at,
                peak_count=incident.peak_count,
                confirmed=incident.confirmed,
                public_note=review.public_note if review is not None else "",
            )
        )
    return found
