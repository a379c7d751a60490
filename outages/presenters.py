"""The public status in words: what every page, the page JSON and the API say about a
service's status, from its one stored row (outages.status decides it)."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalogue.models import Service
from geo.countries import country_name
from geo.operators import brand
from outages import detection
from outages.display_time import stamp_text, time_text, zone_named
from outages.models import (
    RESOLVE_QUIET_MINUTES,
    STATUS_ATTRIBUTE,
    STATUS_SCOPE_ATTRIBUTE,
    WORLD,
    Incident,
    ServiceStatus,
)
from outages.official.models import OfficialSource, OfficialState
from outages.official.selectors import official_leads
from outages.peak import Peak, bucket_floor
from reports.api_time import json_datetime

Tier = ServiceStatus.Tier
Reason = ServiceStatus.Reason

# Colour is never the only signal: every status has words and a symbol too. Keyed by the
# stored code: a Tier is a str, so a plain code finds its entry.
STATUS_ICON: dict[str, str] = {Tier.OK: "✓", Tier.WARNING: "!", Tier.OUTAGE: "✕"}


def status_text(code: str) -> str:
    texts: dict[str, str] = {
        Tier.OK: _("No problems"),
        Tier.WARNING: _("Possible problems"),
        Tier.OUTAGE: _("Problems detected"),
    }
    return texts[code]


def status_badge(code: str) -> dict[str, str]:
    """A status as every list and banner shows it: its code, its words and its symbol."""
    return {"code": code, "text": status_text(code), "icon": STATUS_ICON[code]}


@dataclass(frozen=True, slots=True)
class StatusView:
    code: str
    reason: str
    incident: Incident | None
    count: int
    baseline: float | None
    updated_at: dt.datetime | None
    # The operator an ISP-like spike is concentrated on (ServiceStatus.operator), or None.
    operator: dict | None = None
    score: float = 0.0
    # Whether the last 5 minutes' reports are well above their usual (ServiceStatus.raised_now).
    raised_now: bool = False

    @property
    def since(self) -> dt.datetime | None:
        return self.incident.ongoing_since if self.incident is not None else None

    @property
    def raised_earlier(self) -> bool:
        """Whether the quarter-hour's count the banner shows is well above its usual (by the
        detector's own rule for a raised window, detection.window_raised) while the status is
        ok and the last 5 minutes are not: a burst that has ended, which the words must not
        call the usual level."""
        if self.code != Tier.OK or self.baseline is None or self.raised_now:
            return False
        return bool(detection.window_raised(self.count, self.baseline))

    @property
    def closes_at(self) -> dt.datetime | None:
        if self.reason != Reason.RECOVERING or self.incident is None:
            return None
        return self.incident.closes_at


def status_of(service: Service, scope: str = WORLD) -> StatusView:
    """The stored status of a service in `scope` (the world, or a country): the one selector
    every page, the API, the badge and the embed read. Load the service with
    outages.selectors.services_with_status(scope) (else one query here); a service the pass
    has not looked at yet, or a country with no reports lately, is ok."""
    if getattr(service, STATUS_SCOPE_ATTRIBUTE, None) == scope:
        row = getattr(service, STATUS_ATTRIBUTE, None)
    else:  # loaded without its status in this scope
        row = ServiceStatus.objects.filter(service=service, scope=scope).select_related("incident").first()
    if row is None:
        return StatusView(Tier.OK, Reason.NORMAL, None, 0, None, None)
    return StatusView(
        row.status,
        row.reason,
        row.incident,
        row.count,
        row.baseline,
        row.minute,
        row.operator,
        row.score,
        row.raised_now,
    )


def reason_text(view: StatusView, service: Service) -> str:
    """The reason in words, with its times, in the service's time zone."""
    since = time_text(view.since, zone_named(service.timezone)) if view.since else ""
    if view.reason == Reason.CONFIRMED:
        return _("Problems since %(time)s. A reviewer confirmed the outage.") % {"time": since}
    if view.reason == Reason.INCIDENT_OPEN:
        return _("Problems since %(time)s.") % {"time": since}
    if view.reason == Reason.RECOVERING:
        closes_at = view.closes_at
        assert closes_at is not None  # a recovering status always has its incident
        return _(
            "Problems since %(time)s. Reports are back to normal; the incident closes after "
            "%(minutes)s quiet minutes (at %(closes)s)."
        ) % {
            "time": since,
            "minutes": RESOLVE_QUIET_MINUTES,
            "closes": time_text(closes_at, zone_named(service.timezone)),
        }
    if view.reason == Reason.FLOOD_SUSPECTED:
        return _(
            "Reports are unusually high, but most of them come from a few networks: they are being "
            "checked, and shown as possible problems until more people report it."
        )
    if view.reason == Reason.FEW_REPORTS:
        return _("A few people report problems: shown as possible problems until more people report them.")
    if view.reason == Reason.ISP and view.operator:
        return _("Most reports come from %(operator)s customers: this may be a %(brand)s problem") % {
            "operator": view.operator["name"],
            "brand": brand(view.operator["name"]),
        }
    if view.reason == Reason.DISMISSED:
        text = _("Reports are up, but a reviewer judged the rise unrelated to an outage of %(service)s.") % {
            "service": service.name
        }
        note = dismissal_note(service)
        return f"{text} {note}" if note else text
    if view.reason == Reason.REGIONAL:
        return _("Reports are up in some cities, while the national total is near its usual level.")
    if view.reason == Reason.SPIKE:
        return _("Reports are well above what is normal at this time of day.")
    if view.code == Tier.OK and view.raised_now:
        # Calibrated evidence that stays ok (this service's short bursts are often this big),
        # or a rise that has not held long enough yet: up, but not (yet) a problem.
        return _(
            "Reports are above the usual level right now, though not yet clearly enough to count as a problem."
        )
    if view.raised_earlier:
        return _("Reports were up earlier in this quarter-hour and are back to their usual level now.")
    return _("Reports are at the usual level for this time of day.")


