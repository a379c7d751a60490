"""The status badge's geometry: how wide its two halves are and which colour the status
gets (outages/templates/outages/badge.svg draws it; the view gives it the words)."""

from __future__ import annotations

from dataclasses import dataclass

from outages.models import ServiceStatus

BADGE_COLOUR: dict[str, str] = {
    ServiceStatus.Tier.OK: "#1a7f37",
    ServiceStatus.Tier.WARNING: "#9a6700",
    ServiceStatus.Tier.OUTAGE: "#b42318",
}


@dataclass(frozen=True, slots=True)
class BadgeLayout:
    colour: str
    label_width: int
    value_width: int
    value_x: int
    width: int


def _text_width(text: str) -> int:
    # Verdana 11 px averages about 7 px a character: enough for a badge, no font metrics.
    return 12 + 7 * len(text)


def badge_layout(*, label: str, value: str, tier: str) -> BadgeLayout:
    """The badge for `label` (the service) on the left and `value` (the status, as the page
    says it) on the right, coloured for the status `tier`."""
    label_width = _text_width(label)
    value_width = _text_width(value)
    return BadgeLayout(
        colour=BADGE_COLOUR[tier],
        label_width=label_width,
        value_width=value_width,
        value_x=label_width + 6,
        width=label_width + value_width,
    )
