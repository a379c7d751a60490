"""The status per country, computed by the detection pass beside the worldwide one."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from outages.baselines import BUCKET_MINUTES, baselines_rebuild
from outages.detection_pass import detection_run_range
from outages.evidence import STATUS_HISTORY_MINUTES
from outages.models import Baseline, Incident, ServiceStatus
from outages.review.services import incident_act
from reports.models import CountryMinute
from tests.detection_helpers import MINUTE, T0, flat_baseline, put_counts

pytestmark = pytest.mark.django_db


def country_baseline(service, code: str, *, per_minute: float) -> Baseline:
    expected = np.full((7, 1440 // BUCKET_MINUTES), per_minute * BUCKET_MINUTES, dtype="<f4")
    return Baseline.objects.create(
        service=service,
        country_code=code,
        bucket_minutes=BUCKET_MINUTES,
        timezone=service.timezone,
        expected=expected.tobytes(),
        alpha=0.05,
        beta=0.01,
        history_reports=1000,
        built_at=T0 - dt.timedelta(days=1),
    )


def put_country(service, code: str, start: dt.datetime, minutes: int, per_minute: int) -> None:
    CountryMinute.objects.bulk_create(
        CountryMinute(service=service, country_code=code, minute=start + i * MINUTE, count=per_minute)
        for i in range(minutes)
    )


def quiet_then_italy_down(service) -> None:
    """2 a minute from Italy and 2 from the United States; then Italy at 40 for ten minutes."""
    put_counts(service, T0 - dt.timedelta(hours=2), 120, 4)
    put_country(service, "IT", T0 - dt.timedelta(hours=2), 120, 2)
    put_country(service, "US", T0 - dt.timedelta(hours=2), 130, 2)
    put_counts(service, T0, 10, 42)
    put_country(service, "IT", T0, 10, 40)


def statuses(service) -> dict[str, str]:
    return dict(
        ServiceStatus.objects.filter(service=service).exclude(scope="").values_list("scope", "status")
    )


def test_an_outage_confined_to_italy_shows_in_italy_while_the_united_states_stay_ok(chatgpt):
    flat_baseline(chatgpt, per_minute=4)
    country_baseline(chatgpt, "IT", per_minute=2)
    country_baseline(chatgpt, "US", per_minute=2)
    quiet_then_italy_down(chatgpt)

    detection_run_range(start=T0, end=T0 + 8 * MINUTE)

    assert ServiceStatus.objects.world().get(service=chatgpt).status == ServiceStatus.Tier.OUTAGE
    assert statuses(chatgpt) == {"IT": ServiceStatus.Tier.OUTAGE, "US": ServiceStatus.Tier.OK}
    italy = ServiceStatus.objects.get(service=chatgpt, scope="IT")
    assert italy.count == 9 * 40  # the quarter-hour from T0 (12:00), up to T0+8
    assert italy.incident == Incident.objects.get(service=chatgpt)
    assert ServiceStatus.objects.get(service=chatgpt, scope="US").incident is None


def test_a_country_without_reports_in_the_last_hour_loses_its_row_and_is_ok_again(chatgpt):
    flat_baseline(chatgpt, per_minute=4)
    country_baseline(chatgpt, "IT", per_minute=2)
    quiet_then_italy_down(chatgpt)
    detection_run_range(start=T0, end=T0 + 8 * MINUTE)
    assert statuses(chatgpt)["IT"] == ServiceStatus.Tier.OUTAGE

    # Italy's last reports are at T0 + 9: an hour later they leave the detector's longest
    # window, and the status's memory (STATUS_HISTORY_MINUTES) after that.
    detection_run_range(start=T0 + 9 * MINUTE, end=T0 + (10 + 60 + STATUS_HISTORY_MINUTES) * MINUTE)

    assert "IT" not in statuses(chatgpt)


def test_a_review_action_recomputes_the_countries_at_once(chatgpt, django_user_model):
    flat_baseline(chatgpt, per_minute=4)
    country_baseline(chatgpt, "IT", per_minute=2)
    country_baseline(chatgpt, "US", per_minute=2)
    quiet_then_italy_down(chatgpt)
    detection_run_range(start=T0, end=T0 + 8 * MINUTE)
    reviewer = django_user_model.objects.create_user("reviewer")

    incident_act(
        incident_id=Incident.objects.get(service=chatgpt).pk,
        action="confirm",
        actor=reviewer,
        now=T0 + 9 * MINUTE,
    )
    italy = ServiceStatus.objects.get(service=chatgpt, scope="IT")
    assert (italy.status, italy.reason) == ("outage", "confirmed")
    assert statuses(chatgpt)["US"] == "ok"


def test_the_nightly_rebuild_gives_each_busy_country_a_profile_of_its_own(chatgpt):
    start = T0 - dt.timedelta(days=7)
    put_counts(chatgpt, start, 7 * 1440, 3)
    put_country(chatgpt, "IT", start, 7 * 1440, 2)
    put_country(chatgpt, "US", start, 7 * 1440, 1)
    put_country(chatgpt, "FR", start, 3, 1)  # too few reports for a profile

    baselines_rebuild(now=T0)

    countries = dict(
        Baseline.objects.filter(service=chatgpt, city=None)
        .exclude(country_code="")
        .values_list("country_code", "history_reports")
    )
    assert countries == {"IT": 2 * 7 * 1440, "US": 7 * 1440}
    assert Baseline.objects.filter(service=chatgpt, city=None, country_code="").count() == 1
