"""Schemathesis against our own OpenAPI schema (/api/schema/), in-process over WSGI:
every operation gets a bounded number of generated requests, valid and invalid, and no
answer may be a server error or disagree with the schema (status, content type, body,
headers)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from config.wsgi import application

EXAMPLES_PER_OPERATION = 40


# Building the schema reads no table, so it can load at collection time.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def _in_process_requests(db, settings):
    # A generous budget so the generated reports reach the intake instead of the limiter
    # (the 429 itself is in the schema and covered by tests/test_rate_limit.py).
    settings.REPORT_RATE_LIMIT = "100000/h"
    # As Django's test client does: the requests run inside the test's transaction, which
    # the end-of-request connection cleanup would otherwise close.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_match_the_schema_and_never_fail(case):
    case.call_and_validate(
        environ_base={"REMOTE_ADDR": "93.56.1.1"},
        # What is checked: no 5xx, and every answer as documented (status, content type,
        # body, headers). Left out: schema-valid but unknown values (a service slug that
        # does not exist) are refused with a documented 400 or 404, and an empty query
        # value (`?status=`) means "not given" as DRF reads query strings; both by design.
        excluded_checks=[positive_data_acceptance, negative_data_rejection],
    )
