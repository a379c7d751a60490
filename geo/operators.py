"""IP address -> operator (the network's AS name and number, and its announced prefix).

Two sources, chosen by settings.GEOIP_ASN_PATH:
- unset (the default): the IPv4 and IPv6 table built from the npm package @ip-location-db/asn
  (geo/asn_table.py, `make setup`; docs/dependencies.md). The prefix is the largest CIDR
  inside the matched range that holds the address: the upstream merges neighbouring ranges
  of one AS, so this is the announced block, or the part of a merged run around it.
- a GeoLite2-ASN, GeoIP2-ISP or DB-IP ASN `.mmdb`: geoip2's Reader(path).asn(address).

Both are memory-mapped, so gunicorn workers share their pages; config.wsgi opens the source
before gunicorn forks. An operator describes an ISP, not a person: callers may store it
plainly. Nothing here stores or logs an address.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import geoip2.database
import geoip2.errors
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from geo import asn_table
from geo.ip import IPAddress, is_public


@dataclass(frozen=True, slots=True)
class Operator:
    asn: int | None  # None only when an .mmdb names an operator without its number
    name: str
    prefix: str  # the announced prefix holding the address, e.g. "2.32.0.0/14"; "" if unknown


@functools.cache
def _source() -> geoip2.database.Reader | asn_table.AsnTable:
    path = settings.GEOIP_ASN_PATH
    if path:
        try:
            return geoip2.database.Reader(path)
        except (OSError, ValueError) as exc:
            raise ImproperlyConfigured(
                f"GEOIP_ASN_PATH={path!r} is not a readable ASN database: {exc}"
            ) from None
    try:
        return asn_table.AsnTable(asn_table.TABLE_PATH)
    except asn_table.TableError as exc:
        raise ImproperlyConfigured(
            f"The ASN table is missing or unreadable ({exc}): run `make setup` "
            "(or `python -m geo.asn_table`), or set GEOIP_ASN_PATH to an ASN .mmdb"
        ) from None


def table_in_use() -> bool:
    """True when operators come from the bundled table, whose CC BY 4.0 data pages credit."""
    return not settings.GEOIP_ASN_PATH


def warm_up() -> None:
    """Open the source now (before gunicorn forks, not during the first report)."""
    _source()


def operator_of(address: IPAddress | None) -> Operator | None:
    """The operator announcing `address`, or None for private, reserved and unknown ones."""
    if address is None or not is_public(address):
        return None
    source = _source()
    if isinstance(source, asn_table.AsnTable):
        found = source.lookup(address)
        if found is None:
            return None
        return Operator(asn=found.asn, name=found.name[:100], prefix=found.prefix)
    try:
        record = source.asn(str(address))
    except geoip2.errors.AddressNotFoundError:
        return None
    except TypeError:  # not an ASN database
        raise ImproperlyConfigured(
            f"GEOIP_ASN_PATH={settings.GEOIP_ASN_PATH!r} is not an ASN database"
        ) from None
    name = record.autonomous_system_organization or ""
    if not name and record.autonomous_system_number is None:
        return None
    return Operator(
        asn=record.autonomous_system_number,
        name=name[:100],
        prefix=str(record.network) if record.network is not None else "",
    )


_LEGAL_SUFFIXES = re.compile(
    r"[\s,]+(s\.?p\.?a\.?|s\.?r\.?l\.?|gmbh|inc\.?|ltd\.?|llc|plc|b\.?v\.?|s\.?a\.?s?\.?|ag|as|ab|oy|co\.?)$",
    re.IGNORECASE,
)


def display_name(name: str) -> str:
    """An operator's name as people say it: "Vodafone Italia S.p.A." -> "Vodafone Italia"."""
    short = name.strip()
    while True:
        trimmed = _LEGAL_SUFFIXES.sub("", short).strip(" ,.")
        if trimmed == short or not trimmed:
            return short
        short = trimmed


def brand(name: str) -> str:
    """The operator's brand, its first word: "Vodafone Italia" -> "Vodafone"."""
    words = display_name(name).split()
    return words[0] if words else name
