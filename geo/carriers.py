"""Addresses many people share: a mobile carrier's carrier-grade NAT (one IPv4 address for
hundreds of phones) and its IPv6 sites (a /64 per device, a /48 per cell site or pool).

Which operators are carriers is a setting (MOBILE_CARRIER_ASNS, by AS number). Nothing here
stores or logs an address; reports.hashing decides how such people are counted.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings

from geo.ip import IPAddress
from geo.operators import operator_of

# RFC 6598: the shared address space carriers number their NAT's inside with. Seen only
# when a carrier's own proxy forwards it; never public.
SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")


def _carrier(address: IPAddress) -> bool:
    operator = operator_of(address)
    return operator is not None and operator.asn in settings.MOBILE_CARRIER_ASNS


def is_shared(address: IPAddress) -> bool:
    """True for an IPv4 address many people may sit behind: a mobile carrier's, or one of
    the shared address space."""
    return address.version == 4 and (address in SHARED_ADDRESS_SPACE or _carrier(address))


def is_carrier_site(address: IPAddress) -> bool:
    """True for an IPv6 address of a mobile carrier: each /64 is a device, its /48 a site
    of many people."""
    return address.version == 6 and _carrier(address)
