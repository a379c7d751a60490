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
