"""`manage.py simulate`: backfill, the 31 March 2025 scenario end to end, and live mode."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from catalogue.models import Service
from outages.models import Incident, ServiceStatus
from reports.models import CityMinute, CountryMinute, Report
from simulator.demo import DEMO_EVENT_SERVICES
from simulator.places import ASIA
from tests.helpers import live_server_warm_up

ROME = ZoneInfo("Europe/Rome")
NOW = dt.datetime(2026, 5, 11, 10, 0, tzinfo=dt.UTC)


def simulate(*args: str) -> str:
    out = StringIO()
    call_command("simulate", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_backfill_stores_counts_and_places_reports_through_the_ingest_path():
    output = simulate("--days", "1", "--services", "chatgpt", "tim", "--seed", "3", "--no-detect")

    generated = int(re.search(r"generated ([\d,]+) reports", output)[1].replace(",", ""))
    assert generated > 500
    assert Report.objects.count() == generated
    assert set(Report.objects.values_list("service__slug", flat=True).distinct()) == {"chatgpt", "tim"}
    assert Report.objects.filter(created_at__gte=NOW).count() == 0
    assert Report.objects.filter(city=None).count() == 0  # every address is in a known city
    counted = Report.objects.filter(counted=True).count()
    assert sum(CityMinute.objects.values_list("count", flat=True)) == counted
    assert not Report.objects.filter(is_aggregated=False).exists()


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_backfill_with_the_same_seed_stores_the_same_reports():
    simulate("--days", "0.5", "--services", "chatgpt", "--seed", "8", "--no-detect")
    first = list(
        Report.objects.order_by("id").values_list("created_at", "problem", "city__name_en", "network_hash")
    )
    Report.objects.all().delete()
    simulate("--days", "0.5", "--services", "chatgpt", "--seed", "8", "--no-detect")
    second = list(
        Report.objects.order_by("id").values_list("created_at", "problem", "city__name_en", "network_hash")
    )
    assert first == second


@pytest.mark.django_db
def test_unknown_service_is_refused():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="nosuch"):
        simulate("--services", "chatgpt", "nosuch")


# -- the scenario, end to end ---------------------------------------------------------------


def italy_buckets(slug: str) -> Counter:
    buckets: Counter = Counter()
    rows = CountryMinute.objects.filter(
        service__slug=slug,
        country_code="IT",
        minute__gte=dt.datetime(2025, 3, 31, 12, 0, tzinfo=ROME),
        minute__lt=dt.datetime(2025, 3, 31, 22, 0, tzinfo=ROME),
    ).values_list("minute", "count")
    for minute, count in rows:
        buckets[minute.replace(minute=minute.minute - minute.minute % 15)] += count
    return buckets


def countries_between(slug: str, start: dt.datetime, end: dt.datetime) -> Counter:
    countries: Counter = Counter()
    for code, count in CountryMinute.objects.filter(
        service__slug=slug, minute__gte=start, minute__lt=end
    ).values_list("country_code", "count"):
        countries[code] += count
    return countries


@pytest.mark.slow
@pytest.mark.django_db
def test_the_31_march_2025_scenario_holds_through_counting_detection_and_the_api():
    # A week of history for ChatGPT and Sora, the day itself, detection over the day.
    output = simulate("--scenario", "chatgpt-2025-03-31", "--days", "7", "--services", "chatgpt", "sora")

    # A ChatGPT incident starting in the afternoon, Italian time.
    chatgpt = Incident.objects.filter(service__slug="chatgpt").order_by("-peak_count").first()
    assert chatgpt is not None, output
    started = chatgpt.started_at.astimezone(ROME)
    assert (
        dt.datetime(2025, 3, 31, 16, 0, tzinfo=ROME)
        <= started
        <= dt.datetime(2025, 3, 31, 17, 5, tzinfo=ROME)
    )

    # Italy's peak 15-minute bucket: about 1,251 reports, at 17:00 CEST.
    buckets = italy_buckets("chatgpt")
    peak_start, peak = max(buckets.items(), key=lambda item: item[1])
    assert peak_start.astimezone(ROME) == dt.datetime(2025, 3, 31, 17, 0, tzinfo=ROME)
    assert abs(peak - 1251) <= 0.1 * 1251

    # Its affected cities, as the API ranks them.
    response = Client().get("/api/v1/incidents/", {"service": "chatgpt"})
    assert response.status_code == 200
    row = next(row for row in response.json() if row["id"] == chatgpt.pk)
    assert [city["city_local"] for city in row["cities"][:4]] == ["Milano", "Roma", "Napoli", "Bologna"]

    # Sora down at the same time, smaller.
    sora = Incident.objects.filter(service__slug="sora").order_by("-peak_count").first()
    assert sora is not None, output
    assert abs(sora.started_at - chatgpt.started_at) < dt.timedelta(minutes=30)
    assert sora.peak_count < chatgpt.peak_count / 3

    # The United States and Asia report in the same window.
    countries = countries_between(
        "chatgpt",
        dt.datetime(2025, 3, 31, 16, 45, tzinfo=ROME),
        dt.datetime(2025, 3, 31, 17, 30, tzinfo=ROME),
    )
    assert countries["US"] > 100
    assert any(countries[code] > 20 for code in ASIA)


# -- the living demo ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db
def test_a_second_demo_load_tops_the_history_up_to_now_with_the_outage_in_progress_again(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    with time_machine.travel(NOW, tick=False):
        call_command("demo_data", "--days", "0.5", stdout=StringIO())
    later = NOW + dt.timedelta(hours=5)  # make run stopped at NOW, started again now
    with time_machine.travel(later, tick=False):
        output = StringIO()
        call_command("demo_data", stdout=output)

    assert "topped up since the last report" in output.getvalue()
    # Normal life fills the five hours the demo was off: no hour without reports.
    hours = {
        report.replace(minute=0, second=0, microsecond=0)
        for report in Report.objects.filter(created_at__gte=NOW, created_at__lt=later).values_list(
            "created_at", flat=True
        )
    }
    assert len(hours) == 5
    # Only the gap: the day before NOW was not loaded twice.
    assert not Report.objects.filter(created_at__lt=NOW - dt.timedelta(days=0.5, hours=1)).exists()
    # The ChatGPT outage is in progress again, anchored at the new now, and detection and the
    # stored status have caught up to it.
    incident = Incident.objects.filter(service__slug="chatgpt").order_by("-started_at").first()
    assert incident.peak_at > NOW + dt.timedelta(hours=4) and incident.resolved_at is None
    status = ServiceStatus.objects.world().get(service__slug="chatgpt")
    assert status.status == "outage" and status.minute >= later - dt.timedelta(minutes=2)
    clock = json.loads((tmp_path / "demo-clock.json").read_text())
    assert dt.datetime.fromisoformat(clock["anchor"]) == later


@pytest.mark.slow
@pytest.mark.django_db
def test_a_demo_started_again_minutes_later_carries_on_with_its_outage_without_loading_it_twice(
    settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    with time_machine.travel(NOW, tick=False):
        call_command("demo_data", "--days", "0.5", stdout=StringIO())
    peak = _italy_peak("chatgpt")
    with time_machine.travel(NOW + dt.timedelta(minutes=10), tick=False):
        output = StringIO()
        call_command("demo_data", stdout=output)

    assert "carrying on with the demo's schedule of 12:00" in output.getvalue()
    # The outage's first half hour was loaded once: the peak bucket is what it was.
    assert _italy_peak("chatgpt") == peak
    assert abs(peak[1] - 1251) <= 0.1 * 1251
    assert Incident.objects.filter(service__slug="chatgpt", resolved_at=None).count() == 1


def _italy_peak(slug: str) -> tuple[dt.datetime, int]:
    buckets: Counter = Counter()
    for minute, count in CountryMinute.objects.filter(service__slug=slug, country_code="IT").values_list(
        "minute", "count"
    ):
        buckets[minute.replace(minute=minute.minute - minute.minute % 15)] += count
    return max(buckets.items(), key=lambda item: item[1])


# -- live mode ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_live_mode_posts_the_number_of_reports_it_says(live_server, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    live_server_warm_up()
    output = simulate(
        "--live",
        "--url",
        live_server.url,
        "--rate",
        "40",
        "--duration",
        "2",
        "--services",
        "chatgpt",
        "whatsapp",
    )

    summary = re.search(r"posted (\d+) reports .*status codes: 201: (\d+); connection errors: 0", output)
    assert summary is not None, output
    assert int(summary[1]) == int(summary[2]) == 80
    assert Report.objects.count() == 80
    assert Report.objects.filter(counted=True).count() == 80
    # The server saw 80 different people in real cities, not the test client's loopback.
    assert Report.objects.filter(city=None).count() == 0
    assert Service.objects.filter(slug__in=["chatgpt", "whatsapp"]).count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_demo_crowd_posts_its_outage_through_the_api_from_real_people(live_server, settings, tmp_path):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.VAR_DIR = tmp_path
    live_server_warm_up()
    # The history was loaded a minute ago: the crowd carries on from there.
    loaded = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    clock = {"anchor": loaded.isoformat(), "loaded_until": loaded.isoformat()}
    (tmp_path / "demo-clock.json").write_text(json.dumps(clock))

    output = simulate(
        "--demo", "--live", "--target", live_server.url, "--duration", "8", "--speed", "15", "--workers", "4"
    )

    summary = re.search(r"posted (\d+) reports .*status codes: ([^;]*); connection errors: 0", output)
    assert summary is not None, output
    assert set(re.findall(r"(\d+): \d+", summary[2])) <= {"200", "201"}, output
    posted = int(summary[1])
    assert posted > 20 and Report.objects.count() == posted
    # The ChatGPT outage in progress outnumbers any service's everyday life, and every report
    # came from a person in a real city, not from the crowd's loopback address.
    by_service = Counter(Report.objects.values_list("service__slug", flat=True))
    quiet = [slug for slug in by_service if slug not in DEMO_EVENT_SERVICES]
    assert all(by_service["chatgpt"] > 3 * by_service[slug] for slug in quiet), by_service
    assert Report.objects.filter(city=None).count() == 0
