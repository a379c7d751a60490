"""Public page and API reads from a PostgreSQL replica (DATABASE_REPLICA_URL).

Only the public read views listed in PUBLIC_READ_VIEWS, on GET/HEAD, read from the
`replica` alias, and only the tables of our own apps (services, counts, incidents): users
and sessions always come from the primary, so a login is never "lost" to replica lag.
Everything else, every write, and all of review stay on `default`. Without
DATABASE_REPLICA_URL there is no `replica` alias and this changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"
# Views whose reads may be a few seconds stale: the public pages, feeds and JSON API.
PUBLIC_READ_VIEWS = frozenset(
    {
        "outages:home",
        "outages:service",
        "outages:home-data",
        "outages:service-data",
        "outages:map",
        "outages:incident",
        "api-service-list",
        "api-service-detail",
        "api-service-timeseries",
        "api-service-cities",
        "api-incident-list",
        "api-map",
        "subscriptions:feed-atom",
        "subscriptions:feed-rss",
    }
)
REPLICA_APPS = frozenset({"catalogue", "geo", "reports", "outages"})

_reads_from_replica: ContextVar[bool] = ContextVar("reads_from_replica", default=False)


class ReplicaRouter:
    def db_for_read(self, model, **hints) -> str | None:
        if _reads_from_replica.get() and model._meta.app_label in REPLICA_APPS:
            return REPLICA
        return None  # default

    def db_for_write(self, model, **hints) -> str | None:
        return "default"

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        return True  # one database, two copies of it

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool | None:
        return db == "default"  # the replica gets the schema by replication


class ReplicaReadsMiddleware:
    """Marks a request's reads for the replica once its view is known (process_view)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _reads_from_replica.set(False)
        try:
            return self.get_response(request)
        finally:
            _reads_from_replica.reset(token)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        if (
            settings.DATABASE_REPLICA_READS
            and request.method in ("GET", "HEAD")
            and request.resolver_match is not None
            and request.resolver_match.view_name in PUBLIC_READ_VIEWS
        ):
            _reads_from_replica.set(True)
