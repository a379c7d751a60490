"""Flood control: one budget per client (a voter: reports.hashing.voter) across all services,
and one per its IPv6 /48 (REPORT_SITE_RATE_LIMIT; a mobile carrier's /48, whose /64s are
devices, REPORT_MOBILE_SITE_RATE_LIMIT) so a /48 is one larger budget, not 65,536; counted
in the cache.

A fixed window per client (its end offset by a hash of the key, so windows do not all
roll over at once), counted with one Redis command: a small Lua script (EVALSHA) that
does SET NX with the TTL, then INCR. Without Redis (the embedded default) the cache's
add/incr do the same.

Fails open: when Redis is down reports are still taken, and the failure is logged.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
import zlib

from django.conf import settings
from django.core.cache import caches
from redis.exceptions import NoScriptError, RedisError

from geo.carriers import is_carrier_site
from geo.ip import IPAddress
from reports.hashing import rate_limit_key, rate_limit_site_key

logger = logging.getLogger(__name__)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The key outlives its window by a little, so a late INCR never starts a fresh count.
_EXPIRY_FUDGE_SECONDS = 5
# KEYS[i] a counter, ARGV[i] its TTL; returns the new counts. One command instead of a two-command pipeline: about
# 20 us less client CPU per report (redis-py packs, sends and parses once). The script is
# loaded on first use and again whenever Redis has lost it (a restart, SCRIPT FLUSH).
_COUNT_SCRIPT = """
local counts = {}
for i, key in ipairs(KEYS) do
  redis.call('SET', key, 0, 'EX', ARGV[i], 'NX')
  counts[i] = redis.call('INCR', key)
end
return counts
"""
_COUNT_SHA = hashlib.sha1(_COUNT_SCRIPT.encode()).hexdigest()


@functools.cache
def parse_rate(rate: str) -> tuple[int, int]:
    """ "30/h" -> (30, 3600), "5/10m" -> (5, 600); settings has checked the shape."""
    count, period = rate.split("/")
    multiple = int(period[:-1]) if period[:-1] else 1
    return int(count), multiple * _UNITS[period[-1]]


def window_end(subject: str, period: int, now: int) -> int:
    """End of the fixed window `now` falls in, offset per subject by a stable hash."""
    end = now - now % period + zlib.crc32(subject.encode()) % period
    return end + period if end <= now else end


def retry_after_seconds(address: IPAddress, *, device: str | None = None) -> int | None:
    """Count this request against the client's budget (its voter's: reports.hashing.voter)
    and its /48's, a mobile carrier's /48 having REPORT_MOBILE_SITE_RATE_LIMIT; seconds to
    wait when either is spent."""
    now = int(time.time())
    budgets = [(rate_limit_key(address, device=device), settings.REPORT_RATE_LIMIT, "reports")]
    site = rate_limit_site_key(address)
    if site is not None:
        if is_carrier_site(address):
            budgets.append((site, settings.REPORT_MOBILE_SITE_RATE_LIMIT, "mobile-site"))
        else:
            budgets.append((site, settings.REPORT_SITE_RATE_LIMIT, "site"))
    keys, limits, ends, ttls = [], [], [], []
    for subject, rate, kind in budgets:
        limit, period = parse_rate(rate)
        end = window_end(subject, period, now)
        keys.append(f"rl:{kind}:{limit}/{period}:{subject}:{end}")
        limits.append(limit)
        ends.append(end)
        ttls.append(period + _EXPIRY_FUDGE_SECONDS)
    counts = _count(keys, ttls=ttls)
    if counts is None:
        return None
    waits = [end - now for count, limit, end in zip(counts, limits, ends, strict=True) if count > limit]
    return max(1, max(waits)) if waits else None


def _count(keys: list[str], *, ttls: list[int]) -> list[int] | None:
    """Add one to each of `keys` and return the new counts; None when the cache is unreachable."""
    cache = caches["default"]
    client = _redis_client(cache)
    if client is None:
        counts = []
        for key, ttl in zip(keys, ttls, strict=True):
            if cache.add(key, 1, ttl):
                counts.append(1)
                continue
            try:
                counts.append(cache.incr(key))
            except ValueError:  # expired between add and incr: let this one through
                counts.append(0)
        return counts
    full_keys = [cache.make_key(key) for key in keys]
    try:
        try:
            return client.evalsha(_COUNT_SHA, len(keys), *full_keys, *ttls)
        except NoScriptError:
            client.script_load(_COUNT_SCRIPT)
            return client.evalsha(_COUNT_SHA, len(keys), *full_keys, *ttls)
    except RedisError as exc:
        logger.warning("rate limit not applied: the cache is unreachable (%s)", type(exc).__name__)
        return None


def _redis_client(cache):
    """The raw redis-py client behind a django-redis cache, or None for other backends."""
    get_client = getattr(getattr(cache, "client", None), "get_client", None)
    return get_client(write=True) if get_client is not None else None
