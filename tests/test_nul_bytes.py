"""A NUL byte in an address is a clear 400, never a 500 from the database."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    ["/?q=%00", "/?q=chat%00gpt", "/unsubscribe/%00/", "/search/?q=%00", "/s/chatgpt/?x=%00"],
)
def test_a_nul_byte_in_a_page_address_answers_400_saying_what_to_fix(client, url):
    response = client.get(url)

    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_a_nul_byte_in_an_api_query_answers_400_in_json(client):
    response = client.get("/api/v1/incidents/?service=%00")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
