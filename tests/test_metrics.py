"""/metrics (config.metrics): closed by default, report outcomes from response statuses,
latency, detection pass and lag, open incidents, queue lengths; logs without addresses."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import redis
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from outages.models import DetectionWatermark
from outages.tasks import detect
from outages.watermark import WATERMARK
from tests.detection_helpers import MINUTE, T0, flat_baseline, put_counts
from tests.helpers import post_report, wait_until

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "s3cret-scraper-token"


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def reports(channel: str, outcome: str) -> float:
    return (
        REGISTRY.get_sample_value("downradar_reports_total", {"channel": channel, "outcome": outcome}) or 0.0
    )


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN


def test_metrics_are_not_public_by_default(client, settings):
    assert not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_IPS

    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


def test_a_bearer_token_opens_metrics_and_a_wrong_one_does_not(client, token):
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer guess").status_code == 404
    assert client.get("/metrics").status_code == 404


def test_an_allowed_address_opens_metrics_only_when_it_connects_directly(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.1.2.0/24"]

    assert client.get("/metrics", REMOTE_ADDR="10.1.2.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.9.9.9").status_code == 404
    # Relayed by a proxy (nginx sets X-Forwarded-For): the proxy's address proves nothing.
    assert (
        client.get("/metrics", REMOTE_ADDR="10.1.2.7", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 404
    )


def test_report_outcomes_are_counted_from_the_answers(client, chatgpt):
    before = {o: reports("api", o) for o in ("accepted", "duplicate", "rejected")}

    assert post_report(client, {"service": "chatgpt", "problem": "login"}).status_code == 201
    assert post_report(client, {"service": "chatgpt", "problem": "login"}).status_code == 200
    assert post_report(client, {"service": "no-such-service", "problem": "login"}).status_code == 404
    assert post_report(client, "{not json").status_code == 400

    assert reports("api", "accepted") == before["accepted"] + 1
    assert reports("api", "duplicate") == before["duplicate"] + 1
    assert reports("api", "rejected") == before["rejected"] + 2


def test_request_latency_is_observed_per_url_name(client, chatgpt, token):
    before = scrape(client).get(
        ("downradar_http_request_duration_seconds_count", (("view", "api-service-list"),)), 0
    )

    client.get("/api/v1/services/")
    client.get("/api/v1/services/")

    after = scrape(client)
    assert (
        after[("downradar_http_request_duration_seconds_count", (("view", "api-service-list"),))]
        == before + 2
    )


def test_detection_pass_duration_lag_and_open_incidents_after_a_pass(client, chatgpt, token, time_machine):
    flat_baseline(chatgpt, per_minute=4)
    put_counts(chatgpt, T0 - dt.timedelta(hours=1), 60, 4)
    put_counts(chatgpt, T0, 10, 40)
    DetectionWatermark.objects.create(name=WATERMARK, processed_through=T0 - MINUTE)
    time_machine.move_to(T0 + 6 * MINUTE + dt.timedelta(seconds=10), tick=False)

    detect()  # the beat task, run here: the pass through T0 + 5 minutes

    samples = scrape(client)
    assert samples[("downradar_detection_pass_seconds", (("watermark", "detection"),))] > 0
    assert samples[("downradar_detection_lag_seconds", ())] == pytest.approx(70.0)  # 12:06:10 - 12:05
    assert samples[("downradar_incidents_open", (("status", "suspected"),))] == 1
    assert samples[("downradar_incidents_open", (("status", "confirmed"),))] == 0


def test_queue_lengths_are_read_from_the_redis_broker(client, token, settings):
    if not settings.REDIS_URL:
        pytest.fail("this test needs Redis: run it with `make test`")
    # This run's own Redis database (one per pytest process, tests/conftest.py): no other
    # run flushes it or pushes to its queues while the test counts them. A fixed spare
    # number was not: another checkout's suite used it and emptied it mid-test.
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    queues = redis.Redis.from_url(settings.REDIS_URL)
    queues.delete("detection", "ingest", "notifications", "ingest\x06\x166")
    try:
        queues.rpush("detection", "a", "b", "c")
        queues.rpush("ingest", "a")
        queues.rpush("ingest\x06\x166", "a")  # priority 6 of the same queue

        samples = scrape(client)
    finally:
        queues.delete("detection", "ingest", "notifications", "ingest\x06\x166")

    assert samples[("downradar_celery_queue_length", (("queue", "detection"),))] == 3
    assert samples[("downradar_celery_queue_length", (("queue", "ingest"),))] == 2
    assert samples[("downradar_celery_queue_length", (("queue", "notifications"),))] == 0


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def _log_line(log_format: str) -> str:
    env = {**os.environ, "LOG_FORMAT": log_format}
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "import logging; logging.getLogger('downradar.test').warning("
            "'refused %s and 2001:db8::1 at 12:30:45', '203.0.113.5')",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stderr.strip().splitlines()[-1]


def test_json_logs_are_one_object_a_line_without_addresses():
    record = json.loads(_log_line("json"))

    assert record["level"] == "WARNING" and record["logger"] == "downradar.test"
    assert record["message"] == "refused [address] and [address] at 12:30:45"


def test_plain_logs_are_redacted_too():
    line = _log_line("plain")

    assert "203.0.113.5" not in line and "2001:db8::1" not in line
    assert "refused [address] and [address] at 12:30:45" in line


@pytest.mark.slow  # starts gunicorn processes
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_gunicorn_workers_metrics_are_summed(tmp_path, on_postgres):
    from django.db import connection

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "3",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "METRICS_TOKEN": TOKEN,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        # Wait with a bare connection, not a request: a request that times out on a slow
        # machine is still counted by the server and would make 31.
        assert wait_until(lambda: _accepts(port) or server.poll() is not None, timeout=30)
        assert server.poll() is None, "gunicorn exited"
        for _ in range(30):  # spread over the three workers by the kernel
            urllib.request.urlopen(f"{base}/healthz", timeout=5)
        scrape = urllib.request.Request(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        text = urllib.request.urlopen(scrape, timeout=10).read().decode()
    finally:
        server.terminate()
        server.wait(20)

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("downradar_http_request_duration_seconds_count", (("view", "healthz"),))] == 30
    assert ("downradar_incidents_open", (("status", "suspected"),)) in samples


@pytest.mark.slow  # starts gunicorn processes
@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_gunicorn_s_own_log_lines_carry_no_client_address(tmp_path, log_format):
    """gunicorn logs a malformed request with the peer's address ("Invalid request from
    ip=..."): its loggers go through the same redacting filter in every format."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "LOG_FORMAT": log_format,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        assert wait_until(lambda: _accepts(port) or server.poll() is not None, timeout=30)
        assert server.poll() is None, f"gunicorn exited: {log.read_text()}"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            raw.recv(1024)
        # The worker writes its line after it answers: wait for the line itself.
        wait_until(lambda: "Invalid request from" in log.read_text(), timeout=15)
    finally:
        server.terminate()
        server.wait(20)

    text = log.read_text()
    assert "Invalid request from" in text
    assert "127.0.0.1" not in text
