"""The review pages guide: only the actions that apply are offered, merging only with
something to merge into, and every page says who is signed in, with a way out."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.detection_helpers import T0
from tests.review_helpers import incident

pytestmark = pytest.mark.django_db


def offered(client, pk: int, language: str = "en") -> list[str]:
    page = client.get(f"/review/incidents/{pk}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    select = re.search(r'<select name="action".*?</select>', page, re.S)[0]
    return re.findall(r'<option value="(\w+)"', select)


def test_an_ongoing_suspected_incident_offers_confirm_dismiss_and_resolve_only(reviewer_client, chatgpt):
    ongoing = incident(chatgpt, resolved=False)

    assert offered(reviewer_client, ongoing.pk) == ["confirm", "dismiss", "resolve"]


def test_a_resolved_confirmed_incident_offers_dismiss_and_reopen(reviewer_client, chatgpt):
    done = incident(chatgpt, status="confirmed")

    assert offered(reviewer_client, done.pk) == ["dismiss", "reopen"]


def test_merge_is_offered_only_with_a_later_incident_to_merge_into(reviewer_client, chatgpt):
    earlier = incident(chatgpt)
    page = reviewer_client.get(f"/review/incidents/{earlier.pk}/").content.decode()
    assert "merge" not in offered(reviewer_client, earlier.pk) and 'name="merge_into"' not in page

    incident(chatgpt, started_at=T0 + dt.timedelta(hours=1), resolved=False)

    assert "merge" in offered(reviewer_client, earlier.pk)


def test_every_page_says_who_is_signed_in_with_the_queue_and_a_logout(reviewer_client, chatgpt):
    for url in ["/", "/s/chatgpt/", "/review/"]:
        page = reviewer_client.get(url).content.decode()
        assert "Signed in as reviewer" in page
        assert 'href="/review/"' in page and 'action="/accounts/logout/"' in page

    response = reviewer_client.post("/accounts/logout/")

    assert response.status_code == 302 and response["Location"] == "/"
    assert "Signed in as" not in reviewer_client.get("/").content.decode()


def test_the_actions_are_named_in_italian(reviewer_client, chatgpt):
    ongoing = incident(chatgpt, resolved=False)
    page = reviewer_client.get(f"/review/incidents/{ongoing.pk}/", HTTP_ACCEPT_LANGUAGE="it").content.decode()

    assert ">Conferma</option>" in page and ">Respingi</option>" in page and "Accesso come reviewer" in page
