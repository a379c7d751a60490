"""The reviewer's workplace: who may enter, and every action with its audit row."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.admin.sites import site as admin_site
from django.test import RequestFactory

from catalogue.models import Service
from outages.models import Incident
from outages.review.models import IncidentReview, ReviewAction
from tests.detection_helpers import T0
from tests.review_helpers import incident, plain_staff_user

pytestmark = pytest.mark.django_db

NOW = T0 + dt.timedelta(hours=2)


@pytest.fixture
def flagged(chatgpt):
    return incident(chatgpt)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


# --- who may enter --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/review/", "/review/incidents/{pk}/"])
def test_anonymous_visitors_are_sent_to_log_in(client, flagged, path):
    response = client.get(path.format(pk=flagged.pk))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/review/")


def test_the_login_page_logs_a_reviewer_in_and_returns_to_the_queue(client, reviewer):
    page = client.get("/accounts/login/?next=/review/")
    assert page.status_code == 200

    response = client.post(
        "/accounts/login/", {"username": "reviewer", "password": "pw-reviewer-1", "next": "/review/"}
    )

    assert response.status_code == 302 and response["Location"] == "/review/"
    assert client.get("/review/").status_code == 200


@pytest.mark.parametrize("path", ["/review/", "/review/incidents/{pk}/"])
def test_plain_staff_without_the_permission_get_403(client, flagged, path):
    client.force_login(plain_staff_user())

    assert client.get(path.format(pk=flagged.pk)).status_code == 403
    assert client.post(f"/review/incidents/{flagged.pk}/", {"action": "confirm"}).status_code == 403
    assert Incident.objects.get().status == "suspected"


def test_plain_staff_cannot_exclude_networks_either(client, flagged):
    client.force_login(plain_staff_user())

    response = client.post(f"/review/incidents/{flagged.pk}/exclude-network/", {"prefix": "93.56.1.0/24"})

    assert response.status_code == 403
    assert not ReviewAction.objects.exists()


def test_reviewers_see_the_queue_and_the_incident_page(reviewer_client, flagged):
    assert reviewer_client.get("/review/").status_code == 200
    page = reviewer_client.get(f"/review/incidents/{flagged.pk}/")
    assert page.status_code == 200
    assert "ChatGPT" in page.content.decode()


def test_a_superuser_may_review_without_joining_the_group(client, flagged, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.org", "pw"))

    assert client.get("/review/").status_code == 200


# --- actions and their audit rows -----------------------------------------------------------


def _act(client, incident_id, **data):
    return client.post(f"/review/incidents/{incident_id}/", data)


def test_confirming_records_who_when_what_and_both_statuses(reviewer_client, reviewer, flagged):
    response = _act(reviewer_client, flagged.pk, action="confirm", note="matches their status page")

    assert response.status_code == 302
    flagged.refresh_from_db()
    assert flagged.status == "confirmed"
    [row] = ReviewAction.objects.all()
    assert (row.actor, row.actor_name, row.created_at, row.kind) == (reviewer, "reviewer", NOW, "confirm")
    assert (row.status_before, row.status_after, row.note) == (
        "suspected",
        "confirmed",
        "matches their status page",
    )
    assert IncidentReview.objects.get(incident=flagged).confirmed_at == NOW


@pytest.mark.parametrize("reason", ["false_alarm", "media", "abuse"])
def test_dismissing_needs_and_records_a_reason(reviewer_client, flagged, reason):
    missing = _act(reviewer_client, flagged.pk, action="dismiss")
    assert missing.status_code == 400
    assert Incident.objects.get().status == "suspected"

    _act(reviewer_client, flagged.pk, action="dismiss", reason=reason)

    flagged.refresh_from_db()
    assert flagged.status == "dismissed"
    row = ReviewAction.objects.get()
    assert (row.kind, row.reason, row.status_before, row.status_after) == (
        "dismiss",
        reason,
        "suspected",
        "dismissed",
    )
    assert IncidentReview.objects.get(incident=flagged).dismiss_reason == reason


def test_resolving_an_open_incident_stamps_the_minute(reviewer_client, chatgpt):
    ongoing = incident(chatgpt, resolved=False)

    _act(reviewer_client, ongoing.pk, action="resolve", note="back up")

    ongoing.refresh_from_db()
    assert (ongoing.status, ongoing.resolved_at) == ("suspected", NOW)
    row = ReviewAction.objects.get()
    assert (row.kind, row.status_before, row.status_after) == ("resolve", "suspected", "suspected")
    assert row.details == {"ongoing_before": True, "ongoing_after": False}


def test_reopening_a_dismissed_incident_puts_it_back_in_the_queue(reviewer_client, flagged):
    _act(reviewer_client, flagged.pk, action="dismiss", reason="media")

    _act(reviewer_client, flagged.pk, action="reopen", note="it was real after all")

    flagged.refresh_from_db()
    assert flagged.status == "suspected"
    # The latest incident of its service, so detection follows it again.
    assert flagged.resolved_at is None and flagged.last_elevated_at == NOW
    rows = list(ReviewAction.objects.values_list("kind", "status_before", "status_after"))
    assert rows == [("dismiss", "suspected", "dismissed"), ("reopen", "dismissed", "suspected")]
    assert IncidentReview.objects.get(incident=flagged).dismiss_reason == ""


def test_an_older_incident_cannot_be_reopened_past_a_newer_one(reviewer_client, chatgpt, flagged):
    incident(chatgpt, started_at=T0 + dt.timedelta(hours=1))
    assert not flagged.ongoing

    response = _act(reviewer_client, flagged.pk, action="reopen")

    assert response.status_code == 400
    assert "merge this one into it" in response.content.decode()
    assert not Incident.objects.get(pk=flagged.pk).ongoing
    # The refused reopen is not logged.
    assert not ReviewAction.objects.exists()


def test_an_action_that_does_not_fit_the_status_is_refused_and_not_logged(reviewer_client, chatgpt):
    done = incident(chatgpt, status="suspected", resolved=True)

    response = _act(reviewer_client, done.pk, action="resolve")

    assert response.status_code == 400
    assert "Cannot resolve an incident that is suspected and resolved" in response.content.decode()
    assert not ReviewAction.objects.exists()


def test_a_public_note_is_kept_on_the_incident_and_in_the_log(reviewer_client, flagged):
    _act(
        reviewer_client, flagged.pk, action="confirm", public_note="Login failures in Italy, fixed at 14:10."
    )

    assert IncidentReview.objects.get().public_note == "Login failures in Italy, fixed at 14:10."
    assert ReviewAction.objects.get().public_note == "Login failures in Italy, fixed at 14:10."


def test_the_audit_log_is_shown_on_the_incident_page(reviewer_client, flagged):
    _act(reviewer_client, flagged.pk, action="confirm", note="seen on their status page")
    _act(reviewer_client, flagged.pk, action="dismiss", reason="abuse", note="one network")

    page = reviewer_client.get(f"/review/incidents/{flagged.pk}/").content.decode()

    assert page.count('class="audit-row"') == 2
    assert "seen on their status page" in page and "one network" in page
    assert "Suspected → Confirmed" in page and "Confirmed → Dismissed" in page
    assert "Dismiss (Abuse)" in page  # the action and the reason by name, not by code


def test_the_audit_log_cannot_be_changed_or_deleted_in_the_admin(reviewer_client, flagged, django_user_model):
    _act(reviewer_client, flagged.pk, action="confirm")
    row = ReviewAction.objects.get()
    root = django_user_model.objects.create_superuser("root", "root@example.org", "pw")
    request = RequestFactory().get("/admin/")
    request.user = root
    model_admin = admin_site._registry[ReviewAction]

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, row)
    assert not model_admin.has_delete_permission(request, row)
    reviewer_client.force_login(root)
    assert (
        reviewer_client.post(f"/admin/outages/reviewaction/{row.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert ReviewAction.objects.filter(pk=row.pk).exists()


def test_an_incident_with_a_review_history_cannot_be_deleted(reviewer_client, flagged):
    from django.db.models import ProtectedError

    _act(reviewer_client, flagged.pk, action="confirm")

    with pytest.raises(ProtectedError):
        Service.objects.filter(pk=flagged.service_id).delete()


def test_a_merged_incident_page_points_to_the_survivor_and_offers_no_actions(
    reviewer_client, chatgpt, flagged
):
    later = incident(chatgpt, started_at=T0 + dt.timedelta(hours=1), resolved=False)
    _act(reviewer_client, flagged.pk, action="merge", merge_into=later.pk)

    page = reviewer_client.get(f"/review/incidents/{flagged.pk}/").content.decode()

    assert f'href="/review/incidents/{later.pk}/"' in page
    assert 'name="action"' not in page
    refused = _act(reviewer_client, flagged.pk, action="confirm")
    assert refused.status_code == 400 and "was merged into" in refused.content.decode()
