"""Keyed hashes of client addresses: what we keep instead of the address itself.

- client hash: HMAC(key, daily salt + address). Dedupe needs it for minutes; the salt
  is random, rotated every UTC day and deleted after two, so a stored hash cannot be
  linked to an address (or to the same person on another day) once its salt is gone.
- network hash: HMAC(key, "/24 or /64 prefix"). Stable, so review can count distinct
  networks, see how new they are and exclude one; it never reveals the prefix.
- rate-limit key: HMAC(key, address, or /64 for IPv6), so cache keys hold no address.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction

from geo.ip import IPAddress, network_of
from reports.models import DailySalt

HASH_LENGTH = 32  # hex characters: 128 bits

_salts: dict[dt.date, str] = {}


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


def client_hash(address: IPAddress, *, day: dt.date) -> str:
    return _digest(f"client|{daily_salt(day)}|{address}")


def network_hash(address: IPAddress) -> str:
    return network_hash_of_prefix(str(network_of(address)))


def network_hash_of_prefix(prefix: str) -> str:
    return _digest(f"network|{prefix}")


def rate_limit_key(address: IPAddress) -> str:
    # One IPv6 /64 is one subscriber; IPv4 clients are limited per address because a
    # carrier-grade NAT /24 holds many unrelated people.
    subject = network_of(address) if address.version == 6 else address
    return _digest(f"ratelimit|{subject}")
