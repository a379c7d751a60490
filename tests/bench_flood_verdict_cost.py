"""What the flood verdict costs per (service, minute) for a busy incident: 6,000 counted
reports in the last 62 minutes (100 a minute, 3,000 sites), the 15-minute read and one verdict
before issue 21 item 2, against the evidence read (62 minutes) and two verdicts (a 30-minute
evidence window, the status's 60 minutes) now. Not collected by the suite; run it alone:

    make test-suite TEST_WORKERS=0 ARGS='tests/bench_flood_verdict_cost.py -q -s'

Figures: docs/benchmarks.md, "Flood verdict cost".
"""

import datetime as dt
import statistics
import time

import pytest

from outages import detection
from outages.flood import evidence_reports, usual_mixes, window_start, window_verdict
from reports.models import Report
from tests.detection_helpers import T0


def old_read(service_id: int, minute: dt.datetime) -> list[detection.SpikeReport]:
    """The read before: the counted reports of the last 15 minutes."""
    rows = (
        Report.objects.counted()
        .filter(
            service_id=service_id,
            created_at__gte=minute - dt.timedelta(minutes=14),
            created_at__lt=minute + dt.timedelta(minutes=1),
        )
        .values_list("network_hash", "network48_hash", "prefix_hash", "asn_name", "asn")
    )
    return [detection.SpikeReport(network=a, site=b, prefix=c, operator=d, asn=e) for a, b, c, d, e in rows]


@pytest.mark.django_db
def test_flood_verdict_cost(chatgpt) -> None:
    rows = [
        Report(
            service=chatgpt,
            problem="login",
            created_at=T0 - dt.timedelta(seconds=i * 62 * 60 / 6000),
            source="api",
            network_hash=f"n{i % 3000}",
            network48_hash=f"n{i % 3000}",
            prefix_hash=f"p{i % 40}",
            asn=3269,
            asn_name=f"op{i % 12}",
        )
        for i in range(6000)
    ]
    Report.objects.bulk_create(rows, batch_size=2000)
    old, new = [], []
    for _ in range(21):
        t = time.perf_counter()
        operators, prefixes, _ = usual_mixes(chatgpt.pk)
        detection.flood_verdict(old_read(chatgpt.pk, T0), usual_operators=operators, usual_prefixes=prefixes)
        old.append(time.perf_counter() - t)
        t = time.perf_counter()
        mixes = usual_mixes(chatgpt.pk)
        ev = evidence_reports(chatgpt.pk, T0)
        window_verdict(ev, window_start(T0, T0 - dt.timedelta(minutes=29)), mixes)
        window_verdict(ev, window_start(T0), mixes)
        new.append(time.perf_counter() - t)
    print(
        f"flood verdict per (service, minute): before {statistics.median(old) * 1000:.1f} ms, now {statistics.median(new) * 1000:.1f} ms"
    )
