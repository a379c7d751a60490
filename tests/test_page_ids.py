"""No page repeats an element id (labels, scripts and anchors rely on them being unique)."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.review_helpers import incident, reviewer_user

pytestmark = pytest.mark.django_db


def duplicate_ids(html: str) -> list[str]:
    return [name for name, n in Counter(re.findall(r'\sid="([^"]+)"', html)).items() if n > 1]


def test_public_and_review_pages_have_unique_ids(client, chatgpt):
    flagged = incident(chatgpt, resolved=False)
    later = incident(
        chatgpt, started_at=flagged.started_at.replace(hour=flagged.started_at.hour + 1), resolved=False
    )
    pages = [
        "/",
        "/s/chatgpt/",
        "/map/",
        "/incidents/",
        f"/incidents/{flagged.pk}/",
        "/s/chatgpt/subscribe/",
        "/search/?q=chat",
    ]
    for url in pages:
        assert duplicate_ids(client.get(url).content.decode()) == [], url
    client.force_login(reviewer_user())
    for url in ["/review/", f"/review/incidents/{flagged.pk}/", f"/review/incidents/{later.pk}/"]:
        assert duplicate_ids(client.get(url).content.decode()) == [], url
