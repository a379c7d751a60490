"""Shed load before falling over: a request that waited too long in the queue in front of the
app answers 503 + Retry-After at once instead of being worked on.

nginx stamps each request with the time it arrived (`X-Request-Start: t=<seconds>`, see
deploy/nginx.conf). When the workers fall behind, requests wait in nginx's and gunicorn's
queues; one that has already waited LOAD_SHED_QUEUE_SECONDS is answered cheaply (no
database, no cache), which drains the queue, and its client retries later as told. The
header is only read behind a trusted proxy (TRUSTED_PROXY_COUNT > 0), which overwrites
whatever the client sent; health checks and metrics are never shed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from config.middleware import unavailable_response

logger = logging.getLogger(__name__)

NEVER_SHED = ("/healthz", "/metrics")
# Under overload every request would log a line: one summary per process this often instead.
LOG_EVERY_SECONDS = 10.0


def queued_seconds(header: str, now: float) -> float | None:
    """Seconds since the proxy's stamp (`t=1700000000.123`, or bare seconds); None if unreadable."""
    raw = header.strip().removeprefix("t=")
    try:
        started = float(raw)
    except ValueError:
        return None
    return now - started


class LoadSheddingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._shed_since_log = 0
        self._logged_at = 0.0

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.LOAD_SHED_QUEUE_SECONDS
        header = request.META.get("HTTP_X_REQUEST_START")
        if limit and header and settings.TRUSTED_PROXY_COUNT and not request.path.startswith(NEVER_SHED):
            waited = queued_seconds(header, time.time())
            if waited is not None and waited > limit:
                return self._shed(request, waited)
        return self.get_response(request)

    def _shed(self, request: HttpRequest, waited: float) -> HttpResponse:
        # Counted without a lock: the summary may be off by a few under threads, never wrong in kind.
        self._shed_since_log += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_SECONDS:
            logger.warning(
                "load shed: %d requests since the last report (the latest waited %.1f s in the queue)",
                self._shed_since_log,
                waited,
            )
            self._shed_since_log = 0
            self._logged_at = now
        response = unavailable_response(
            request,
            error="overloaded",
            api_detail="Too many requests right now; retry shortly.",
            page_text="Downradar is very busy; please retry in a few seconds.",
        )
        # Not one "Service Unavailable" line per request too: Django's log_response skips a
        # response with this private flag, which the stubs do not declare.
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response
