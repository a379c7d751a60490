from __future__ import annotations

import json

import pytest
from django.db import connection
from django.urls import reverse

from config.page_middleware import REPORT_INTAKE_PATH
from reports.models import Report
from tests.helpers import MILAN_IP, SYDNEY_IP, post_report

pytestmark = pytest.mark.django_db


def test_a_report_is_stored_placed_and_counted(client):
    response = post_report(client, {"service": "chatgpt", "problem": "login"})

    assert response.status_code == 201
    body = response.json()
    assert body["service"] == "chatgpt"
    assert body["problem"] == "login"
    assert body["counted"] is True
    assert body["created_at"]
    assert body["location"]["city"] == "Milan"
    assert body["location"]["city_local"] == "Milano"
    assert body["location"]["country"] == "IT"
    assert isinstance(body["location"]["lat"], float) and isinstance(body["location"]["lon"], float)
    report = Report.objects.get(pk=body["id"])
    assert report.city.name_en == "Milan"
    assert report.counted and report.source == "api"


def test_problem_defaults_to_other(client):
    response = post_report(client, {"service": "sora"})

    assert response.status_code == 201
    assert response.json()["problem"] == "other"


def test_a_report_from_a_private_address_is_accepted_without_location(client):
    response = post_report(client, {"service": "chatgpt"}, ip="10.0.0.8")

    assert response.status_code == 201
    assert response.json()["location"] is None
    assert Report.objects.get().city is None


def test_a_second_report_in_the_window_is_stored_but_not_counted(client):
    post_report(client, {"service": "chatgpt", "problem": "login"})
    response = post_report(client, {"service": "chatgpt", "problem": "app"})

    assert response.status_code == 200
    assert response.json()["counted"] is False
    assert Report.objects.filter(counted=True).count() == 1


def test_the_same_client_counts_once_per_service_not_once_overall(client):
    assert post_report(client, {"service": "chatgpt"}).status_code == 201
    assert post_report(client, {"service": "sora"}).status_code == 201


def test_a_report_after_the_window_counts_again(client, time_machine):
    time_machine.move_to("2026-03-31T15:00:00Z", tick=False)
    post_report(client, {"service": "chatgpt"})
    time_machine.move_to("2026-03-31T15:14:59Z", tick=False)
    assert post_report(client, {"service": "chatgpt"}).json()["counted"] is False
    time_machine.move_to("2026-03-31T15:15:01Z", tick=False)
    assert post_report(client, {"service": "chatgpt"}).json()["counted"] is True


def test_unknown_service_is_404_with_a_json_error(client):
    response = post_report(client, {"service": "myspace"})

    assert response.status_code == 404
    assert response.json()["error"] == "unknown_service"
    assert "myspace" in response.json()["detail"]


def test_unknown_problem_is_400_listing_the_valid_ones(client):
    response = post_report(client, {"service": "chatgpt", "problem": "keyboard"})

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "unknown_problem"
    assert body["valid"] == ["app", "login", "website", "connection", "other"]


@pytest.mark.parametrize("body", ['{"service": "chatgpt"', "not json", "", "[1, 2]", '"chatgpt"'])
def test_malformed_or_non_object_json_is_400(client, body):
    response = post_report(client, body)

    assert response.status_code == 400
    assert response.json()["error"] in {"malformed_json", "invalid"}
    assert Report.objects.count() == 0


def test_json_nested_2000_deep_is_a_400_in_the_api_s_error_shape(client):
    body = "[" * 2000 + "]" * 2000  # 4,000 bytes: under the body limit, past the recursion limit

    response = client.post(reverse("api-report-create"), body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "malformed_json",
        "detail": "The body is not valid JSON: nested too deeply",
    }
    assert Report.objects.count() == 0


def test_missing_service_field_is_400_naming_the_field(client):
    response = post_report(client, {"problem": "login"})

    assert response.status_code == 400
    assert "service" in response.json()["fields"]


def test_body_over_4_kib_is_413(client):
    response = post_report(client, '{"service": "chatgpt", "pad": "' + "x" * 4100 + '"}')

    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_wrong_method_is_405_saying_what_is_allowed(client, method):
    response = getattr(client, method)("/api/v1/reports/", REMOTE_ADDR=MILAN_IP)

    assert response.status_code == 405
    assert "POST" in response.json()["detail"]


