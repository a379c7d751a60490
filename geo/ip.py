"""Client addresses: which one to trust, how to normalise it, and the network it belongs to.

Nothing here stores or logs an address; callers hash what they keep (see reports.hashing).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Reports from one IPv4 /24 or one IPv6 /64 come from one household, office or carrier
# pool: rate limits and abuse signals treat each as one network.
IPV4_NETWORK_PREFIX = 24
IPV6_NETWORK_PREFIX = 64
# One IPv6 site (an office, a hosting customer, a block of an ISP's pool): the level above
# the /64 at which floods from one place are grouped and rate limits share a budget.
IPV6_SITE_PREFIX = 48


def parse_ip(raw: str | None) -> IPAddress | None:
    """The address in `raw`, with IPv4-mapped IPv6 (::ffff:a.b.c.d) folded to IPv4."""
    if not raw:
        return None
    text = raw.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_ip_from_meta(
    meta: dict, trusted_proxy_count: int, trusted_networks: Sequence[IPNetwork] = ()
) -> IPAddress | None:
    """The client's address: REMOTE_ADDR when no proxy is trusted, else the entry
    `trusted_proxy_count` hops from the right of X-Forwarded-For.

    Entries further left were written by the client itself and can be forged, so they
    are never read. django-ipware's proxy_count expects the proxies' own addresses in the
    header, which nginx's $proxy_add_x_forwarded_for does not add, hence this function.
    The header is read only from a connection out of `trusted_networks` (the proxies):
    a client that reaches the app directly is its own REMOTE_ADDR, whatever it sends.
    A trusted peer that sends no header at all is no proxy but a client on the proxy's
    host (a browser on 127.0.0.1 beside `make run`): it is its REMOTE_ADDR too.
    """
    remote = parse_ip(meta.get("REMOTE_ADDR"))
    if trusted_proxy_count == 0:
        return remote
    if trusted_networks and (remote is None or not any(remote in network for network in trusted_networks)):
        return remote
    hops = [hop for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if not hops:
        return remote
    if len(hops) < trusted_proxy_count:
        return None
    return parse_ip(hops[-trusted_proxy_count])


def client_ip(request: HttpRequest) -> IPAddress | None:
    from django.conf import settings

    return client_ip_from_meta(request.META, settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXY_NETWORKS)


def network_of(address: IPAddress) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    prefix = IPV4_NETWORK_PREFIX if address.version == 4 else IPV6_NETWORK_PREFIX
    return ipaddress.ip_network((address, prefix), strict=False)


def site_of(address: IPAddress) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The /48 of an IPv6 address; an IPv4 address's /24 (its network_of) otherwise."""
    if address.version == 4:
        return network_of(address)
    return ipaddress.ip_network((address, IPV6_SITE_PREFIX), strict=False)


def voter_of(address: IPAddress) -> IPAddress | ipaddress.IPv6Network:
    """Who gets one vote: an IPv4 address (a carrier-grade NAT /24 holds many unrelated
    people), an IPv6 /64 (one household: its devices pick addresses freely inside it)."""
    return address if address.version == 4 else cast(ipaddress.IPv6Network, network_of(address))


def is_public(address: IPAddress) -> bool:
    return address.is_global
