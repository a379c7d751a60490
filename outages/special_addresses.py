"""Where a subscriber's webhook may not be called: IANA's special-purpose address registries
for IPv4 and IPv6, as data, one row per block with the registry's name and the RFC.

Sources (read on 5 December 2026):
- https://www.iana.org/assignments/iana-ipv4-special-registry/
- https://www.iana.org/assignments/iana-ipv6-special-registry/
- https://www.iana.org/assignments/ipv4-address-space/ (multicast)
- https://www.iana.org/assignments/ipv6-address-space/ (only 2000::/3 is global unicast;
  fec0::/10, the deprecated site-local block, lives there and not in the special registry)

Every block is refused, those the registry marks "globally reachable" (anycast relays,
AS112, ORCHIDv2...) included: none of them is a place a webhook lives. Two blocks are not
destinations of their own but another spelling of an IPv4 address, and the connection
really goes to that address (an AF_INET6 socket to ::ffff:a.b.c.d; a NAT64 gateway for
64:ff9b::/96, which is how an IPv6-only host reaches IPv4 through DNS64): those are judged
by the IPv4 address they carry.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class SpecialBlock:
    network: Network
    name: str
    rfc: str
    # The block spells an IPv4 address in its low 32 bits, and a connection reaches it.
    carries_ipv4: bool = False


def _block(cidr: str, name: str, rfc: str, *, carries_ipv4: bool = False) -> SpecialBlock:
    return SpecialBlock(ipaddress.ip_network(cidr), name, rfc, carries_ipv4)


IPV4_SPECIAL = (
    _block("0.0.0.0/8", '"This network"', "RFC 791, section 3.2"),
    _block("0.0.0.0/32", '"This host on this network"', "RFC 1122, section 3.2.1.3"),
    _block("10.0.0.0/8", "Private-Use", "RFC 1918"),
    _block("100.64.0.0/10", "Shared Address Space", "RFC 6598"),
    _block("127.0.0.0/8", "Loopback", "RFC 1122, section 3.2.1.3"),
    _block("169.254.0.0/16", "Link Local", "RFC 3927"),
    _block("172.16.0.0/12", "Private-Use", "RFC 1918"),
    _block("192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890, section 2.1"),
    _block("192.0.0.0/29", "IPv4 Service Continuity Prefix", "RFC 7335"),
    _block("192.0.0.8/32", "IPv4 dummy address", "RFC 7600"),
    _block("192.0.0.9/32", "Port Control Protocol Anycast", "RFC 7723"),
    _block("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "RFC 8155"),
    _block("192.0.0.170/32", "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050 section 2.2"),
    _block("192.0.0.171/32", "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050 section 2.2"),
    _block("192.0.2.0/24", "Documentation (TEST-NET-1)", "RFC 5737"),
    _block("192.31.196.0/24", "AS112-v4", "RFC 7535"),
    _block("192.52.193.0/24", "AMT", "RFC 7450"),
    _block("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "RFC 7526"),
    _block("192.88.99.2/32", "6a44-relay anycast address", "RFC 6751"),
    _block("192.168.0.0/16", "Private-Use", "RFC 1918"),
    _block("192.175.48.0/24", "Direct Delegation AS112 Service", "RFC 7534"),
    _block("198.18.0.0/15", "Benchmarking", "RFC 2544"),
    _block("198.51.100.0/24", "Documentation (TEST-NET-2)", "RFC 5737"),
    _block("203.0.113.0/24", "Documentation (TEST-NET-3)", "RFC 5737"),
    _block("240.0.0.0/4", "Reserved", "RFC 1112, section 4"),
    _block("255.255.255.255/32", "Limited Broadcast", "RFC 8190, RFC 919 section 7"),
    # From the IPv4 address space registry: a webhook is one host, never a group.
    _block("224.0.0.0/4", "Multicast", "RFC 5771"),
)

IPV6_SPECIAL = (
    _block("::1/128", "Loopback Address", "RFC 4291"),
    _block("::/128", "Unspecified Address", "RFC 4291"),
    _block("::ffff:0:0/96", "IPv4-mapped Address", "RFC 4291", carries_ipv4=True),
    _block("64:ff9b::/96", "IPv4-IPv6 Translat.", "RFC 6052", carries_ipv4=True),
    # Local-use NAT64: what it reaches depends on the site's gateway, so it is refused.
    _block("64:ff9b:1::/48", "IPv4-IPv6 Translat.", "RFC 8215"),
    _block("100::/64", "Discard-Only Address Block", "RFC 6666"),
    _block("100:0:0:1::/64", "Dummy IPv6 Prefix", "RFC 9780"),
    _block("2001::/23", "IETF Protocol Assignments", "RFC 2928"),
    _block("2001::/32", "TEREDO", "RFC 4380, RFC 8190"),
    _block("2001:1::1/128", "Port Control Protocol Anycast", "RFC 7723"),
    _block("2001:1::2/128", "Traversal Using Relays around NAT Anycast", "RFC 8155"),
    _block("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "RFC 9665"),
    _block("2001:2::/48", "Benchmarking", "RFC 5180, RFC Errata 1752"),
    _block("2001:3::/32", "AMT", "RFC 7450"),
    _block("2001:4:112::/48", "AS112-v6", "RFC 7535"),
    _block("2001:10::/28", "Deprecated (previously ORCHID)", "RFC 4843"),
    _block("2001:20::/28", "ORCHIDv2", "RFC 7343"),
    _block("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374"),
    _block("2001:db8::/32", "Documentation", "RFC 3849"),
    _block("2002::/16", "6to4", "RFC 3056"),
    _block("2620:4f:8000::/48", "Direct Delegation AS112 Service", "RFC 7534"),
    _block("3fff::/20", "Documentation", "RFC 9637"),
    _block("5f00::/16", "Segment Routing (SRv6) SIDs", "RFC 9602"),
    _block("fc00::/7", "Unique-Local", "RFC 4193, RFC 8190"),
    _block("fe80::/10", "Link-Local Unicast", "RFC 4291"),
    # From the IPv6 address space registry.
    _block("fec0::/10", "Site-Local (deprecated)", "RFC 3879"),
    _block("ff00::/8", "Multicast", "RFC 4291"),
)

# The IPv6 address space registry allocates unicast for global use from 2000::/3 only;
# everything else (::/8 with the deprecated IPv4-compatible form, 4000::/3...) is reserved.
IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


def special_block(address: Address) -> SpecialBlock | None:
    """The most specific special-purpose block holding the address, if any."""
    blocks = IPV4_SPECIAL if isinstance(address, ipaddress.IPv4Address) else IPV6_SPECIAL
    holding = [block for block in blocks if address in block.network]
    return max(holding, key=lambda block: block.network.prefixlen, default=None)


def publicly_routed(address: Address) -> bool:
    """Is the address an ordinary public unicast one: in no special-purpose block (or,
    for a block that spells an IPv4 address, is that address one)?"""
    block = special_block(address)
    if block is not None and block.carries_ipv4:
        return publicly_routed(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if block is not None:
        return False
    return isinstance(address, ipaddress.IPv4Address) or address in IPV6_GLOBAL_UNICAST
