"""Tracebacks and error reports carry no raw Host value and no client address (issue 23):
the logs are read from the configured console handler itself, as the process writes them."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import include, path
from django.utils.module_loading import import_string

from config.metrics_logging import NoAddressesFilter, RedactingExceptionReporter

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

HOSTILE_HOST = "attacker-7f3a.example"
CLIENT = "93.56.1.1"
FORWARDED = "151.38.12.9"
SECRETS = (HOSTILE_HOST, "attacker-7f3a", CLIENT, FORWARDED)


def fails_with_the_host(request: HttpRequest) -> HttpResponse:
    host = request.get_host()  # a frame variable holding the Host, as in a real traceback
    raise RuntimeError(f"cannot serve {host} for {request.META['REMOTE_ADDR']}")


urlpatterns = [path("boom/", fails_with_the_host), path("", include("config.urls"))]


@pytest.fixture(params=["plain", "json"])
def console(request):
    """What the app's console handler writes, in either LOG_FORMAT."""
    handler = next(
        h for h in logging.getLogger().handlers if any(isinstance(f, NoAddressesFilter) for f in h.filters)
    )
    spec = dict(settings.LOGGING["formatters"][request.param])
    spec["fmt"] = spec.pop("format")  # as dictConfig passes it
    formatter = import_string(spec.pop("()", "logging.Formatter"))(**spec)
    stream, old_formatter = io.StringIO(), handler.formatter
    old_stream = handler.setStream(stream)
    handler.setFormatter(formatter)
    yield stream
    handler.setStream(old_stream)
    handler.setFormatter(old_formatter)


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text.lower(), f"{secret} in:\n{text}"


def test_a_hostile_host_is_not_in_the_disallowed_host_log_or_its_traceback(console):
    response = Client().get("/", HTTP_HOST=f"{HOSTILE_HOST}:8443", REMOTE_ADDR=CLIENT)

    assert response.status_code == 400
    text = console.getvalue()
    assert "Invalid HTTP_HOST header" in text and "Traceback" in text  # the record and its traceback
    assert "[host]" in text
    assert_clean(text)


def test_a_view_error_logs_its_traceback_without_the_host_or_the_client_address(console, settings):
    settings.ALLOWED_HOSTS = ["*"]  # a Host that gets as far as the view
    client = Client(raise_request_exception=False)

    response = client.get(
        "/boom/",
        HTTP_HOST=HOSTILE_HOST.upper(),
        REMOTE_ADDR=CLIENT,
        HTTP_X_FORWARDED_FOR=f"{FORWARDED}, 10.1.2.3",
    )

    assert response.status_code == 500
    text = console.getvalue()
    assert "RuntimeError: cannot serve [host] for [address]" in text and "Traceback" in text
    assert_clean(text)
    if text.lstrip().startswith("{"):
        assert all(json.loads(line) for line in text.splitlines())  # still one object a line


def test_the_mailed_error_report_names_neither_the_host_nor_the_address(settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.ADMINS = [("Ops", "ops@downradar.test")]
    client = Client(raise_request_exception=False)

    client.get("/boom/", HTTP_HOST=HOSTILE_HOST, REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR=FORWARDED)
    settings.ALLOWED_HOSTS = ["downradar.test"]
    client.get("/", HTTP_HOST=HOSTILE_HOST, REMOTE_ADDR=CLIENT)

    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert "Traceback" in message.body and "HTTP_HOST = '********************'" in message.body
        assert_clean(message.subject + message.body)
    assert "cannot serve [host] for [address]" in mail.outbox[0].body
    assert "Invalid HTTP_HOST header: '[host]'" in mail.outbox[1].subject


def test_the_debug_error_page_names_neither_the_host_nor_the_address():
    request = RequestFactory().get("/", HTTP_HOST=f"{HOSTILE_HOST}:80", REMOTE_ADDR=CLIENT)
    try:
        request.get_host()
    except DisallowedHost:
        reporter = RedactingExceptionReporter(request, *sys.exc_info())

    page = reporter.get_traceback_html()

    assert "DisallowedHost" in page and "[host]" in page
    assert_clean(page)
