from __future__ import annotations

import datetime as dt

import pytest

from outages.detection_pass import detection_run_range
from outages.models import Baseline
from tests.detection_helpers import MINUTE, T0, flat_baseline, put_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_with_incident(admin_client, chatgpt):
    flat_baseline(chatgpt, per_minute=4)
    put_counts(chatgpt, T0 - dt.timedelta(hours=1), 60, 4)
    put_counts(chatgpt, T0, 10, 40)
    detection_run_range(start=T0 - 5 * MINUTE, end=T0 + 9 * MINUTE)
    return admin_client


@pytest.mark.parametrize("model", ["incident", "baseline", "servicestatus"])
def test_staff_see_detection_results_in_the_admin(admin_client_with_incident, model):
    listing = admin_client_with_incident.get(f"/admin/outages/{model}/")
    assert listing.status_code == 200
    assert "ChatGPT" in listing.content.decode()


def test_the_admin_rebuilds_a_service_s_baselines_on_demand(admin_client, chatgpt, time_machine):
    time_machine.move_to(T0, tick=False)
    put_counts(chatgpt, T0 - dt.timedelta(days=2), 600, 2)

    response = admin_client.post(
        "/admin/catalogue/service/", {"action": "rebuild_baselines", "_selected_action": [chatgpt.pk]}
    )

    assert response.status_code == 302
    assert Baseline.objects.get(service=chatgpt).built_at == T0


def test_an_incident_status_cannot_be_changed_in_the_admin_bypassing_the_audit_log():
    from django.contrib import admin as django_admin

    from outages.models import Incident

    assert "status" in django_admin.site._registry[Incident].readonly_fields


def test_the_old_admin_address_of_services_redirects_to_the_catalogue(admin_client):
    response = admin_client.get("/admin/outages/service/?q=chat")

    assert response.status_code == 301
    assert response["Location"] == "/admin/catalogue/service/?q=chat"
