"""Many services spiking together, with no one operator behind it, point at a provider they
share: the incident page and the review queue say so."""

from __future__ import annotations

import datetime as dt

import pytest

from catalogue.models import Service
from tests.detection_helpers import T0
from tests.review_helpers import incident

pytestmark = pytest.mark.django_db


def test_four_services_spiking_at_once_read_likely_a_shared_provider(client, reviewer_client):
    spikes = [
        incident(Service.objects.get(slug=slug), started_at=T0 + dt.timedelta(minutes=i), resolved=False)
        for i, slug in enumerate(["chatgpt", "instagram", "whatsapp", "facebook"])
    ]

    page = client.get(f"/incidents/{spikes[0].pk}/").content.decode()
    queue = reviewer_client.get("/review/").content.decode()

    assert "likely a shared provider (4 services at once)" in page
    assert "likely a shared provider (4 services at once)" in queue


def test_one_service_alone_or_two_together_say_nothing_of_a_provider(client):
    alone = incident(Service.objects.get(slug="chatgpt"), resolved=False)
    incident(Service.objects.get(slug="steam"), started_at=T0 + dt.timedelta(minutes=5), resolved=False)
    incident(Service.objects.get(slug="netflix"), started_at=T0 + dt.timedelta(hours=3), resolved=False)

    assert "shared provider" not in client.get(f"/incidents/{alone.pk}/").content.decode()


def test_dismissed_incidents_do_not_count_towards_a_shared_provider(client):
    first = incident(Service.objects.get(slug="chatgpt"), resolved=False)
    for i, slug in enumerate(["instagram", "whatsapp", "facebook"]):
        incident(Service.objects.get(slug=slug), started_at=T0 + dt.timedelta(minutes=i), status="dismissed")

    assert "shared provider" not in client.get(f"/incidents/{first.pk}/").content.decode()


def test_services_merely_up_in_the_same_quarter_hour_did_not_rise_together(client, reviewer_client):
    # Four services, their rises four minutes apart: none of them began with another.
    spikes = [
        incident(Service.objects.get(slug=slug), started_at=T0 + dt.timedelta(minutes=6 * i), resolved=False)
        for i, slug in enumerate(["chatgpt", "instagram", "whatsapp", "facebook"])
    ]

    assert "shared provider" not in client.get(f"/incidents/{spikes[1].pk}/").content.decode()
    assert "shared provider" not in reviewer_client.get("/review/").content.decode()


def test_services_an_isp_outage_explains_are_no_sign_of_a_shared_provider(client, reviewer_client):
    # The demo's case: an ISP's customers report three services, and an unrelated regional
    # outage starts three minutes before them.
    regional = incident(Service.objects.get(slug="chatgpt"), started_at=T0, resolved=False)
    fastweb = {"asn": 12874, "name": "Fastweb", "share": 0.8, "usual_share": 0.06, "services": 3}
    for slug in ("instagram", "youtube", "facebook"):
        isp = incident(
            Service.objects.get(slug=slug), started_at=T0 + dt.timedelta(minutes=3), resolved=False
        )
        isp.operator = fastweb
        isp.save(update_fields=["operator"])

    assert "shared provider" not in client.get(f"/incidents/{regional.pk}/").content.decode()
    assert "shared provider" not in reviewer_client.get("/review/").content.decode()