def dismissal_note(service: Service) -> str:
    """The public note of the review that dismissed the service's latest incident ("" if
    none): what the banner adds while the dismissed rise goes on (one query)."""
    latest = Incident.objects.filter(service=service).order_by("-started_at", "-pk")
    note = latest.filter(status=Incident.Status.DISMISSED).values_list("review__public_note", flat=True)
    return (note.first() or "").strip()


def operator_fields(operator: dict | None) -> dict | None:
    """The operator as the API names it: {"asn", "name", "share", "usual_share"} (a contract)."""
    if not operator:
        return None
    return {key: operator.get(key) for key in ("asn", "name", "share", "usual_share")}


def incident_updates(incident: Incident, zone: ZoneInfo) -> list[str]:
    """What happened to an incident after it opened, oldest first, in words: each escalation
    and each re-opening (the incident page's "Updates")."""
    updates = [
        (
            escalation.at,
            _("Reports rising sharply again at %(time)s") % {"time": time_text(escalation.at, zone)},
        )
        for escalation in incident.escalations.all()
    ]
    updates += [
        (
            reopening.at,
            _("Problems again since %(time)s, after it had resolved at %(resolved)s")
            % {"time": time_text(reopening.at, zone), "resolved": time_text(reopening.resolved_at, zone)},
        )
        for reopening in incident.reopenings.all()
    ]
    return [text for _, text in sorted(updates, key=lambda update: update[0])]


def isp_text(operator: dict | None) -> str:
    """What the incident and the review queue say when one operator is concentrated in
    several services' spikes at once; "" otherwise."""
    if not operator or operator.get("services", 1) < 2:
        return ""
    return _("likely an ISP problem (%(operator)s, %(services)s services)") % {
        "operator": operator["name"],
        "services": number_format(operator["services"], force_grouping=True),
    }


# This many services' incidents starting together, across operators, point at a provider they share.
SHARED_PROVIDER_SERVICES = 3


def shared_provider_text(*, services_together: int, operator: dict | None) -> str:
    """What the incident and the review queue say when many services spike at once and no
    one operator explains it: "likely a shared provider (5 services)"; "" otherwise."""
    if services_together < SHARED_PROVIDER_SERVICES or isp_text(operator):
        return ""
    return _("likely a shared provider (%(services)s services at once)") % {
        "services": number_format(services_together, force_grouping=True)
    }


def status_payload(service: Service, country: str = "") -> dict:
    """The status block of the service page and its JSON refresh, the badge and the embed.
    Its line gives the status's reports in the quarter-hour the chart's last bucket and the
    peak headline measure (outages.peak), so it never shows more than the peak."""
    view = status_of(service, country)
    values = {
        "count": number_format(view.count, force_grouping=True),
        "usual": "" if view.baseline is None else number_format(round(view.baseline), force_grouping=True),
        "time": time_text(bucket_floor(view.updated_at), zone_named(service.timezone))
        if view.updated_at
        else "",
    }
    if view.updated_at is None:
        window = _("No reports lately.")
    elif view.baseline is None:
        window = _("Since %(time)s: %(count)s reports.") % values
    else:
        window = _("Since %(time)s: %(count)s reports, usually about %(usual)s.") % values
    return {
        **status_badge(view.code),
        "reason": view.reason,
        "reason_text": reason_text(view, service),
        "window_text": window,
        "updated": time_text(view.updated_at, zone_named(service.timezone)) if view.updated_at else "",
    }


def problem_rows(counts: list[tuple[str, int]], labels: dict[str, str]) -> list[dict]:
    """Problems as the pages list them: label, reports and their share (percent), most first."""
    total = sum(count for _, count in counts) or 1
    ranked = sorted(counts, key=lambda item: (-item[1], item[0]))
    return [
        {"label": str(labels.get(code, code)), "count": count, "percent": round(100 * count / total)}
        for code, count in ranked
        if count > 0
    ]


