"""The status badge's geometry: how wide its two halves are and which colour the status
gets (outages/templates/outages/badge.svg draws it; the view gives it the words)."""

from __future__ import annotations

from dataclasses import dataclass

from outages.badge_font import FONT_FAMILY, FONT_SIZE, text_width
from outages.models import ServiceStatus

BADGE_COLOUR: dict[str, str] = {
    ServiceStatus.Tier.OK: "#1a7f37",
    ServiceStatus.Tier.WARNING: "#9a6700",
    ServiceStatus.Tier.OUTAGE: "#b42318",
}


# Space between each text and the edges of its half, the same on both sides.
TEXT_PADDING = 6


@dataclass(frozen=True, slots=True)
class BadgeLayout:
    colour: str
    font_family: str
    font_size: int
    label_width: int
    value_width: int
    # Each text is drawn exactly this long (SVG textLength): whatever font the reader has, it
    # ends TEXT_PADDING before its half does.
    label_text_length: int
    value_text_length: int
    text_padding: int
    value_x: int
    width: int


def _text_length(text: str) -> int:
    return max(1, round(text_width(text)))


def badge_layout(*, label: str, value: str, tier: str) -> BadgeLayout:
    """The badge for `label` (the service) on the left and `value` (the status, as the page
    says it) on the right, coloured for the status `tier`: each half is its text's width in
    the badge's font (outages.badge_font) plus the same padding on either side."""
    label_text_length = _text_length(label)
    value_text_length = _text_length(value)
    label_width = label_text_length + 2 * TEXT_PADDING
    value_width = value_text_length + 2 * TEXT_PADDING
    return BadgeLayout(
        colour=BADGE_COLOUR[tier],
        font_family=FONT_FAMILY,
        font_size=FONT_SIZE,
        label_width=label_width,
        value_width=value_width,
        label_text_length=label_text_length,
        value_text_length=value_text_length,
        text_padding=TEXT_PADDING,
        value_x=label_width + TEXT_PADDING,
        width=label_width + value_width,
    )
