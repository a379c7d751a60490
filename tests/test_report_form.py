from __future__ import annotations

import pytest
from django.test import Client

from reports.aggregation import reports_aggregate
from reports.models import Report

pytestmark = pytest.mark.django_db

MILAN = {"REMOTE_ADDR": "93.56.1.1"}


def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def test_service_page_shows_the_form_with_every_problem_labelled(client):
    page = client.get("/s/chatgpt/", **MILAN).content.decode()

    assert "I have a problem with ChatGPT" in page
    for label in ["App", "Login", "Website", "Server connection", "Something else"]:
        assert f">{label}</label>" in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_posting_without_a_csrf_token_is_refused():
    response = csrf_client().post("/s/chatgpt/report/", {"problem": "login"}, **MILAN)

    assert response.status_code == 403
    assert Report.objects.count() == 0


def test_a_report_from_the_form_thanks_the_user_and_the_count_goes_up():
    client = csrf_client()
    client.get("/s/chatgpt/", **MILAN)
    token = client.cookies["csrftoken"].value

    response = client.post(
        "/s/chatgpt/report/", {"problem": "login", "csrfmiddlewaretoken": token}, follow=True, **MILAN
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Thank you, your report was counted." in page
    assert '<strong id="count-last-hour">1</strong>' in page
    report = Report.objects.get()
    assert (report.problem, report.source, report.counted) == ("login", "web", True)
    reports_aggregate()
    page = client.get("/s/chatgpt/", **MILAN).content.decode()
    assert '<strong id="count-last-hour">1</strong>' in page
    assert "Milan" in page


def test_a_repeat_from_the_form_is_explained_and_not_counted(client):
    client.post("/s/chatgpt/report/", {"problem": "login"}, **MILAN)
    response = client.post("/s/chatgpt/report/", {"problem": "app"}, follow=True, **MILAN)

    assert "your first report is counted" in response.content.decode()
    assert Report.objects.filter(counted=True).count() == 1


def test_a_filled_honeypot_is_thanked_but_not_stored(client):
    response = client.post("/s/chatgpt/report/", {"problem": "login", "website": "http://spam"}, **MILAN)

    assert response.status_code == 302
    assert Report.objects.count() == 0


def test_an_unknown_problem_from_the_form_is_a_400_with_the_form_again(client):
    response = client.post("/s/chatgpt/report/", {"problem": "keyboard"}, **MILAN)

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert Report.objects.count() == 0


def test_the_form_works_in_italian(client):
    page = client.get("/s/chatgpt/", HTTP_ACCEPT_LANGUAGE="it", **MILAN).content.decode()

    assert '<html lang="it" ' in page


def test_an_unknown_service_page_is_404(client):
    assert client.get("/s/myspace/").status_code == 404
    assert client.post("/s/myspace/report/", {"problem": "app"}, **MILAN).status_code == 404
