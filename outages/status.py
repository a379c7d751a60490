"""A service's public status: one function decides it, and one function stores it.

`public_status` is pure: it takes what the counts say (the evidence), the service's latest
incident and the flood verdict, and returns the status every surface shows, with its reason.
The detection pass calls it every minute and each review action calls it again through
`service_status_refresh`, so a reviewer's decision shows at once; pages, the API, the feeds
and the map only read the stored row (ServiceStatus).

The same rule gives the status in each country with reports lately (a row of the same
table, its `scope` the country code), from that country's own counts against its own
profile; every surface reads a scope's row through outages.presenters.status_of(service, scope).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from django.utils.translation import gettext as _

from outages.detection import FloodVerdict
from outages.models import WORLD, Incident, ServiceStatus
from outages.peak import PEAK_MINUTES
from reports.minutes import floor_minute

Tier = ServiceStatus.Tier
Reason = ServiceStatus.Reason


@dataclass(frozen=True, slots=True)
class PublicStatus:
    status: str
    reason: str
    # The ongoing, non-dismissed incident behind it, if any.
    incident: Incident | None


def status_verdict_since(minute: dt.datetime) -> dt.datetime:
    """The first minute of the reports the status's flood verdict reads at `minute`: the last
    quarter-hour, as the status line counts. An incident's verdict reads its spike's own
    evidence window (up to an hour); over an hour of a busy service's ordinary reports, one
    operator's outage of a few minutes is diluted below what names it an ISP's problem."""
    return minute - dt.timedelta(minutes=PEAK_MINUTES - 1)


def held_back_as(*, flooded: FloodVerdict | None, up: bool, verdict: FloodVerdict) -> tuple[bool, bool]:
    """(flood, few_reporters) for a status row. The flood verdict comes before any status is
    published: a spike from a few networks never shows as an outage, not even for the pass
    that first sees it. A spike held back (`flooded`: the verdict that held back what would
    have opened an incident) is a flood or a handful of reporters as that verdict says; so
    are counts that are up (`up`: warning or outage, or a city spike) while the status
    window's `verdict` holds its reports back."""
    if flooded is not None:
        return not flooded.few_reporters, flooded.few_reporters
    held = up and verdict.held_back
    few_reporters = held and verdict.few_reporters
    return held and not few_reporters, few_reporters


def public_status(
    *,
    evidence: str,
    regional: bool = False,
    flood: bool = False,
    few_reporters: bool = False,
    isp: bool = False,
    incident: Incident | None = None,
    at: dt.datetime,
) -> PublicStatus:
    """The status the public sees and why, at minute `at` (the status row's minute).

    - A confirmed, ongoing incident is an outage.
    - A spike the flood rule holds back is at most a warning.
    - A spike concentrated on one operator far above its usual share (`isp`) is a warning:
      most likely that operator's problem, not the service's.
    - So is a spike from fewer sites than a crowd needs (`few_reporters`): "a few people
      report problems", or "an incident is open" while one is.
    - An ongoing, non-dismissed incident keeps the status at least at warning until it
      resolves ("recovering" once the reports are back to normal).
    - While the rise a reviewer dismissed goes on (Incident.dismissed_rise_at), its reports
      do not drive the status: it is ok, with the reason `dismissed`. A clearly new rise
      opens an incident of its own (outages.incidents), which then decides.
    - Otherwise a dismissed or resolved incident never colours the status: the counts alone do.
    """
    live = incident if incident is not None and incident.ongoing and not incident.dismissed else None
    tier = evidence
    if regional and tier == Tier.OK:
        tier = Tier.WARNING  # a regional outage: the national total may barely move
    if live is not None and live.confirmed:
        return PublicStatus(Tier.OUTAGE, Reason.CONFIRMED, live)
    if flood and tier != Tier.OK:
        return PublicStatus(Tier.WARNING, Reason.FLOOD_SUSPECTED, live)
    if tier != Tier.OK and incident is not None and incident.dismissed_rise_at(at):
        return PublicStatus(Tier.OK, Reason.DISMISSED, None)
    if isp and (tier != Tier.OK or live is not None):
        return PublicStatus(Tier.WARNING, Reason.ISP, live)
    if few_reporters and tier != Tier.OK:
        # An open incident passed the floor when it opened: its reason still says so.
        return PublicStatus(Tier.WARNING, Reason.INCIDENT_OPEN if live else Reason.FEW_REPORTS, live)
    if tier == Tier.OUTAGE:
        return PublicStatus(Tier.OUTAGE, Reason.SPIKE, live)
    if live is not None:
        # Recovering ("back to normal; closes at ...") only once the incident's last elevated
        # minute is behind: while the service is still up it is an incident going on.
        if evidence == Tier.OK and not regional and live.last_elevated_at < at:
            return PublicStatus(Tier.WARNING, Reason.RECOVERING, live)
        return PublicStatus(Tier.WARNING, Reason.INCIDENT_OPEN, live)
    if tier == Tier.WARNING:
        return PublicStatus(
            Tier.WARNING, Reason.REGIONAL if regional and evidence == Tier.OK else Reason.SPIKE, None
        )
    return PublicStatus(Tier.OK, Reason.NORMAL, None)


def status_apply(
    row: ServiceStatus, incident: Incident | None, incident_countries: Collection[str] = ()
) -> ServiceStatus:
    """Set a status row's public fields from its own counts' evidence and the service's
    latest incident, in any scope. The incident concerns the world, and a country it names a
    city of (`incident_countries`) or whose own reports are up: an outage confined to Italy
    leaves the United States ok."""
    concerned = row.scope == WORLD or row.evidence != Tier.OK or row.scope in incident_countries
    found = public_status(
        evidence=row.evidence,
        regional=row.regional,
        flood=row.flood,
        few_reporters=row.few_reporters,
        isp=row.operator is not None,
        incident=incident if concerned else None,
        at=row.minute,
    )
    row.status, row.reason = found.status, found.reason
    row.incident_id = found.incident.pk if found.incident is not None else None
    return row


def incident_countries(incident: Incident) -> set[str]:
    """The countries of the cities an incident names."""
    return set(incident.cities.listed().values_list("city__country_code", flat=True))


def latest_incident(service_id: int) -> Incident | None:
    return Incident.objects.filter(service_id=service_id).order_by("-started_at", "-pk").first()


def service_status_refresh(service_id: int, *, now: dt.datetime) -> ServiceStatus:
    """Recompute a service's stored statuses (worldwide and per country) after a review
    action changed its incidents; returns the worldwide one."""
    rows = {row.scope: row for row in ServiceStatus.objects.filter(service_id=service_id)}
    world = rows.get(WORLD)
    if world is None:
        world = ServiceStatus(service_id=service_id, scope=WORLD, minute=floor_minute(now))
    incident = latest_incident(service_id)
    named = incident_countries(incident) if incident is not None else set()
    status_apply(world, incident, named)
    world.save()
    countries = [status_apply(row, incident, named) for scope, row in rows.items() if scope != WORLD]
    ServiceStatus.objects.bulk_update(countries, ["status", "reason", "incident"])
    return world


def incident_state_text(*, confirmed: bool, ongoing: bool) -> str:
    """How every public surface names an incident's state: review state and lifecycle."""
    if confirmed:
        return f"{_('Confirmed outage')} · {_('ongoing') if ongoing else _('resolved')}"
    return f"{_('Suspected')} · {_('ongoing')}" if ongoing else _("Resolved")
