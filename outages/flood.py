"""The reads behind the flood verdict: the counted reports of a spike, the service's usual
operator and prefix mix, and the operator as every surface names it. The verdict itself is
pure (outages.detection.flood_verdict); the detection pass asks it, review shows the same
signals."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import NamedTuple

from geo.operators import display_name
from outages import detection
from outages.models import WORLD, NetworkMix
from reports.models import Report

# The flood verdict (outages.detection.flood_verdict) reads the counted reports behind a
# spike: those of its own evidence window (detection.Panel.evidence_from, the windows that
# scored it), and elsewhere those of the last FLOOD_MINUTES, the detector's longest scoring
# window, so that every window that can score a minute (all end at it) holds only reports
# a verdict has seen. With 15 minutes, a paused flood kept the 30- and 60-minute windows
# scoring after the verdict had stopped seeing it (issue 21). Review shows the same signals.
FLOOD_MINUTES = max(detection.window_buckets(detection.BUCKET_MINUTES)) * detection.BUCKET_MINUTES
# An evidence window reaches back at most the longest window over the held minutes.
EVIDENCE_MINUTES = FLOOD_MINUTES + detection.SPIKE_HOLD_MINUTES
_MINUTE = dt.timedelta(minutes=1)


Evidence = list[tuple[dt.datetime, detection.SpikeReport]]


def evidence_reports(service_id: int, minute: dt.datetime) -> Evidence:
    """The counted reports of the EVIDENCE_MINUTES up to `minute`, each with its time, as the
    flood verdict takes them: one read serves every window ending at `minute`. Read from
    the report rows (reports_report_service_time); none there (counts loaded without rows,
    or past retention) means no evidence of a flood."""
    return evidence_reports_of([service_id], minute)[service_id]


def evidence_reports_of(service_ids: Iterable[int], minute: dt.datetime) -> dict[int, Evidence]:
    """evidence_reports of several services at one minute, in one query."""
    found: dict[int, Evidence] = {pk: [] for pk in service_ids}
    rows = (
        Report.objects.counted()
        .filter(
            service_id__in=list(found),
            created_at__gte=minute - dt.timedelta(minutes=EVIDENCE_MINUTES - 1),
            created_at__lt=minute + _MINUTE,
        )
        .values_list(
            "service_id",
            "created_at",
            "network_hash",
            "network48_hash",
            "prefix_hash",
            "asn_name",
            "asn",
            "country_code",
            "city_id",
        )
    )
    for service_id, at, network, site, prefix, operator, asn, country, city in rows:
        found[service_id].append(
            (
                at,
                detection.SpikeReport(
                    network=network,
                    site=site,
                    prefix=prefix,
                    operator=operator,
                    asn=asn,
                    country=country,
                    city=city,
                ),
            )
        )
    return found


def window_start(minute: dt.datetime, since: dt.datetime | None = None) -> dt.datetime:
    """The first minute a verdict at `minute` reads: `since` (a spike's evidence), by default
    the detector's longest window; never before EVIDENCE_MINUTES."""
    earliest = minute - dt.timedelta(minutes=EVIDENCE_MINUTES - 1)
    return max(earliest, minute - dt.timedelta(minutes=FLOOD_MINUTES - 1) if since is None else since)


class UsualMixes(NamedTuple):
    """A service's usual mix (NetworkMix) as the flood verdict takes it."""

    operators: dict[str, float]  # worldwide
    prefixes: dict[str, float]  # worldwide
    in_countries: dict[str, dict[str, float]]  # country code -> operator shares there


def usual_mixes(service_id: int) -> UsualMixes:
    """The service's usual operator and prefix shares (NetworkMix), worldwide and each
    country's operators; empty before the first rebuild that had reports with operators."""
    return usual_mixes_of([service_id])[service_id]


def usual_mixes_of(service_ids: Iterable[int]) -> dict[int, UsualMixes]:
    """usual_mixes of several services, in one query."""
    ids = set(service_ids)
    in_countries: dict[int, dict[str, dict[str, float]]] = {pk: defaultdict(dict) for pk in ids}
    mixes = {pk: UsualMixes({}, {}, {}) for pk in ids}
    for service_id, level, scope, key, share in NetworkMix.objects.filter(service_id__in=ids).values_list(
        "service_id", "level", "scope", "key", "share"
    ):
        if level == NetworkMix.Level.PREFIX:
            mixes[service_id].prefixes[key] = share
        elif scope == WORLD:
            mixes[service_id].operators[key] = share
        else:
            in_countries[service_id][scope][key] = share
    return {pk: mix._replace(in_countries=dict(in_countries[pk])) for pk, mix in mixes.items()}


def window_verdict(
    evidence: list[tuple[dt.datetime, detection.SpikeReport]],
    first: dt.datetime,
    mixes: UsualMixes,
    crowd_spikes: Callable[[int], bool] | None = None,
    *,
    cities: frozenset[int] | None = None,
    country: str | None = None,
) -> detection.FloodVerdict:
    """The flood verdict on the reports of `evidence` (evidence_reports) from `first` on,
    against the service's usual mixes (usual_mixes); `crowd_spikes` tells whether that many
    reports over the same minutes would spike alone (a crowd beside a flood). With `cities`
    (a spike of those cities only), on the reports placed in them, and with `country` on
    those from that country: the rest of the service's ordinary reports are no support for a
    rise in one place."""
    return detection.flood_verdict(
        [
            report
            for at, report in evidence
            if at >= first
            and (cities is None or report.city in cities)
            and (country is None or report.country == country)
        ],
        usual_operators=mixes.operators,
        usual_prefixes=mixes.prefixes,
        usual_in_countries=mixes.in_countries,
        crowd_spikes=crowd_spikes,
    )


def operator_public(share: detection.OperatorShare, *, services: int = 1) -> dict:
    """The operator as the API, the incident and the pages name it (field names: a contract)."""
    return {
        "asn": share.asn,
        "name": display_name(share.name),
        "share": round(share.share, 3),
        "usual_share": None if share.usual_share is None else round(share.usual_share, 3),
        "services": services,
    }
