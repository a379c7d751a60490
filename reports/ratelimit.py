"""Flood control: one budget per client across all services (django-ratelimit on the cache).

The cache fails open (see CACHES in settings): when Redis is down reports are still
taken, and django_redis logs the failure.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from geo.ip import IPAddress
from reports.hashing import rate_limit_key


def retry_after_seconds(request: HttpRequest, address: IPAddress) -> int | None:
    """Count this request against the client's budget; seconds to wait when it is spent."""
    usage = get_usage(
        request,
        group="reports",
        key=lambda group, req: rate_limit_key(address),
        rate=settings.REPORT_RATE_LIMIT,
        increment=True,
    )
    if usage is None or not usage["should_limit"]:
        return None
    return max(1, usage["time_left"])
