"""Operator lookup benchmark: µs per lookup (IPv4, IPv6) and what opening the table costs in memory.

    .venv/bin/python bench/operators.py [--lookups 50000] [--repeat 5]

Opens the operator source the app uses (geo.operators: the ASN table geo/data/asn/asn.bin
built by `make setup`, or GEOIP_ASN_PATH's .mmdb when set) and prints this process's RSS and
private memory (/proc/self/smaps_rollup) before opening it, after opening it, and after the
lookups have touched the table's pages. The table's pages are clean file pages (the page
cache), shared by every worker that maps the file, though /proc counts them in RSS (and as
Private_Clean while one process maps them); what each worker pays alone is its dirty private
memory (Private_Dirty: its heap and copied-on-write pages).

The addresses are random public ones, fixed by a seed: IPv4 over the whole space, IPv6 in
the five RIRs' /12s (2400::, 2600::, 2800::, 2a00::, 2c00::). Addresses that find an operator
and addresses that find none (no network announced there) are timed apart. The memory after
the lookups includes the sample addresses themselves (a few MiB of Python objects). Each timing is the best of --repeat
passes over the same addresses, to keep the other sessions on this machine out of it.
"""

from __future__ import annotations

import argparse
import ipaddress
import mmap
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RIR_IPV6_BLOCKS = [0x2400, 0x2600, 0x2800, 0x2A00, 0x2C00]


def memory_kib() -> dict[str, int]:
    wanted = {"Rss", "Private_Dirty"}
    found = {}
    with open("/proc/self/smaps_rollup") as rollup:
        for line in rollup:
            key, _, rest = line.partition(":")
            if key in wanted:
                found[key] = int(rest.split()[0])
    return {"rss": found["Rss"], "private": found["Private_Dirty"]}


def mapped_kib(path: str) -> int:
    """Resident KiB of this process's mappings of `path` (the table's page-cache pages)."""
    total, inside = 0, False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            first = line.split(maxsplit=1)[0]
            if "-" in first and not first.endswith(":"):  # a mapping's header line
                inside = line.rstrip().endswith(path)
            elif inside and first == "Rss:":
                total += int(line.split()[1])
    return total


def addresses(version: int, count: int, rng: random.Random, lookup) -> tuple[list, list]:
    """`count` random public addresses that have an operator, and up to `count` that have none."""
    from geo.ip import is_public

    found, missed = [], []
    while len(found) < count:
        if version == 4:
            address = ipaddress.IPv4Address(rng.getrandbits(32))
        else:
            block = rng.choice(RIR_IPV6_BLOCKS) + rng.getrandbits(4)
            address = ipaddress.IPv6Address(block << 112 | rng.getrandbits(112))
        if not is_public(address):
            continue
        if lookup(address) is not None:
            found.append(address)
        elif len(missed) < count:
            missed.append(address)
    return found, missed


def best_us(lookup, sample: list, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for address in sample:
            lookup(address)
        best = min(best, time.perf_counter() - started)
    return best / len(sample) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lookups", type=int, default=50_000, help="addresses per IP version")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    from geo import operators

    before = memory_kib()
    started = time.perf_counter()
    operators.warm_up()
    opened_ms = (time.perf_counter() - started) * 1e3
    opened = memory_kib()
    source = operators._source()
    if isinstance(source, operators.asn_table.AsnTable):
        # Every page once, as a worker has them after enough lookups, with no objects kept.
        for offset in range(0, len(source._map), mmap.PAGESIZE):
            source._map[offset]
    touched = memory_kib()

    rng = random.Random(14)
    samples = {version: addresses(version, args.lookups, rng, operators.operator_of) for version in (4, 6)}
    timings = {
        version: [best_us(operators.operator_of, sample, args.repeat) for sample in found_missed]
        for version, found_missed in samples.items()
    }

    path = settings.GEOIP_ASN_PATH or str(operators.asn_table.TABLE_PATH)
    print(f"source: {path} ({os.path.getsize(path) / 2**20:.1f} MiB), opened in {opened_ms:.1f} ms")
    for label, memory in (
        ("before opening", before),
        ("after opening", opened),
        ("every page read", touched),
    ):
        print(
            f"{label:>16}: RSS {memory['rss'] / 1024:6.1f} MiB, private dirty {memory['private'] / 1024:6.1f} MiB"
        )
    print(
        f"the table adds RSS +{(touched['rss'] - before['rss']) / 1024:.1f} MiB "
        f"({mapped_kib(path) / 1024:.1f} MiB of it the file's pages: page cache, shared by the workers), "
        f"private dirty +{(touched['private'] - before['private']) / 1024:.1f} MiB"
    )
    for version, (found_us, missed_us) in timings.items():
        print(
            f"IPv{version}: {found_us:.2f} µs a lookup that finds an operator, {missed_us:.2f} µs one that "
            f"finds none (operator_of, {args.lookups:,} addresses each, best of {args.repeat})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
