"""The form and the API run the same checks in the same order (reports.intake)."""

from __future__ import annotations

import pytest

from reports.models import Report
from tests.helpers import MILAN_IP, post_report

pytestmark = pytest.mark.django_db


def form_post(client, slug: str, fields: dict, *, ip: str = MILAN_IP):
    return client.post(f"/s/{slug}/report/", fields, REMOTE_ADDR=ip)


@pytest.mark.parametrize(
    ("slug", "problem", "status"),
    [
        ("chatgpt", "login", None),  # stored: 201 from the API, a redirect from the form
        ("myspace", "login", 404),
        ("chatgpt", "keyboard", 400),
    ],
)
def test_the_form_and_the_api_refuse_the_same_reports_with_the_same_status(client, slug, problem, status):
    api = post_report(client, {"service": slug, "problem": problem})
    form = form_post(client, slug, {"problem": problem}, ip="93.56.1.2")

    assert (api.status_code, form.status_code) == ((201, 302) if status is None else (status, status))
    assert Report.objects.count() == (2 if status is None else 0)


def test_a_rate_limited_client_is_refused_before_its_service_or_problem_is_looked_at(client, settings):
    settings.REPORT_RATE_LIMIT = "1/m"
    post_report(client, {"service": "chatgpt"})

    api = post_report(client, {"service": "chatgpt", "problem": "keyboard"})
    form = form_post(client, "chatgpt", {"problem": "keyboard"})

    assert (api.status_code, form.status_code) == (429, 429)
    assert api.json()["error"] == "rate_limited"
    assert int(api["Retry-After"]) >= 1 and int(form["Retry-After"]) >= 1


def test_a_missing_proof_of_work_is_refused_by_both_after_the_service_check(client, settings):
    settings.POW_DIFFICULTY = 8

    assert post_report(client, {"service": "myspace"}).status_code == 404
    api = post_report(client, {"service": "chatgpt"})
    form = form_post(client, "chatgpt", {"problem": "login"})

    assert (api.status_code, form.status_code) == (400, 400)
    assert api.json()["error"] == "pow_required"
    assert Report.objects.count() == 0
