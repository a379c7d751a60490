"""The usual operator mix is learned from quiet days only (outages/baselines.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from outages.baselines import baselines_rebuild
from outages.models import WORLD, Incident, NetworkMix
from reports.models import Report
from tests.detection_helpers import T0
from tests.review_helpers import incident

pytestmark = pytest.mark.django_db

NOW = T0 + dt.timedelta(days=3)


def reports(service, *, operator: str, at: dt.datetime, n: int, country: str = "IT") -> None:
    Report.objects.bulk_create(
        Report(
            service=service,
            problem="login",
            created_at=at + dt.timedelta(seconds=i),
            source="web",
            country_code=country,
            network_hash=f"{operator}-{i}",
            asn_name=operator,
            prefix_hash=f"{operator}-prefix",
            is_aggregated=True,
        )
        for i in range(n)
    )


def operator_shares(service) -> dict[str, float]:
    return dict(
        NetworkMix.objects.filter(service=service, level=NetworkMix.Level.OPERATOR, scope=WORLD).values_list(
            "key", "share"
        )
    )


@pytest.mark.parametrize("review_state", [Incident.Status.CONFIRMED, Incident.Status.DISMISSED])
def test_an_earlier_incidents_reports_do_not_teach_the_usual_mix(chatgpt, review_state):
    # Quiet days: three operators in equal parts.
    for day in range(2):
        for operator in ("Telecom Italia", "Vodafone Italia", "Wind Tre"):
            reports(chatgpt, operator=operator, at=T0 + dt.timedelta(days=day, hours=3), n=100)
    # An ISP outage (or a flood) at one operator, 20 minutes of 900 reports.
    spike_start = T0 + dt.timedelta(days=2)
    reports(chatgpt, operator="Fastweb", at=spike_start, n=900)
    incident(chatgpt, started_at=spike_start, minutes=20, status=review_state)

    baselines_rebuild(service_ids=[chatgpt.pk], now=NOW)

    shares = operator_shares(chatgpt)
    assert "Fastweb" not in shares
    assert shares == pytest.approx(
        {"Telecom Italia": 1 / 3, "Vodafone Italia": 1 / 3, "Wind Tre": 1 / 3}, abs=0.01
    )


def test_without_the_incident_the_same_reports_would_be_the_usual_mix(chatgpt):
    # The counter-check: the exclusion above is what keeps Fastweb out.
    for operator in ("Telecom Italia", "Vodafone Italia", "Wind Tre"):
        reports(chatgpt, operator=operator, at=T0 + dt.timedelta(hours=3), n=100)
    reports(chatgpt, operator="Fastweb", at=T0 + dt.timedelta(days=2), n=900)

    baselines_rebuild(service_ids=[chatgpt.pk], now=NOW)

    assert operator_shares(chatgpt)["Fastweb"] > 0.5


def test_each_operators_share_of_its_own_countrys_reports_is_learned_too(chatgpt):
    # Half of the service's reports come from Italy, where Telecom Italia has 55% of them.
    reports(chatgpt, operator="Telecom Italia", at=T0 + dt.timedelta(hours=3), n=110)
    reports(chatgpt, operator="Vodafone Italia", at=T0 + dt.timedelta(hours=4), n=90)
    reports(chatgpt, operator="Comcast", at=T0 + dt.timedelta(hours=5), n=200, country="US")

    baselines_rebuild(service_ids=[chatgpt.pk], now=NOW)

    assert operator_shares(chatgpt)["Telecom Italia"] == pytest.approx(0.275)
    italy = dict(
        NetworkMix.objects.filter(service=chatgpt, level=NetworkMix.Level.OPERATOR, scope="IT").values_list(
            "key", "share"
        )
    )
    assert italy == pytest.approx({"Telecom Italia": 0.55, "Vodafone Italia": 0.45})
    assert NetworkMix.objects.filter(service=chatgpt, scope="US", key="Comcast").get().share == 1.0
    # Prefixes are learned worldwide only.
    assert not NetworkMix.objects.filter(level=NetworkMix.Level.PREFIX).exclude(scope=WORLD).exists()
