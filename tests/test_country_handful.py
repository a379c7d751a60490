"""A handful in one country is judged on that country's reports (issue 21, item 1): the
reports of the rest of the world are no support for a rise in one country, as a country's
page is what its visitors read first."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections import Counter

import pytest

from geo.lookup import locate
from geo.services import city_for_location
from outages.models import DetectionWatermark, Incident, ServiceStatus
from outages.watermark import WATERMARK
from tests.detection_helpers import MINUTE, T0, flat_baseline
from tests.helpers import post_report
from tests.test_few_reporters import statuses_minute_by_minute
from tests.test_networks import REPORT, national_crowd, usual_mix

# 15 households in France, each in its own /24 of Orange or Free.
FRANCE = [f"90.{10 + i}.1.1" for i in range(8)] + [f"82.{64 + i % 4}.{10 * i}.1" for i in range(7)]


@pytest.fixture
def middling_service(chatgpt, settings):
    """ChatGPT at 4 reports a minute, all from Italy, with its usual operator mix."""
    settings.REPORT_RATE_LIMIT = "30/h"
    flat_baseline(chatgpt, per_minute=4)
    usual_mix(chatgpt)
    DetectionWatermark.objects.create(name=WATERMARK, processed_through=T0 - 16 * MINUTE)
    return chatgpt


@pytest.mark.django_db
def test_fifteen_households_in_another_country_never_make_that_country_red(
    client, middling_service, time_machine
):
    chatgpt = middling_service
    ordinary = national_crowd(100)
    # Each Italian city its usual share of the ordinary reports, as a rebuild would learn.
    located = Counter(city_for_location(locate(ipaddress.ip_address(ip))) for ip in ordinary)
    for city, count in located.items():
        if city is not None:
            flat_baseline(chatgpt, per_minute=4 * count / len(ordinary), city=city)
    posts = [(T0 + dt.timedelta(seconds=15 * i) - 15 * MINUTE, ip) for i, ip in enumerate(ordinary[:60])]
    posts += [(T0 + dt.timedelta(seconds=12 * i), ip) for i, ip in enumerate(FRANCE)]
    posts += [(T0 + dt.timedelta(seconds=15 * i), ip) for i, ip in enumerate(ordinary[60:])]
    for at, ip in sorted(posts):
        time_machine.move_to(at, tick=False)
        assert post_report(client, REPORT, ip=ip).status_code == 201

    statuses_minute_by_minute(time_machine, chatgpt, 8)

    france = ServiceStatus.objects.filter(service=chatgpt, scope="FR").first()
    assert france is not None and france.evidence == "outage"  # the counts alone say outage
    assert france.status != "outage", (france.status, france.reason)
    assert not Incident.objects.filter(service=chatgpt).exists()
