"""Each service has a self-hosted icon (catalogue/icons.py)."""

from __future__ import annotations

import pytest

from catalogue.icons import PALETTE, icon_colour, icon_svg, monogram


@pytest.mark.parametrize(
    ("name", "letters"),
    [
        ("ChatGPT", "C"),
        ("PlayStation Network", "PN"),
        ("Microsoft Outlook Web", "MO"),
        ("X", "X"),
        ("élan vital", "ÉV"),
        ("!!!", "?"),
    ],
)
def test_the_monogram_is_the_initials_of_the_first_two_words(name, letters):
    assert monogram(name) == letters


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("colour", PALETTE)
def test_every_colour_carries_white_text_at_wcag_aa_contrast(colour):
    assert (1.05) / (_luminance(colour) + 0.05) >= 4.5


def test_a_services_colour_is_stable_and_services_differ():
    assert icon_colour("chatgpt") == icon_colour("chatgpt")
    colours = {
        icon_colour(slug) for slug in ("chatgpt", "sora", "whatsapp", "instagram", "netflix", "spotify")
    }
    assert len(colours) >= 3


def test_a_name_with_markup_draws_letters_only():
    svg = icon_svg(name='"><script>alert(1)</script>', slug='"><x')
    assert "<script" not in svg and "<x" not in svg
    assert ">SA</text>" in svg
    assert svg.count("<svg") == 1 and 'aria-hidden="true"' in svg


@pytest.mark.django_db
def test_every_service_row_and_the_service_page_carry_its_own_icon(client):
    from catalogue.models import Service

    home = client.get("/").content.decode()
    services = list(Service.objects.all())
    assert services
    for service in services:
        row = home.split(f'data-slug="{service.slug}"', 1)[1].split("</li>", 1)[0]
        assert str(icon_svg(name=service.name, slug=service.slug, size=24)) in row

    page = client.get("/s/chatgpt/").content.decode()
    heading = page.split("<h1>", 1)[1].split("</h1>", 1)[0]
    assert heading.startswith('<svg class="service-icon"') and heading.endswith("ChatGPT")
