"""Public reads from a replica (config.db_router): tested with a second alias holding a
second, real connection to the same PostgreSQL database."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from tests.helpers import post_report
from tests.review_helpers import reviewer_user

# The second alias exists for the whole session (Django sets test databases up once, and
# mirrors it onto the default's test database); the router uses it only where a test turns
# DATABASE_REPLICA_READS on, as DATABASE_REPLICA_URL does.
_default = connections.settings["default"]
connections.settings.setdefault("replica", {**_default, "TEST": {**_default["TEST"], "MIRROR": "default"}})

pytestmark = pytest.mark.django_db(
    transaction=True, serialized_rollback=True, databases=["default", "replica"]
)


@pytest.fixture
def replica(settings, on_postgres):
    settings.DATABASE_REPLICA_READS = True
    yield connections["replica"]
    connections["replica"].close()


def queries(client, method: str, url: str, **kwargs) -> tuple[int, list[str], list[str]]:
    with (
        CaptureQueriesContext(connections["default"]) as on_default,
        CaptureQueriesContext(connections["replica"]) as on_replica,
    ):
        response = getattr(client, method)(url, **kwargs)
    return (
        response.status_code,
        [q["sql"] for q in on_default.captured_queries],
        [q["sql"] for q in on_replica.captured_queries],
    )


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/api/v1/services/",
        "/api/v1/services/chatgpt/timeseries/",
        "/s/chatgpt/incidents.atom",
        "/s/chatgpt/",  # raw SQL, through reports.counts.read_connection
        "/api/v1/map/",
    ],
)
def test_public_pages_and_api_read_from_the_replica(client, chatgpt, replica, url):
    status, on_default, on_replica = queries(client, "get", url)

    assert status == 200
    assert on_replica, "nothing was read from the replica"
    assert not [sql for sql in on_default if "outages_" in sql or "reports_" in sql]


def test_a_report_is_written_and_checked_on_the_primary(client, chatgpt, replica):
    with (
        CaptureQueriesContext(connections["default"]) as on_default,
        CaptureQueriesContext(connections["replica"]) as on_replica,
    ):
        response = post_report(client, {"service": "chatgpt", "problem": "login"})

    assert response.status_code == 201, response.content
    assert any("INSERT" in q["sql"] for q in on_default.captured_queries)
    assert on_replica.captured_queries == []


def test_review_reads_from_the_primary(client, replica):
    client.force_login(reviewer_user())

    status, on_default, on_replica = queries(client, "get", "/review/")

    assert status == 200
    assert on_default and on_replica == []


def test_without_a_replica_everything_reads_from_the_primary(client, chatgpt, settings):
    assert not settings.DATABASE_REPLICA_READS

    status, on_default, on_replica = queries(client, "get", "/api/v1/services/")

    assert status == 200
    assert on_default and on_replica == []
