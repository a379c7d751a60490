"""Playwright for Python driving Debian's chromium headless against pytest-django's live
server. Every page a test opens is watched: a console error, an uncaught exception or a
request to any other host fails the test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser(django_db_setup, django_db_blocker):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make setup does it as root)")
    # Playwright's sync API keeps an event loop running in this thread, which Django takes
    # for async code; the test's own ORM calls are plain synchronous ones. Only while the
    # browser module runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # With that loop running, `connections` hands out a new wrapper for this thread, one
    # without the catalogue serialized at database setup: give it the same snapshot, so
    # serialized_rollback restores the catalogue after each browser test.
    snapshot = getattr(connections[DEFAULT_DB_ALIAS], "_test_serialized_contents", None)
    try:
        with sync_api.sync_playwright() as playwright:
            if snapshot is not None:
                connections[DEFAULT_DB_ALIAS]._test_serialized_contents = snapshot
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def live_server():
    """pytest-django's live server, but with static files served the production way
    (whitenoise, hashed names from collectstatic) instead of the finders."""
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer("localhost", start=False)
    server.thread.static_handler = lambda handler: handler
    server.start()
    yield server
    server.stop()


class WatchedPage:
    def __init__(self, page, base_url: str) -> None:
        self.page = page
        self.base = urlsplit(base_url)
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and self.errors.append(f"{response.status} {response.request.method} {response.url}")
            ),
        )
        page.route("**/*", self._route)

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def _route(self, route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in {"http", "https"} and url.netloc != self.base.netloc:
            self.outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()


@pytest.fixture
def open_page(browser, live_server) -> Iterator:
    """open_page(language="en", width=1280, timezone_id="Europe/Rome") -> a Playwright page
    on the live server; timezone_id is the browser's own zone."""
    watched: list[WatchedPage] = []
    contexts = []

    def _open(language: str = "en", width: int = 1280, height: int = 900, timezone_id: str = "Europe/Rome"):
        context = browser.new_context(
            base_url=live_server.url,
            locale={"en": "en-GB", "it": "it-IT"}[language],
            extra_http_headers={"Accept-Language": language},
            viewport={"width": width, "height": height},
            timezone_id=timezone_id,
        )
        # Generous: the machine running the suite is often shared and busy.
        context.set_default_timeout(20000)
        contexts.append(context)
        page = context.new_page()
        watched.append(WatchedPage(page, live_server.url))
        return page

    yield _open
    for context in contexts:
        context.close()
    for page in watched:
        assert page.errors == [], page.errors
        assert page.outside == [], f"requests to other hosts: {page.outside}"
