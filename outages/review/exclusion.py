"""Excluding a network from an incident: a reviewer marks the reports of one network (or
operator) in the incident's window as abusive, takes them out of the minute counts, and
corrects the incident by what was taken out. Like every action on an incident, it locks
the detection watermark first and writes its audit row (outages.review.services)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections import Counter
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q

from outages.models import Incident, IncidentCity
from outages.peak import incident_peaks
from outages.review.models import ReviewAction
from outages.review.services import ReviewError, action_log, review_for, review_save
from outages.status import service_status_refresh
from outages.watermark import watermark_lock
from reports.aggregation import minute_counts_subtract
from reports.hashing import network_hash_of_prefix
from reports.minutes import floor_minute
from reports.models import Report

_MINUTE = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Exclusion:
    network_hash: str
    reports: int  # reports newly marked abusive
    uncounted: int  # of which had been in the minute counts and were taken out


def network_exclude(
    *,
    incident_id: int,
    prefix: str,
    actor: User,
    now: dt.datetime,
    note: str = "",
) -> Exclusion:
    """Mark the reports of one network in the incident's window as abusive, at any level the
    signals show (network_filter): a /24, /64 or /48, a hash the signals show (of a /24 or
    /64, a /48 or an announced prefix), or "operator:<name>" for this incident only.

    Reports already in the minute counts are subtracted from them in the database, so
    detection and the next baseline rebuild never see them; reports still waiting to be
    counted are skipped by reports_aggregate. The incident's excess, peak, problems and
    cities are corrected by what was taken out.
    """
    chosen, network_hash = network_filter(prefix)
    with transaction.atomic():
        mark = watermark_lock()
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        review = review_for(incident, now)
        if review.merged_into_id is not None:
            raise ReviewError(f"This incident was merged into #{review.merged_into_id}; act on that one.")
        until = incident.resolved_at or now
        # Locks the rows: reports_aggregate (SKIP LOCKED) leaves them to us, and a batch it
        # is counting right now is waited for, so `is_aggregated` below is final.
        rows = list(
            Report.objects.select_for_update()
            .filter(
                service_id=incident.service_id,
                created_at__gte=incident.started_at,
                created_at__lt=until,
                abusive=False,
            )
            .filter(chosen)
            .values_list("id", "city_id", "country_code", "problem", "created_at", "counted", "is_aggregated")
        )
        Report.objects.filter(id__in=[row[0] for row in rows]).update(abusive=True)
        in_counts = [row for row in rows if row[5] and row[6]]
        minute_counts_subtract(
            rows=[
                (incident.service_id, city, country, problem, at)
                for _, city, country, problem, at, _, _ in in_counts
            ]
        )
        # The pass has folded counts into the incident up to its watermark only.
        processed = mark.processed_through if mark is not None else None
        accounted = [row for row in in_counts if processed is not None and floor_minute(row[4]) <= processed]
        _incident_subtract(incident, accounted, processed)
        review_save(review, now=now)
        action_log(
            incident,
            actor,
            now,
            ReviewAction.Kind.EXCLUDE_NETWORK,
            incident.status,
            note=note,
            details={"network_hash": network_hash, "reports": len(rows), "uncounted": len(in_counts)},
        )
        service_status_refresh(incident.service_id, now=now)
    return Exclusion(network_hash=network_hash, reports=len(rows), uncounted=len(in_counts))


_HASH = re.compile(r"[0-9a-f]{8,32}")


def network_filter(text: str) -> tuple[Q, str]:
    """The reports a reviewer means by `text`, and what the audit log keeps of it: a /24 or
    /64 (as network_hash), an IPv6 /48 (network48_hash), a hash or its first 8+ characters as
    the signals show it (any level), or "operator:<name>" (the operator as the signals name it)."""
    value = text.strip()
    if value.lower().startswith("operator:"):
        name = value.split(":", 1)[1].strip()
        if not name:
            raise ReviewError(
                "Name the operator as the signals show it, e.g. operator:Vodafone Italia S.p.A."
            )
        return Q(asn_name=name), f"operator:{name}"
    if _HASH.fullmatch(value.lower()):
        digest = value.lower()
        return (
            Q(network_hash__startswith=digest)
            | Q(network48_hash__startswith=digest)
            | Q(prefix_hash__startswith=digest)
        ), digest
    if ":" in value and value.endswith("/48"):
        try:
            site = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ReviewError(f"{text!r} is not an IPv6 /48 like 2001:db8:1::/48.") from None
        digest = network_hash_of_prefix(str(site))
        return Q(network48_hash=digest), digest
    digest = network_hash_of_prefix(network_prefix_parse(value))
    return Q(network_hash=digest), digest


def network_prefix_parse(prefix: str) -> str:
    """The canonical /24 (IPv4) or /64 (IPv6) a reviewer means, as the hashes were made."""
    text = prefix.strip()
    try:
        address = ipaddress.ip_interface(
            text if "/" in text else f"{text}/{'24' if ':' not in text else '64'}"
        )
    except ValueError:
        raise ReviewError(f"{prefix!r} is not a network like 93.56.1.0/24 or 2001:db8:1:2::/64.") from None
    length = 24 if address.version == 4 else 64
    if address.network.prefixlen != length:
        raise ReviewError(f"Give a /{length} network: reports are grouped by /24 (IPv4) and /64 (IPv6).")
    return str(address.network)


def _incident_subtract(incident: Incident, rows: list[tuple], processed: dt.datetime | None) -> None:
    if not rows:
        return
    incident.excess_reports = max(0.0, incident.excess_reports - len(rows))
    problems = incident.problem_counts()
    problems.subtract(Counter(row[3] for row in rows))
    incident.set_problem_counts(problems)
    incident.peak_count, incident.peak_at = _peak(incident, processed)
    incident.save(update_fields=["excess_reports", "problems", "peak_count", "peak_at", "updated_at"])
    # A city counts its reports since the incident began, so every excluded one comes off.
    for city in IncidentCity.objects.filter(incident=incident):
        removed = sum(1 for row in rows if row[1] == city.city_id)
        if removed:
            city.count = max(city.count - removed, 0)
            city.excess = max(city.excess - removed, 0.0)
            city.save(update_fields=["count", "excess"])


def _peak(incident: Incident, processed: dt.datetime | None) -> tuple[int, dt.datetime]:
    """The incident's peak measured again from the minute counts, up to the last minute
    detection processed (outages.peak, the one rule)."""
    until = (processed or incident.last_elevated_at) + _MINUTE
    peak = incident_peaks([incident], until=until)[incident.pk]
    return (0, incident.peak_at) if peak is None else (peak.count, peak.start)