def test_form_encoded_body_is_415_asking_for_json(client):
    response = client.post("/api/v1/reports/", {"service": "chatgpt"}, REMOTE_ADDR=MILAN_IP)

    assert response.status_code == 415
    assert "JSON" in response.json()["detail"]


def test_openapi_schema_describes_the_report_endpoint(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    schema = response.json()
    operation = schema["paths"]["/api/v1/reports/"]["post"]
    assert set(operation["responses"]) >= {"200", "201", "400", "404", "413", "429"}
    assert client.get("/api/docs/").status_code == 200


def test_the_plain_path_answers_with_the_drf_views_bytes_and_headers(client, time_machine):
    time_machine.move_to("2026-03-31T15:00:00.123456Z", tick=False)
    # ?format=json sends the request through the DRF view; without it the plain path answers.
    plain = post_report(client, {"service": "chatgpt", "problem": "login"})
    drf = client.post(
        "/api/v1/reports/?format=json",
        json.dumps({"service": "sora", "problem": "login"}),
        content_type="application/json",
        REMOTE_ADDR=MILAN_IP,
    )

    assert plain.status_code == drf.status_code == 201
    for header in ("Content-Type", "Allow", "Vary"):
        assert plain[header] == drf[header], header
    plain_body, drf_body = plain.json(), drf.json()
    assert plain_body.keys() == drf_body.keys()
    assert {**plain_body, "id": 0, "service": "x"} == {**drf_body, "id": 0, "service": "x"}
    assert plain.content == json.dumps(plain_body, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "body",
    [
        {"service": " chatgpt "},  # DRF trims whitespace
        {"service": 7},  # DRF takes a number as its string
        {"service": "chatgpt", "problem": None},
        {"service": "chatgpt", "problem": ""},
        {"service": "x" * 51},
        {"service": "chatgpt", "pow_nonce": ""},
        {"service": "chatgpt", "pow_nonce": "n" * 65},
        '{"service": "chatgpt", "x": NaN}',  # DRF's parser refuses NaN
    ],
)
def test_input_the_validator_changes_or_refuses_gets_the_drf_answer(client, body):
    data = body if isinstance(body, str) else json.dumps(body)
    plain = post_report(client, data)
    drf = client.post(
        "/api/v1/reports/?format=json",
        data,
        content_type="application/json",
        REMOTE_ADDR=SYDNEY_IP,
    )

    assert plain.status_code == drf.status_code
    assert plain.json().keys() == drf.json().keys()
    assert plain.json().get("fields") == drf.json().get("fields")


def test_json_answers_carry_no_csp_header_but_pages_still_do(client):
    assert "Content-Security-Policy" not in post_report(client, {"service": "chatgpt"})
    assert "Content-Security-Policy" not in client.get("/healthz")
    assert "script-src 'self'" in client.get("/")["Content-Security-Policy"]


def test_the_page_middleware_skip_names_the_report_route():
    assert reverse("api-report-create") == REPORT_INTAKE_PATH


def test_report_intake_skips_page_middleware_and_pages_keep_it(client):
    report = post_report(client, {"service": "chatgpt"}, HTTP_ACCEPT_LANGUAGE="it")
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="it")

    assert report.status_code == 201
    assert "Content-Language" not in report
    assert report["Vary"] == "Accept"
    assert page["Content-Language"] == "it"
    assert "Accept-Language" in page["Vary"]


def test_report_intake_answers_in_english_whatever_the_thread_served_before(client):
    # LocaleMiddleware leaves the last request's language active in the thread; the
    # intake endpoint, which skips it, must not answer in that language.
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="it")["Content-Language"] == "it"

    response = post_report(client, {"problem": "login"}, HTTP_ACCEPT_LANGUAGE="it")

    assert response.status_code == 400
    assert response.json()["fields"]["service"] == ["This field is required."]


def test_the_report_insert_is_a_prepared_statement_on_postgresql(client):
    # Django turns preparing off unless OPTIONS["prepare_threshold"] is set, and psycopg
    # then ignores prepare=True without a word.
    assert post_report(client, {"service": "chatgpt"}).status_code == 201

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert any("INSERT INTO reports_vote" in statement for statement in statements), statements
