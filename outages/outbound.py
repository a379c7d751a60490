"""Outbound HTTP to addresses other people name: subscribers' webhooks
(outages.alerts.delivery) and official status pages (outages.official). One transport, so
both get the same address checks, the same deadline and the same cap on what is read.

The host is resolved once (`resolver`), every address it resolves to is checked, and the
connection goes to the checked address: a second lookup at connect time could answer
differently (DNS rebinding). The stdlib's http.client does the HTTP; only its connect() is
ours (TCP to the checked address, TLS with SNI and certificate check for the name), so the
Host header, SNI and certificate all name the host of the URL. urllib3 would need the same
override plus private hooks to reach the raw socket that the deadline cuts. A redirect is
followed (by `get` only) as a new request: its address is checked again before connecting.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from outages.special_addresses import publicly_routed


def retry_after(first: float, failures: int, cap: float, *, jitter: float = 0.0) -> float:
    """Seconds to wait before calling again after `failures` failures in a row: `first`,
    doubled after each further failure, at most `cap`; plus up to `jitter` of it at random,
    so that many callers of a server that was down do not all come back at once."""
    wait = min(first * 2 ** min(max(failures - 1, 0), 30), cap)
    return wait + random.uniform(0, wait * jitter) if jitter else wait


class OutboundError(Exception):
    """Why a call failed, in words that read after what was called ("webhook", "status
    page"): "too slow: ...", "host x resolves to a non-public address"."""


Resolver = Callable[[str, int], list[str]]
# Which resolved addresses may be called; None: any.
AddressRule = Callable[[str], bool] | None


def _getaddrinfo(host: str, port: int) -> list[str]:
    # str(): an AF_INET or AF_INET6 socket address starts with the address as text.
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


# The one lookup of a host (tests point it at a resolver of their own).
resolver: Resolver = _getaddrinfo
# TLS: the system's CAs, the chain and the host name checked (tests trust their own CA).
tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context

# Each socket operation gives up after this long, within the caller's total deadline.
SOCKET_TIMEOUT_SECONDS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})


def address_allowed(address: str) -> bool:
    """May we call this address for someone else? Ordinary public unicast only: no IANA
    special-purpose block of either family (outages.special_addresses), and an IPv6
    spelling of an IPv4 address (IPv4-mapped, NAT64) is judged by that address:
    64:ff9b::7f00:1 reaches 127.0.0.1 through a gateway."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return publicly_routed(ip)


def public_or_loopback(address: str) -> bool:
    """address_allowed, plus this machine's own loopback (127.0.0.0/8, ::1): for a demo or a
    test server on the same machine, never another private network."""
    try:
        return ipaddress.ip_address(address).is_loopback or address_allowed(address)
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Target:
    """A URL with the address it was checked at: the one to connect to."""

    host: str
    port: int
    address: str
    tls: bool
    path: str


def url_check(url: str, *, allowed: AddressRule) -> Target:
    """Resolve the URL's host once and pick the address to call; with a rule, every address
    the host resolves to must pass it."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise OutboundError("address must be http or https")
    tls = parts.scheme == "https"
    try:
        port = parts.port or (443 if tls else 80)
    except ValueError:
        raise OutboundError("address has a bad port") from None
    try:
        addresses = resolver(parts.hostname, port)
    except OSError as exc:
        raise OutboundError(f"host {parts.hostname} cannot be resolved: {exc}") from None
    if not addresses:
        raise OutboundError(f"host {parts.hostname} cannot be resolved")
    if allowed is not None and not all(allowed(address) for address in addresses):
        raise OutboundError(f"host {parts.hostname} resolves to a non-public address")
    path = parts.path or "/"
    return Target(
        host=parts.hostname,
        port=port,
        address=addresses[0],
        tls=tls,
        path=f"{path}?{parts.query}" if parts.query else path,
    )


class _PinnedConnection(http.client.HTTPConnection):
    """http.client, connecting to the checked address instead of looking the host up."""

    def __init__(self, target: Target, *, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.target = target
        self.raw: socket.socket | None = None

    def connect(self) -> None:
        self.raw = socket.create_connection((self.target.address, self.target.port), self.timeout)
        if self.target.tls:
            self.sock = tls_context().wrap_socket(self.raw, server_hostname=self.target.host)
        else:
            self.sock = self.raw

    def cut(self) -> None:
        # From the deadline's timer thread: shutting the raw socket down wakes any blocked
        # read or write, whatever http.client or TLS is in the middle of.
        if self.raw is not None:
            with contextlib.suppress(OSError):
                self.raw.shutdown(socket.SHUT_RDWR)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes  # at most the limit asked for
    complete: bool  # False: the body went on past the limit (and was not read)


def call(
    target: Target,
    *,
    method: str,
    headers: dict[str, str],
    deadline: float,
    limit: int,
    body: bytes | None = None,
) -> Answer:
    """One request to the target; never longer than `deadline` seconds in all (socket
    timeouts are per operation, so a server that trickles a byte every few seconds would
    hold a worker for as long as it liked), and never more than `limit` bytes read."""
    started = time.monotonic()
    connection = _PinnedConnection(target, timeout=min(SOCKET_TIMEOUT_SECONDS, deadline))
    timer = threading.Timer(deadline, connection.cut)
    timer.daemon = True
    timer.start()
    try:
        connection.request(method, target.path, body=body, headers=headers)
        response = connection.getresponse()
        read = response.read(limit + 1)
        answer = Answer(
            status=response.status,
            headers={name.lower(): value for name, value in response.getheaders()},
            body=read[:limit],
            complete=len(read) <= limit,
        )
    except (OSError, http.client.HTTPException) as exc:
        if time.monotonic() - started >= deadline:
            raise OutboundError(f"too slow: no complete answer in {deadline:.3g} s") from None
        raise OutboundError(f"unreachable: {exc}") from None
    finally:
        timer.cancel()
        connection.close()
    if time.monotonic() - started >= deadline:
        raise OutboundError(f"too slow: no complete answer in {deadline:.3g} s")
    return answer


def get(
    url: str,
    *,
    headers: dict[str, str],
    allowed: AddressRule,
    deadline: float,
    limit: int,
    redirects: int = 3,
) -> Answer:
    """GET, following up to `redirects` redirects, each to an address checked as the first
    was (a public page may redirect to our own network); all within one deadline."""
    started = time.monotonic()
    for _ in range(redirects + 1):
        left = deadline - (time.monotonic() - started)
        if left <= 0:
            raise OutboundError(f"too slow: no complete answer in {deadline:.3g} s")
        answer = call(
            url_check(url, allowed=allowed), method="GET", headers=headers, deadline=left, limit=limit
        )
        location = answer.headers.get("location")
        if answer.status not in REDIRECTS or not location:
            return answer
        url = urljoin(url, location)
    raise OutboundError(f"more than {redirects} redirects")
