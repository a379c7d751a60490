"""Keyed hashes of client addresses: what we keep instead of the address itself.

- client hash: HMAC(key, daily salt + address). Dedupe needs it for minutes; the salt
  is random, rotated every UTC day and deleted after two, so a stored hash cannot be
  linked to an address (or to the same person on another day) once its salt is gone.
  The client is the IPv4 address or the IPv6 /64 (geo.ip.voter_of): one household.
- network hashes: HMAC(key, "/24 or /64 prefix"), of the IPv6 /48 (the site; for IPv4 the
  /24 again) and of the announced prefix (geo.operators). Stable, so review can count
  distinct networks at each level, see how new they are and exclude one; they never reveal
  the prefix.
- rate-limit keys: HMAC(key, address or /64) and HMAC(key, /48), so cache keys hold no address.
- recipient keys: HMAC(key, normalised email address), so the outbox can count the mails one
  inbox was sent without keeping the address a second time.

Who gets one vote is one rule, `voter`: an IPv4 address or an IPv6 /64, except on a shared
address (geo.carriers.is_shared: a mobile carrier's NAT) whose client sends a device cookie
(reports.devices), where each of REPORT_DEVICES_PER_ADDRESS device slots of the address is a
voter and the /24 is folded into ADDRESS_SLOTS_PER_24 addresses and as many sites. Dedupe,
rate limits and the flood check's sites all read it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from geo.carriers import is_shared
from geo.ip import IPAddress, network_of, site_of, voter_of
from geo.operators import operator_of
from reports.models import DailySalt

HASH_LENGTH = 32  # hex characters: 128 bits
# A shared /24 with device cookies is at most this many addresses (and sites), each with
# REPORT_DEVICES_PER_ADDRESS device slots: 16 x 8 = 128 votes per /24 at most. A carrier's
# NAT /24 serves a town's phones; a client cycling cookies over the whole /24 gets no more.
ADDRESS_SLOTS_PER_24 = 16

_salts: dict[dt.date, str] = {}


def salt_cache_clear() -> None:
    _salts.clear()


def _digest(message: str) -> str:
    key = settings.IP_HASH_KEY.encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:HASH_LENGTH]


def daily_salt(day: dt.date) -> str:
    salt = _salts.get(day)
    if salt is None:
        salt = _daily_salt_get_or_create(day)
        _salts.clear()  # keep one day in memory: an old salt must not outlive its row
        _salts[day] = salt
    return salt


def _daily_salt_get_or_create(day: dt.date) -> str:
    existing = DailySalt.objects.filter(day=day).values_list("salt", flat=True).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return DailySalt.objects.create(day=day, salt=secrets.token_hex(32)).salt
    except IntegrityError:  # another process made today's salt first
        return DailySalt.objects.get(day=day).salt


@dataclass(frozen=True, slots=True)
class Voter:
    """Who one vote belongs to, and the site the flood check counts it in (never stored:
    only keyed hashes of them are)."""

    key: str  # an IPv4 address, an IPv6 /64, or a device slot of a shared address
    site: str  # the IPv6 /48, the IPv4 /24, or one of a shared /24's address slots


def voter(address: IPAddress, *, device: str | None = None) -> Voter:
    """The one counting rule. Without a device cookie, or off a shared address, one address
    (IPv6: one /64) is one vote and its /24 (IPv6: /48) one site, as always. With a cookie
    on a shared address, the device's slot of the address is the vote, and the address's
    slot of its /24 the site: people behind a carrier's NAT count, up to
    REPORT_DEVICES_PER_ADDRESS per address and ADDRESS_SLOTS_PER_24 sites per /24."""
    if device is None or not is_shared(address):
        return Voter(key=str(voter_of(address)), site=str(site_of(address)))
    network = network_of(address)
    address_slot = int(address) % ADDRESS_SLOTS_PER_24  # a NAT pool's neighbours: distinct slots
    device_slot = int(_digest(f"device|{device}"), 16) % settings.REPORT_DEVICES_PER_ADDRESS
    return Voter(key=f"{network}#{address_slot}#{device_slot}", site=f"{network}#{address_slot}")


def client_hash(address: IPAddress, *, day: dt.date, device: str | None = None) -> str:
    return _digest(f"client|{daily_salt(day)}|{voter(address, device=device).key}")


def network_hash(address: IPAddress) -> str:
    return network_hash_of_prefix(str(network_of(address)))


def network_hash_of_prefix(prefix: str) -> str:
    return _digest(f"network|{prefix}")


def rate_limit_key(address: IPAddress, *, device: str | None = None) -> str:
    # One budget per voter: an IPv6 /64 is one subscriber; IPv4 clients are limited per
    # address because a carrier-grade NAT /24 holds many unrelated people, and per device
    # slot on a shared address.
    return _digest(f"ratelimit|{voter(address, device=device).key}")


def rate_limit_site_key(address: IPAddress) -> str | None:
    """The budget shared by an IPv6 /48, so a /48 is one budget and not 65,536; None for
    IPv4, whose /24 is already one of few (and may be a whole mobile carrier's pool)."""
    return None if address.version == 4 else _digest(f"ratelimit-site|{site_of(address)}")


@dataclass(frozen=True, slots=True)
class NetworkIdentity:
    """What a report keeps of where it came from: hashes at each level, and its operator."""

    network_hash: str  # the /24 or /64
    network48_hash: str  # the IPv6 /48; for IPv4 the /24 again, or its slot (`voter`)
    prefix_hash: str  # the announced prefix; "" when not known
    asn: int | None
    asn_name: str


def network_identity(
    address: IPAddress, *, cache: dict[str, str] | None = None, device: str | None = None
) -> NetworkIdentity:
    """The report's network hashes and operator; its site is its voter's (`voter`). `cache`
    (prefix -> hash) spares bulk callers one HMAC per report."""
    memo = {} if cache is None else cache

    def hashed(prefix: str) -> str:
        found = memo.get(prefix)
        if found is None:
            found = memo[prefix] = network_hash_of_prefix(prefix)
        return found

    operator = operator_of(address)
    return NetworkIdentity(
        network_hash=hashed(str(network_of(address))),
        network48_hash=hashed(voter(address, device=device).site),
        prefix_hash=hashed(f"as|{operator.prefix}") if operator and operator.prefix else "",
        asn=operator.asn if operator else None,
        asn_name=operator.name if operator else "",
    )


# Providers whose inboxes ignore dots in the local part: a.da@gmail.com is ada@gmail.com.
_DOTLESS_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def email_inbox(address: str) -> str:
    """The inbox an address delivers to, as far as we can tell: NFKC, casefolded, the
    domain without a trailing dot and in its IDNA form, the sub-address ("+tag", RFC 5233)
    dropped, and Gmail's dots. Erring towards one inbox for two addresses only makes a
    budget stricter."""
    text = unicodedata.normalize("NFKC", address).strip().casefold()
    local, _, domain = text.rpartition("@")
    domain = domain.rstrip(".")
    # A name IDNA cannot encode stays as it is: the casefolded text is key enough.
    with contextlib.suppress(UnicodeError):
        domain = domain.encode("idna").decode("ascii")
    local = local.split("+", 1)[0] or local
    if domain in _DOTLESS_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def recipient_key(address: str) -> str:
    """Who a mail goes to, for the per-recipient budgets: a keyed HMAC of the inbox, never
    the address."""
    return _digest(f"recipient|{email_inbox(address)}")
