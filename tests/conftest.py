from __future__ import annotations

from collections import Counter

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection


def pytest_report_header(config):
    return "database and Redis: see DATABASE_URL / REDIS_URL (make test points them at localhost)"


# A test that asks for one of these starts processes of its own: `make test-fast` leaves it out.
FAULT_FIXTURES = {"own_postgres", "own_database", "own_redis"}


# Under pytest-xdist (`make test`: --dist loadgroup), tests are dealt out one by one, except
# those sharing an expensive fixture: a test using a module-scoped fixture (a browser and live
# server, test_one_truth's day) stays with the rest of its module, and every test on the
# private PostgreSQL cluster goes to one worker, so each is built once per run, not per worker.
ONE_WORKER_FIXTURES = {"own_postgres"}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups and the node ids
def pytest_collection_modifyitems(config, items):
    _unique_node_ids(items)
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if FAULT_FIXTURES & names:
            item.add_marker(pytest.mark.faults)
        if ONE_WORKER_FIXTURES & names:
            item.add_marker(pytest.mark.xdist_group(sorted(ONE_WORKER_FIXTURES & names)[0]))
        elif _uses_module_fixture(item, names):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


def _unique_node_ids(items) -> None:
    """Schemathesis names each operation's test `test_x[GET /path]` but gives them all the
    node id `...::test_x`; xdist schedules by node id and would run one of the eight
    (tests/test_fuzz.py). Each such test gets its name in its id, as schemathesis itself
    does while one runs."""
    counts = Counter(item.nodeid for item in items)
    for item in items:
        base = getattr(item, "originalname", item.name)
        if counts[item.nodeid] > 1 and item.name.startswith(f"{base}[") and item.name.endswith("]"):
            item._id = item._id.with_params(item.name[len(base) + 1 : -1])  # pytest 9's NodeId
    repeated = [node for node, count in Counter(item.nodeid for item in items).items() if count > 1]
    assert not repeated, f"tests with the same node id: {repeated}"


def _uses_module_fixture(item, names: set[str]) -> bool:
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    return any(definitions.get(name) and definitions[name][-1].scope in {"module", "class"} for name in names)


@pytest.fixture(autouse=True, scope="session")
def _static_files_scanned_once():
    """WhiteNoise walks STATIC_ROOT (some 1,300 files: a stat and headers for each) whenever a
    middleware chain is built, and every test's client builds one: 0.1 to 0.2 s a test. The
    files do not change during a run (collectstatic runs before pytest), so each scan is done
    once per (class, root, prefix, options) and later middleware get the same StaticFile
    objects, as the requests of one server process share them."""
    from whitenoise.base import WhiteNoise

    scanned: dict[tuple, dict] = {}
    scan = WhiteNoise.update_files_dictionary

    def update_files_dictionary(self, root, prefix):
        key = (
            type(self),
            root,
            prefix,
            self.max_age,
            self.allow_all_origins,
            self.charset,
            self.add_headers_function,
            self.index_file,
            _whitenoise_settings(),
        )
        if key not in scanned:
            before = dict(self.files)
            scan(self, root, prefix)
            scanned[key] = {url: file for url, file in self.files.items() if before.get(url) is not file}
        self.files.update(scanned[key])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(WhiteNoise, "update_files_dictionary", update_files_dictionary)
        yield


def _whitenoise_settings() -> tuple:
    from django.conf import settings

    names = sorted(name for name in dir(settings) if name.startswith("WHITENOISE_"))
    return (settings.DEBUG, *((name, repr(getattr(settings, name))) for name in names))


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Module-level caches hold rows that each test's rollback deletes: every app clears
    its own in its AppConfig.process_caches_clear, the one reset hook."""
    _process_caches_clear()
    yield
    _process_caches_clear()


def _process_caches_clear() -> None:
    for app in apps.get_app_configs():
        clear = getattr(app, "process_caches_clear", None)
        if clear is not None:
            clear()


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def on_postgres(db):
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL: run it with `make test`")


@pytest.fixture
def chatgpt(db):
    from catalogue.models import Service

    return Service.objects.get(slug="chatgpt")


@pytest.fixture
def reviewer(db):
    """A user in the reviewer group (tests.review_helpers.reviewer_user)."""
    from tests.review_helpers import reviewer_user

    return reviewer_user()


@pytest.fixture
def reviewer_client(reviewer):
    """A test client signed in as `reviewer`: the one way tests reach the review pages.
    A client of its own, so a test can hold it beside the anonymous `client`."""
    from django.test import Client

    signed_in = Client()
    signed_in.force_login(reviewer)
    return signed_in


@pytest.fixture(scope="session")
def own_postgres():
    """A private PostgreSQL cluster for fault tests (initdb and migrate once per session).

    Migrated into `downradar_template`; `own_database` copies it for each test.
    """
    from tests.own_services import OwnPostgres, app_env, migrate

    cluster = OwnPostgres()
    try:
        cluster.start()
        cluster.psql("CREATE DATABASE downradar_template", database="postgres")
        template_url = cluster.url.rsplit("/", 1)[0] + "/downradar_template"
        migrate(app_env(database_url=template_url, redis_url=None, var_dir=cluster.dir / "var"))
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def own_database(own_postgres):
    """A fresh `downradar` database on the private cluster, running."""
    own_postgres.start_if_stopped()
    own_postgres.psql("DROP DATABASE IF EXISTS downradar WITH (FORCE)", database="postgres")
    own_postgres.psql("CREATE DATABASE downradar TEMPLATE downradar_template", database="postgres")
    yield own_postgres
    own_postgres.start_if_stopped()


@pytest.fixture
def own_redis():
    """A private redis-server on a spare port, stopped after the test."""
    from tests.own_services import OwnRedis

    server = OwnRedis()
    server.start()
    yield server
    server.stop()
