"""Flood-rule calibration: how often ordinary reports, cut into blocks, are judged a flood.

    .venv/bin/python bench/flood_calibration.py [--seeds 3] [--days 28] [--block 40]

For every catalogue service of the simulator (simulator.crowd.PROFILES), draws `--days` of
ordinary life (no outage, no flood, no media bump) with the project's crowd model, gives each
report the operator and announced prefix the app would (the bundled ASN table,
geo/data/asn/asn.bin), and learns the service's usual operator and prefix mix from all but the
last 7 days with the same pure core the nightly rebuild calls (outages.detection.usual_mix,
from outages.baselines.network_mixes_build). The last 7 days are then cut, in time order, into
consecutive blocks of `--block` reports, and the flood verdict (outages.detection.flood_verdict,
default FloodParams) is asked about each. Printed per service: blocks, the share judged a flood
and by which rule, and the share held back as a handful of reporters (few_reporters, not a
flood).

Every simulated report is taken as counted: the crowd hands out addresses without repeats
inside a city, so dedupe drops none of them. The mix is learned out of sample (the blocks'
week is not in it), which is stricter than the nightly rebuild (its history includes them).
Several seeds give the small services enough blocks to measure a share of a few percent.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

RULES = ("few_sites", "rare_operators", "one_prefix")


def _reports(batch, table, cache):
    """SpikeReport per simulated report, with the network levels the app hashes (kept as
    plain strings here: the verdict only counts distinct keys)."""
    from outages.detection import SpikeReport

    out = []
    for address in batch.address.tolist():
        found = cache.get(address)
        if found is None:
            ip = ipaddress.IPv4Address(address)
            match = table.lookup(ip)
            net = str(ipaddress.IPv4Network((address & 0xFFFFFF00, 24)))
            found = cache[address] = SpikeReport(
                network=net,
                site=net,
                prefix=match.prefix if match else "",
                operator=match.name[:100] if match else "",
                asn=match.asn if match else None,
            )
        out.append(found)
    return out


def run(*, seeds: int, days: int, block: int) -> dict[str, dict]:
    from geo import asn_table
    from outages.detection import flood_verdict, usual_mix
    from simulator.crowd import PROFILES, Crowd

    table = asn_table.AsnTable(asn_table.TABLE_PATH)
    services = tuple(PROFILES)
    end = datetime(2026, 11, 30, tzinfo=UTC)
    start = end - timedelta(days=days)
    split = end - timedelta(days=7)
    results: dict[str, dict] = {slug: {"blocks": 0, "why": Counter(), "rare": []} for slug in services}
    cache: dict[int, object] = {}
    for seed in range(seeds):
        crowd = Crowd(services, seed=seed)
        batch = crowd.batch(crowd.normal(start, end))
        reports = _reports(batch, table, cache)
        recent = batch.seconds >= split.timestamp()
        by_service: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
        for index, (service, is_recent) in enumerate(
            zip(batch.service.tolist(), recent.tolist(), strict=True)
        ):
            by_service[service][1 if is_recent else 0].append(reports[index])
        for number, slug in enumerate(services):
            history, week = by_service[number]
            # As network_mixes_build: counts of known operators and prefixes, then shares.
            operators = usual_mix(Counter(r.operator for r in history if r.operator))
            prefixes = usual_mix(Counter(r.prefix for r in history if r.prefix))
            for begin in range(0, len(week) - block + 1, block):
                verdict = flood_verdict(
                    week[begin : begin + block], usual_operators=operators, usual_prefixes=prefixes
                )
                results[slug]["blocks"] += 1
                results[slug]["why"][verdict.why if verdict.held_back else ""] += 1
            usual_rare = sum(share for share in operators.values() if share < 0.02)
            results[slug]["rare"].append(usual_rare)
    return results


def known_answers(*, seed: int = 0) -> list[tuple[str, object]]:
    """The verdict on the 15 minutes at the peak of incidents with a known answer, drawn by
    the simulator over a day of ordinary life with a mix learned from the 21 days before:
    each Italian operator's ISP outage on Facebook (isp, not a flood) and floods from a
    handful of networks (few_sites)."""
    from geo import asn_table
    from outages.detection import flood_verdict, usual_mix
    from simulator.crowd import Crowd, Flood
    from simulator.scenarios import ISP_PREFIXES, isp_outage

    table = asn_table.AsnTable(asn_table.TABLE_PATH)
    end = datetime(2026, 11, 30, tzinfo=UTC)
    at = end - timedelta(hours=6)
    cases: list[tuple[str, object]] = [
        (f"ISP outage {name} (facebook, 100 per 15 min)", isp_outage(name, at, {"facebook": 100})[0])
        for name in ISP_PREFIXES
    ]
    cases += [
        (
            "flood 300 reports, 3 networks of Milan",
            Flood("facebook", at + timedelta(minutes=15), 300, minutes=10),
        ),
        (
            "flood 120 reports, 6 networks of Rome",
            Flood("facebook", at + timedelta(minutes=15), 120, city="Rome", networks=6),
        ),
    ]
    found = []
    cache: dict[int, object] = {}
    for label, incident in cases:
        crowd = Crowd(("facebook",), seed=seed)
        history = crowd.batch(crowd.normal(end - timedelta(days=22), end - timedelta(days=1)))
        past = _reports(history, table, cache)
        operators = usual_mix(Counter(r.operator for r in past if r.operator))
        prefixes = usual_mix(Counter(r.prefix for r in past if r.prefix))
        out = crowd.normal(end - timedelta(days=1), end)
        crowd.incident(incident, out)
        peak = at + timedelta(minutes=25)
        window = crowd.batch(out, since=peak - timedelta(minutes=15), until=peak)
        found.append(
            (
                label,
                flood_verdict(
                    _reports(window, table, cache), usual_operators=operators, usual_prefixes=prefixes
                ),
            )
        )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--block", type=int, default=40)
    args = parser.parse_args(argv)
    import django

    django.setup()
    began = time.perf_counter()
    results = run(seeds=args.seeds, days=args.days, block=args.block)
    print(
        f"{args.seeds} seeds x {args.days} days of ordinary life, mix from the first "
        f"{args.days - 7} days, blocks of {args.block} from the last 7"
    )
    header = f"{'service':<22}{'blocks':>7}{'flood':>8}" + "".join(f"{rule:>16}" for rule in RULES)
    print(header + f"{'few_reporters':>15}{'usual rare':>12}")
    worst = 0.0
    for slug, found in results.items():
        blocks = found["blocks"] or 1
        floods = sum(found["why"][rule] for rule in RULES)
        worst = max(worst, floods / blocks)
        print(
            f"{slug:<22}{found['blocks']:>7}{floods / blocks:>8.1%}"
            + "".join(f"{found['why'][rule] / blocks:>16.1%}" for rule in RULES)
            + f"{found['why']['few_reporters'] / blocks:>15.1%}"
            + f"{sum(found['rare']) / len(found['rare']):>12.1%}"
        )
    print(
        f"worst service: {worst:.1%} of ordinary blocks judged a flood ({time.perf_counter() - began:.1f} s)"
    )
    print()
    print("known answers (15 minutes at the peak, with the ordinary crowd):")
    for label, verdict in known_answers():
        named = f"isp {verdict.isp.name} {verdict.isp.share:.0%}" if verdict.isp else ""
        print(
            f"  {label:<44} {verdict.reports:>4} reports {verdict.sites:>4} sites -> "
            f"{'flood ' + verdict.why if verdict.flood else verdict.why or 'crowd'} {named}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
