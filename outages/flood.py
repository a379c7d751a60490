"""The reads behind the flood verdict: the counted reports of a spike, the service's usual
operator and prefix mix, and the operator as every surface names it. The verdict itself is
pure (outages.detection.flood_verdict); the detection pass asks it, review shows the same
signals."""

from __future__ import annotations

import datetime as dt

from geo.operators import display_name
from outages import detection
from outages.models import NetworkMix
from reports.models import Report

# The flood verdict (outages.detection.flood_verdict) reads the counted reports of the last
# FLOOD_MINUTES behind a spike: the detector's longest scoring window, so every window that
# can score a minute (all end at it) holds only reports the verdict has seen. With 15
# minutes, a paused flood kept the 30- and 60-minute windows scoring after the verdict had
# stopped seeing it (issue 21). Review shows the same signals.
FLOOD_MINUTES = max(detection.window_buckets(detection.BUCKET_MINUTES)) * detection.BUCKET_MINUTES
_MINUTE = dt.timedelta(minutes=1)


def spike_reports(service_id: int, minute: dt.datetime) -> list[detection.SpikeReport]:
    """The counted reports of the FLOOD_MINUTES up to `minute`, as the flood verdict takes
    them. Read from the report rows (reports_report_service_time); none there (counts loaded
    without rows, or past retention) means no evidence of a flood."""
    rows = (
        Report.objects.counted()
        .filter(
            service_id=service_id,
            created_at__gte=minute - dt.timedelta(minutes=FLOOD_MINUTES - 1),
            created_at__lt=minute + _MINUTE,
        )
        .values_list("network_hash", "network48_hash", "prefix_hash", "asn_name", "asn")
    )
    return [
        detection.SpikeReport(network=network, site=site, prefix=prefix, operator=operator, asn=asn)
        for network, site, prefix, operator, asn in rows
    ]


def usual_mixes(service_id: int) -> tuple[dict[str, float], dict[str, float]]:
    """The service's usual operator and prefix shares (NetworkMix), empty before the first
    rebuild that had reports with operators."""
    operators: dict[str, float] = {}
    prefixes: dict[str, float] = {}
    for level, key, share in NetworkMix.objects.filter(service_id=service_id).values_list(
        "level", "key", "share"
    ):
        (operators if level == NetworkMix.Level.OPERATOR else prefixes)[key] = share
    return operators, prefixes


def flood_verdict_at(service_id: int, minute: dt.datetime) -> detection.FloodVerdict:
    """The flood verdict on the reports behind a service's spike at `minute`."""
    operators, prefixes = usual_mixes(service_id)
    return detection.flood_verdict(
        spike_reports(service_id, minute), usual_operators=operators, usual_prefixes=prefixes
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
