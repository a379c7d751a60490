"""Proof of work on report intake (POW_DIFFICULTY), against the real Redis for replays."""

from __future__ import annotations

import json

import pytest

from reports.models import Report
from reports.pow import pow_solve
from tests.helpers import MILAN_IP, SYDNEY_IP, post_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def pow_on(settings):
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache", "run with make test"
    settings.POW_DIFFICULTY = 8


def solved(client) -> dict[str, str]:
    issued = client.get("/api/v1/pow/").json()
    return {
        "pow_challenge": issued["challenge"],
        "pow_nonce": pow_solve(issued["challenge"], issued["difficulty"]),
    }


def test_off_by_default_reports_need_no_proof(client, settings):
    assert settings.POW_DIFFICULTY == 0
    assert client.get("/api/v1/pow/").json()["difficulty"] == 0
    assert post_report(client, {"service": "chatgpt"}).status_code == 201


def test_a_solved_challenge_is_accepted_once_and_refused_the_second_time(client, pow_on):
    proof = solved(client)

    first = post_report(client, {"service": "chatgpt", **proof})
    replay = post_report(client, {"service": "sora", **proof}, ip=SYDNEY_IP)

    assert first.status_code == 201
    assert replay.status_code == 403
    assert replay.json()["error"] == "pow_replayed"
    assert Report.objects.count() == 1


def test_a_report_without_proof_is_400_saying_how_to_get_one(client, pow_on):
    response = post_report(client, {"service": "chatgpt"})

    assert response.status_code == 400
    assert response.json()["error"] == "pow_required"
    assert "/api/v1/pow/" in response.json()["detail"]


@pytest.mark.parametrize("spoil", ["nonce", "signature", "difficulty"])
def test_a_wrong_nonce_or_forged_challenge_is_403(client, pow_on, settings, spoil):
    proof = solved(client)
    if spoil == "nonce":
        proof["pow_nonce"] = next(
            nonce
            for nonce in ("zz", "zy", "zx", "zw")
            if nonce != proof["pow_nonce"] and not _solves(proof, nonce)
        )
    elif spoil == "signature":
        expires, token, _ = proof["pow_challenge"].split(".")
        proof["pow_challenge"] = f"{int(expires) + 3600}.{token}.{'0' * 32}"
    else:  # a challenge issued for an easier setting
        settings.POW_DIFFICULTY = 9

    response = post_report(client, {"service": "chatgpt", **proof})

    assert response.status_code == 403
    assert response.json()["error"] == "pow_invalid"


def _solves(proof: dict[str, str], nonce: str) -> bool:
    import hashlib

    from reports.pow import leading_zero_bits

    return leading_zero_bits(hashlib.sha256(f"{proof['pow_challenge']}{nonce}".encode()).digest()) >= 8


def test_an_expired_challenge_is_403(client, pow_on, time_machine):
    time_machine.move_to("2026-03-31T15:00:00Z", tick=False)
    proof = solved(client)
    time_machine.move_to("2026-03-31T15:05:01Z", tick=False)

    response = post_report(client, {"service": "chatgpt", **proof})

    assert response.status_code == 403
    assert response.json()["error"] == "pow_expired"


def test_the_drf_path_checks_the_proof_too(client, pow_on):
    body = json.dumps({"service": "chatgpt"})
    response = client.post(
        "/api/v1/reports/?format=json", body, content_type="application/json", REMOTE_ADDR=MILAN_IP
    )

    assert response.status_code == 400
    assert response.json()["error"] == "pow_required"


def test_the_form_needs_the_proof_when_on_and_takes_a_solved_one(client, pow_on):
    refused = client.post("/s/chatgpt/report/", {"problem": "app"}, REMOTE_ADDR=MILAN_IP)
    accepted = client.post("/s/chatgpt/report/", {"problem": "app", **solved(client)}, REMOTE_ADDR=MILAN_IP)

    assert refused.status_code == 400
    assert "anti-bot check" in refused.content.decode()
    assert accepted.status_code == 302
    assert Report.objects.count() == 1


def test_the_form_page_loads_the_solver_from_our_static_files_only_when_on(client, settings):
    settings.POW_DIFFICULTY = 0
    off = client.get("/s/chatgpt/").content.decode()
    settings.POW_DIFFICULTY = 8
    on = client.get("/s/chatgpt/").content.decode()

    assert "data-pow-url" not in off and "downradar/js/pow" not in off and "pow_challenge" not in off
    assert 'data-pow-url="/api/v1/pow/"' in on
    assert "downradar/js/pow" in on and "<script>" not in on


def test_the_schema_documents_the_challenge_and_the_proof_fields(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    assert "/api/v1/pow/" in schema["paths"]
    assert "403" in schema["paths"]["/api/v1/reports/"]["post"]["responses"]
    assert {"pow_challenge", "pow_nonce"} <= set(schema["components"]["schemas"]["ReportInput"]["properties"])
