"""Prometheus metrics at /metrics, for the scraper only.

Counted in the web processes (prometheus_client; with PROMETHEUS_MULTIPROC_DIR set, as
deploy/gunicorn.conf.py does, every gunicorn worker's values are summed):
- downradar_reports_total{channel, outcome}: report requests by how they ended, read from
  the response status so the ingest code itself is not touched (API: 201 accepted,
  200 duplicate, 429 rate_limited, other 4xx rejected; form: a redirect is accepted, which
  includes the form's duplicates, since it answers both the same way).
- downradar_http_request_duration_seconds{view}: latency by URL name.
Read when scraped (from PostgreSQL, the cache and the broker):
- downradar_detection_pass_seconds{watermark}: how long the last pass (or shard) took.
- downradar_detection_lag_seconds: now minus the oldest current watermark.
- downradar_incidents_open{status}; downradar_celery_queue_length{queue} (Redis LLEN).

Access: a bearer token (METRICS_TOKEN) or a direct connection from an address in
METRICS_ALLOWED_IPS (a request relayed by a proxy never qualifies by address). With
neither set the endpoint answers 404.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

REPORTS = Counter("downradar_reports", "Report requests by outcome", ["channel", "outcome"])
LATENCY = Histogram(
    "downradar_http_request_duration_seconds",
    "Time from request to response, by URL name",
    ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
REPORT_VIEWS = {"api-report-create": "api", "report-submit": "form"}
_API_OUTCOMES = {201: "accepted", 200: "duplicate", 429: "rate_limited"}
# kombu's Redis transport keeps priorities 3, 6 and 9 of a queue in lists of their own.
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)


def report_outcome(channel: str, status: int) -> str:
    if channel == "form":
        if status in (301, 302, 303):
            return "accepted"
        return "rate_limited" if status == 429 else "rejected"
    if status in _API_OUTCOMES:
        return _API_OUTCOMES[status]
    return "rejected" if 400 <= status < 500 else "error"


class RequestMetricsMiddleware:
    """Outermost, so it sees every answer (413, 503 included) and the whole time taken."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        view = match.view_name if match is not None else "unmatched"
        LATENCY.labels(view).observe(time.perf_counter() - started)
        channel = REPORT_VIEWS.get(match.url_name) if match is not None and match.url_name else None
        if channel is None and request.path.startswith("/api/v1/reports"):
            channel = "api"  # refused before URL resolution (e.g. a body too large)
        if channel is not None and request.method == "POST":
            REPORTS.labels(channel, report_outcome(channel, response.status_code)).inc()
        return response


_STATE_METRICS = (
    "downradar_detection_pass_seconds",
    "downradar_detection_lag_seconds",
    "downradar_incidents_open",
    "downradar_celery_queue_length",
)


class StateCollector(Collector):
    """Gauges read at scrape time: the same answer from every web process."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Names only: registration must not query anything (it runs at import).
        for name in _STATE_METRICS:
            yield GaugeMetricFamily(name, "")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from outages.models import DetectionWatermark, Incident
        from outages.watermark import current_watermarks, pass_seconds

        names = current_watermarks(settings.DETECTION_SHARDS)
        seconds = GaugeMetricFamily(
            "downradar_detection_pass_seconds", "Duration of the last detection pass", labels=["watermark"]
        )
        for name, value in pass_seconds(names).items():
            seconds.add_metric([name], value)
        yield seconds

        marks = list(
            DetectionWatermark.objects.filter(name__in=names).values_list("processed_through", flat=True)
        )
        lag = GaugeMetricFamily(
            "downradar_detection_lag_seconds",
            "Seconds since the oldest minute every detection shard has processed",
        )
        processed = [mark for mark in marks if mark is not None]
        if marks and len(processed) == len(marks):
            lag.add_metric([], (timezone.now() - min(processed)).total_seconds())
        yield lag

        incidents = GaugeMetricFamily("downradar_incidents_open", "Incidents not resolved", labels=["status"])
        counts: dict[str, int] = dict.fromkeys([Incident.Status.SUSPECTED, Incident.Status.CONFIRMED], 0)
        for status in Incident.objects.filter(resolved_at__isnull=True).values_list("status", flat=True):
            counts[status] = counts.get(status, 0) + 1
        for status, count in counts.items():
            incidents.add_metric([status], count)
        yield incidents

        queues = GaugeMetricFamily(
            "downradar_celery_queue_length", "Tasks waiting in the broker", labels=["queue"]
        )
        for queue, length in queue_lengths().items():
            queues.add_metric([queue], length)
        yield queues


def queue_lengths() -> dict[str, int]:
    """LLEN of each Celery queue on a Redis broker (nothing for the embedded broker)."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return {}
    import redis

    names = sorted({route["queue"] for route in settings.CELERY_TASK_ROUTES.values()})
    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        with client.pipeline() as pipe:
            for name in names:
                for key in [name, *(f"{name}{_PRIORITY_SEPARATOR}{step}" for step in _PRIORITY_STEPS)]:
                    pipe.llen(key)
            lengths = pipe.execute()
    except redis.RedisError as exc:
        logger.warning("metrics: broker unreachable (%s)", type(exc).__name__)
        return {}
    finally:
        client.close()
    per_queue = 1 + len(_PRIORITY_STEPS)
    return {name: sum(lengths[i * per_queue : (i + 1) * per_queue]) for i, name in enumerate(names)}


_state = StateCollector()
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    REGISTRY.register(_state)


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
        return True
    if not settings.METRICS_ALLOWED_IPS or "HTTP_X_FORWARDED_FOR" in request.META:
        return False
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        peer in ipaddress.ip_network(network, strict=False) for network in settings.METRICS_ALLOWED_IPS
    )


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        raise Http404  # the endpoint's existence is not advertised
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_state)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
