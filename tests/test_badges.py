"""The badge's geometry: each half is its text's width in the badge's font plus the same
padding on both sides, from a width table that is the font's own."""

from __future__ import annotations

import pytest

from outages.badge_font import CHARACTER_WIDTHS, FONT_FAMILY, FONT_SIZE, text_width
from outages.badges import TEXT_PADDING, badge_layout
from outages.models import ServiceStatus
from tests.font_metrics import DEJAVU_SANS, advance_widths


def test_the_width_table_is_dejavu_sans_at_11_px_as_the_font_file_says():
    assert FONT_FAMILY.startswith("DejaVu Sans,") and FONT_SIZE == 11
    font = advance_widths(DEJAVU_SANS, size=FONT_SIZE)

    assert {character: round(font[character], 2) for character in CHARACTER_WIDTHS} == CHARACTER_WIDTHS


def test_a_text_is_as_wide_as_its_characters():
    assert text_width("ChatGPT") == pytest.approx(47.57)
    # Narrow letters are narrower than wide ones: no average per character.
    assert text_width("iiii") < text_width("MMMM") / 2
    assert text_width("città") == pytest.approx(text_width("citta"))


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("ChatGPT", "✕ Problems detected"),
        ("PlayStation Network · IT", "! Possibili problemi"),
        ("Wi", "✓ Nessun problema"),
        ("Prime Video", "✓ No problems"),
    ],
)
def test_each_half_pads_its_text_evenly(label, value):
    layout = badge_layout(label=label, value=value, tier=ServiceStatus.Tier.OK)

    for width, text_length, text in [
        (layout.label_width, layout.label_text_length, label),
        (layout.value_width, layout.value_text_length, value),
    ]:
        assert width - text_length == 2 * TEXT_PADDING  # the same space left and right
        assert abs(text_length - text_width(text)) <= 0.5  # drawn at its own width, barely stretched
    assert layout.value_x == layout.label_width + TEXT_PADDING
    assert layout.width == layout.label_width + layout.value_width


@pytest.mark.django_db
def test_the_badge_draws_each_text_at_its_computed_length(client, chatgpt):
    svg = client.get("/s/chatgpt/badge.svg").content.decode()
    layout = badge_layout(label="ChatGPT", value="✓ No problems", tier=ServiceStatus.Tier.OK)

    assert f'<text x="6" y="14" textLength="{layout.label_text_length}">ChatGPT</text>' in svg
    assert f'textLength="{layout.value_text_length}">✓ No problems</text>' in svg
    assert f'font-family="{FONT_FAMILY}"' in svg and f'width="{layout.width}"' in svg
