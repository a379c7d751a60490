"""Abuse through the real intake: a bot flood does not make an outage, and
X-Forwarded-For cannot be used to dodge the per-client limits."""

from __future__ import annotations

import pytest

from outages.models import DetectionWatermark, Incident, ServiceStatus
from outages.watermark import WATERMARK
from reports.models import Report
from tests.detection_helpers import MINUTE, T0, detect_after_the_burst, flat_baseline, send_over_ten_minutes
from tests.own_services import app_env, gunicorn, post_json

REPORT = {"service": "chatgpt", "problem": "login"}


@pytest.fixture
def quiet_service(chatgpt, settings):
    """ChatGPT on a quiet afternoon: half a report a minute is normal."""
    settings.REPORT_RATE_LIMIT = "30/h"
    flat_baseline(chatgpt, per_minute=0.5)
    DetectionWatermark.objects.create(name=WATERMARK, processed_through=T0 - MINUTE)
    return chatgpt


@pytest.mark.django_db
def test_a_bot_flood_of_1000_reports_from_three_networks_opens_no_incident(
    client, quiet_service, time_machine
):
    # Three /24s: 762 distinct addresses, each used once or twice.
    flood = [f"151.38.{1 + k % 3}.{1 + (k // 3) % 254}" for k in range(1000)]

    statuses = send_over_ten_minutes(client, time_machine, flood, REPORT)
    detect_after_the_burst(time_machine)

    assert statuses.count(201) == 762 and statuses.count(200) == 238  # all taken, repeats not counted
    assert Report.objects.filter(service=quiet_service, counted=True).count() == 762
    assert not Incident.objects.filter(service=quiet_service).exists()
    assert ServiceStatus.objects.world().get(service=quiet_service).status != "outage"


@pytest.mark.django_db
def test_150_reports_from_150_networks_open_an_incident(client, quiet_service, time_machine):
    crowd = [f"93.{56 + i // 100}.{i % 100}.10" for i in range(150)]

    statuses = send_over_ten_minutes(client, time_machine, crowd, REPORT)
    detect_after_the_burst(time_machine)

    assert statuses == [201] * 150
    incident = Incident.objects.get(service=quiet_service)
    assert incident.started_at < T0 + 10 * MINUTE
    assert ServiceStatus.objects.world().get(service=quiet_service).status == "outage"


# --- X-Forwarded-For over real HTTP ---------------------------------------------------------


def report_from(web, forwarded_for: str):
    return post_json(f"{web.base}/api/v1/reports/", REPORT, headers={"X-Forwarded-For": forwarded_for})


@pytest.mark.slow
def test_behind_one_proxy_a_forged_leftmost_entry_does_not_dodge_the_limit(own_database, own_redis, tmp_path):
    env = app_env(
        database_url=own_database.url,
        redis_url=own_redis.url,
        var_dir=tmp_path,
        TRUSTED_PROXY_COUNT="1",
        REPORT_RATE_LIMIT="3/h",
    )
    with gunicorn(env, tmp_path / "web.log") as web:
        # The client writes a new leftmost entry each time; our proxy appends the real hop.
        answers = [report_from(web, f"10.9.8.{i}, 203.0.113.{i}, 93.56.1.1")[0] for i in range(5)]
        other = report_from(web, "93.56.1.1, 79.18.44.3")[0]

    assert answers == [201, 200, 200, 429, 429]  # one client: counted once, then limited
    assert other == 201  # the real hop is what counts, not the forged entry naming 93.56.1.1
    assert own_database.psql("SELECT count(*) FROM reports_report") == "4"


@pytest.mark.slow
def test_with_no_trusted_proxy_the_header_is_ignored(own_database, own_redis, tmp_path):
    env = app_env(
        database_url=own_database.url,
        redis_url=own_redis.url,
        var_dir=tmp_path,
        TRUSTED_PROXY_COUNT="0",
        REPORT_RATE_LIMIT="3/h",
    )
    with gunicorn(env, tmp_path / "web.log") as web:
        # Every request claims another address; all come from 127.0.0.1.
        answers = [report_from(web, f"93.56.{i}.1")[0] for i in range(5)]

    assert answers == [201, 200, 200, 429, 429]
    assert own_database.psql("SELECT count(*), count(*) FILTER (WHERE counted) FROM reports_report") == "3|1"
