"""Settings from the environment, /healthz, and the embedded (SQLite) default booting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.own_services import gunicorn, migrate, post_json

ROOT = Path(__file__).resolve().parent.parent


def clean_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECURE_SSL_REDIRECT", "TRUSTED_PROXY_COUNT"}
    }
    env.update({"VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "config.settings"})
    env.update(overrides)
    return env


def run_settings(tmp_path: Path, **overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=clean_env(tmp_path, **overrides),
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TRUSTED_PROXY_COUNT", "two", "TRUSTED_PROXY_COUNT must be a whole number"),
        ("TRUSTED_PROXY_COUNT", "-1", "TRUSTED_PROXY_COUNT must be at least 0"),
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("REPORT_DEDUPE_MINUTES", "0", "REPORT_DEDUPE_MINUTES must be at least 1"),
        ("SECRET_KEY_FILE", "/nonexistent/secret", "SECRET_KEY_FILE='/nonexistent/secret' cannot be read"),
    ],
)
def test_a_bad_setting_fails_loudly_at_start(tmp_path, name, value, message):
    result = run_settings(tmp_path, **{name: value})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


# What the worker (connection_for_read), beat and web's task queueing (connection_for_write)
# do with the broker URL at start; kombu logs "No hostname was supplied" from Connection.info().
BROKER_CONNECTIONS = """
import logging, django
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
django.setup()
from config.celery import app
for connection in (app.connection_for_read(), app.connection_for_write()):
    print(connection.as_uri())
    with connection.clone() as clone:
        clone.ensure_connection(max_retries=1)
        clone.default_channel
"""


def test_the_embedded_broker_connects_without_a_warning_in_the_start_up_logs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", BROKER_CONNECTIONS],
        cwd=ROOT,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["filesystem://:**@localhost//"] * 2  # `make run`'s broker
    assert "WARNING" not in result.stderr and "No hostname" not in result.stderr, result.stderr


def test_healthz_is_exempt_from_the_ssl_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/healthz").content == b"ok"
    assert client.get("/").status_code == 301


@pytest.mark.slow
def test_the_embedded_default_boots_on_sqlite_and_accepts_a_report(tmp_path):
    env = clean_env(tmp_path, DEBUG="true")
    migrate(env)

    with gunicorn(env, tmp_path / "web.log") as web:
        status, _, body, _ = post_json(
            f"{web.base}/api/v1/reports/", {"service": "chatgpt", "problem": "login"}
        )

    assert status == 201
    assert body["counted"] is True and body["location"] is None  # loopback has no place
    assert (tmp_path / "var" / "downradar.sqlite3").exists()


@pytest.mark.slow  # starts gunicorn processes
def test_without_redis_every_gunicorn_worker_spends_one_shared_report_budget(tmp_path):
    """`make run` has no Redis: the budget lives in a cache all processes share (files under
    var/), so three workers do not give a client three budgets."""
    env = clean_env(tmp_path, DEBUG="true", REPORT_RATE_LIMIT="5/h")
    migrate(env)
    slugs = ["chatgpt", "sora", "whatsapp", "instagram", "facebook", "youtube", "netflix", "steam", "spotify"]

    with gunicorn(env, tmp_path / "web.log", workers=3) as web:
        answers = [post_json(f"{web.base}/api/v1/reports/", {"service": slug})[0] for slug in slugs]

    assert answers[:5] == [201] * 5
    assert set(answers[5:]) == {429}


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.slow
def test_the_embedded_default_serves_every_public_page_with_demo_data_on_sqlite(tmp_path):
    # What `make run` gives a newcomer: SQLite, DEBUG on, the demo data (a week of history
    # and the 31 March scenario with its open incidents) and one report not yet counted.
    env = clean_env(tmp_path, DEBUG="true")
    migrate(env)
    subprocess.run(
        [sys.executable, "manage.py", "demo_data"], cwd=ROOT, env=env, check=True, capture_output=True
    )

    with gunicorn(env, tmp_path / "web.log") as web:
        base = web.base
        assert post_json(f"{base}/api/v1/reports/", {"service": "chatgpt"})[0] == 201
        incidents = json.loads(get(f"{base}/api/v1/incidents/")[1])
        answers = {
            path: get(f"{base}{path}")
            for path in [
                "/",
                "/data.json",
                "/s/chatgpt/",
                "/s/chatgpt/data.json",
                "/s/chatgpt/incidents.atom",
                "/map/",
                "/api/v1/map/",
                "/api/v1/map/?service=chatgpt&minutes=1440",
                "/api/v1/services/",
                "/api/v1/services/chatgpt/",
                "/api/v1/services/chatgpt/timeseries/",
                "/api/v1/services/chatgpt/cities/",
                f"/incidents/{incidents[0]['id']}/",
            ]
        }

    assert {path: status for path, (status, _) in answers.items()} == dict.fromkeys(answers, 200)
    assert "Milan" in answers["/s/chatgpt/"][1].decode()
    chatgpt_cities = json.loads(answers["/api/v1/map/?service=chatgpt&minutes=1440"][1])["features"]
    assert "Milan" in {feature["properties"]["name"] for feature in chatgpt_cities}


@pytest.mark.slow
def test_an_unreachable_database_answers_503_with_retry_after_quickly(tmp_path):
    # Nothing listens on port 9 (discard) here: the connection is refused at once.
    env = clean_env(
        tmp_path,
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        DATABASE_URL="postgres://postgres@127.0.0.1:9/downradar",
    )

    with gunicorn(env, tmp_path / "web.log") as web:
        status, headers, body, elapsed = post_json(f"{web.base}/api/v1/reports/", {"service": "chatgpt"})

    assert status == 503
    assert body["error"] == "unavailable"
    assert int(headers["Retry-After"]) > 0
    assert elapsed < 1.0


@pytest.mark.slow  # a fresh Django process in a subprocess
def test_production_settings_pass_the_deploy_checks(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean_env(
            tmp_path, DEBUG="false", SECRET_KEY="x" * 20 + "production-grade-random-secret-key-0123456789"
        ),
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_pages_forbid_inline_scripts_and_outside_hosts(client):
    response = client.get("/s/chatgpt/")

    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["Referrer-Policy"] == "same-origin"