def peak_headline(*, service: Service, country: str, peak: Peak | None) -> str:
    """The service page's headline: "ChatGPT in Italy: 1,251 reports at 17:00 CET", the
    peak (outages.peak) worldwide or in the country shown."""
    where = (
        _("%(service)s in %(country)s") % {"service": service.name, "country": country_name(country)}
        if country
        else _("%(service)s worldwide") % {"service": service.name}
    )
    if peak is None:
        return _("%(where)s: no reports in the last 24 hours") % {"where": where}
    return ngettext(
        "%(where)s: %(count)s report at %(time)s",
        "%(where)s: %(count)s reports at %(time)s",
        peak.count,
    ) % {
        "where": where,
        "count": number_format(peak.count, force_grouping=True),
        "time": time_text(peak.start, zone_named(service.timezone)),
    }


# --- the official status beside the crowd (outages.official) ---------------------------------


def official_state_text(state: str) -> str:
    texts: dict[str, str] = {
        OfficialState.State.OK: _("Operational"),
        OfficialState.State.MAINTENANCE: _("Maintenance"),
        OfficialState.State.MINOR: _("Minor problems"),
        OfficialState.State.MAJOR: _("Major outage"),
        OfficialState.State.CRITICAL: _("Critical outage"),
        OfficialState.State.INCIDENT: _("Incident reported"),
    }
    return texts[state]


def official_problem_text(problem: str) -> str:
    """The official page is down or malformed, in a word."""
    texts: dict[str, str] = {
        OfficialSource.Problem.UNREACHABLE: _("unreachable"),
        OfficialSource.Problem.UNREADABLE: _("unreadable"),
    }
    return texts[problem]


def official_lead_text(minutes: int | None) -> str:
    """The lead time of one incident in words ("" when the official page never marked it)."""
    if minutes is None:
        return ""
    if minutes > 0:
        return ngettext(
            "Downradar saw this %(minutes)s minute before the official status page",
            "Downradar saw this %(minutes)s minutes before the official status page",
            minutes,
        ) % {"minutes": number_format(minutes, force_grouping=True)}
    if minutes < 0:
        return ngettext(
            "The official status page reported this %(minutes)s minute before Downradar",
            "The official status page reported this %(minutes)s minutes before Downradar",
            -minutes,
        ) % {"minutes": number_format(-minutes, force_grouping=True)}
    return _("Downradar saw this in the same minute as the official status page")


def official_record(leads: list[int]) -> dict:
    """The running record over past incidents: in how many the crowd was earlier than the
    official page, and by a median of how many minutes (over those it was earlier in)."""
    earlier = [minutes for minutes in leads if minutes > 0]
    median = round(statistics.median(earlier)) if earlier else None
    if not leads:
        text = ""
    elif median is None:
        text = ngettext(
            "Not earlier than the official status page in %(compared)s incident",
            "Not earlier than the official status page in any of %(compared)s incidents",
            len(leads),
        ) % {"compared": number_format(len(leads), force_grouping=True)}
    else:
        text = ngettext(
            "Earlier than the official status page in %(earlier)s of %(compared)s incident, "
            "by a median of %(minutes)s minutes",
            "Earlier than the official status page in %(earlier)s of %(compared)s incidents, "
            "by a median of %(minutes)s minutes",
            len(leads),
        ) % {
            "earlier": number_format(len(earlier), force_grouping=True),
            "compared": number_format(len(leads), force_grouping=True),
            "minutes": number_format(median, force_grouping=True),
        }
    return {"compared": len(leads), "earlier": len(earlier), "median_minutes": median, "text": text}


def official_payload(
    service: Service, *, now: dt.datetime, incident: Incident | None = None, record: bool = False
) -> dict | None:
    """The official status as the service page, its JSON and the API all show it; None for
    a service with no official page. Its state and when it last changed, or a word for a
    page we cannot read (the rest of the page is unaffected); with `record`, the lead time
    of `incident` (the one behind the status) and the running record (one query).

    Reads service.official_source and its current state: outages.selectors.services_with_status
    loads them in its one query (else two queries here)."""
    if not service.has_official_status:
        return None
    try:
        source: OfficialSource | None = service.official_source
    except OfficialSource.DoesNotExist:
        source = None
    current = source.current if source is not None else None
    problem = source.problem if source is not None else ""
    zone = zone_named(service.timezone)
    if problem:
        text = official_problem_text(problem)
    elif current is not None:
        text = official_state_text(current.state)
    else:
        text = _("not checked yet")
    changed_text = ""
    if current is not None:
        shown = time_text if now - current.changed_at < dt.timedelta(hours=20) else stamp_text
        changed_text = _("since %(time)s") % {"time": shown(current.changed_at, zone)}
    payload: dict = {
        "state": current.state if current is not None else None,
        "problem": problem,
        "text": text,
        "changed_at": json_datetime(current.changed_at) if current is not None else None,
        "changed_text": changed_text,
        "url": service.status_page_url or service.official_url,
    }
    if record:
        leads = official_leads(service.pk)
        lead = leads.get(incident.pk) if incident is not None else None
        payload["lead_minutes"] = lead
        payload["lead_text"] = official_lead_text(lead)
        payload["record"] = official_record(list(leads.values()))
    return payload
