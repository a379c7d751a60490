"""Production settings as the browser sees them: HSTS, secure cookies, CSRF on the login
forms, and the admin behind a login."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_https_answers_carry_hsts_for_a_year_with_subdomains_and_preload(client):
    response = client.get("/", secure=True)

    hsts = response["Strict-Transport-Security"]
    assert "max-age=31536000" in hsts and "includeSubDomains" in hsts and "preload" in hsts


def test_the_csrf_cookie_of_the_login_form_is_secure(client):
    response = client.get("/accounts/login/", secure=True)

    assert response.cookies["csrftoken"]["secure"] is True


def test_the_session_cookie_after_login_is_secure_and_http_only(client, django_user_model):
    django_user_model.objects.create_user("reviewer", password="correct horse battery staple")

    response = client.post(
        "/accounts/login/", {"username": "reviewer", "password": "correct horse battery staple"}, secure=True
    )

    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"] is True
    assert response.cookies["sessionid"]["httponly"] is True


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_a_login_post_without_a_csrf_token_is_refused(url, django_user_model):
    django_user_model.objects.create_user("reviewer", password="correct horse battery staple", is_staff=True)

    response = Client(enforce_csrf_checks=True).post(
        url, {"username": "reviewer", "password": "correct horse battery staple"}
    )

    assert response.status_code == 403


def test_the_admin_sends_anonymous_visitors_to_its_login(client):
    response = client.get("/admin/outages/incident/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_read_api_answers_any_origin_for_get_but_reporting_stays_same_origin(client):
    read = client.get("/api/v1/services/", HTTP_ORIGIN="https://status.example")
    preflight = client.options(
        "/api/v1/reports/",
        HTTP_ORIGIN="https://status.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )

    assert read["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in read
    assert "Access-Control-Allow-Origin" not in preflight
