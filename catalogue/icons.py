"""Every service's icon, drawn here: a monogram on a colour of its own.

Brand logos would need a request to someone else's server or a trademark licence per brand;
a monogram needs neither and tells services apart at a glance. The colour is picked from the
slug, so it is the same on every page and every install, and each colour carries white text at
WCAG AA contrast (tests/test_service_icons.py checks it).
"""

from __future__ import annotations

import hashlib
import re

from django.utils.html import format_html
from django.utils.safestring import SafeString

# Tailwind's 700 shades: all at least 4.5:1 against white.
PALETTE = (
    "#1d4ed8",  # blue
    "#0f766e",  # teal
    "#6d28d9",  # violet
    "#b91c1c",  # red
    "#a16207",  # amber
    "#15803d",  # green
    "#be185d",  # pink
    "#4338ca",  # indigo
    "#334155",  # slate
    "#c2410c",  # orange
)
_WORD = re.compile(r"\w+")


def monogram(name: str) -> str:
    """The letters on the icon: the initials of the first two words ("PlayStation Network" ->
    "PN"), or the first letter of a one-word name ("ChatGPT" -> "C")."""
    words = _WORD.findall(name)
    if not words:
        return "?"
    return "".join(word[0] for word in words[:2]).upper()


def icon_colour(slug: str) -> str:
    digest = hashlib.blake2s(slug.encode(), digest_size=2).digest()
    return PALETTE[int.from_bytes(digest, "big") % len(PALETTE)]


def icon_svg(*, name: str, slug: str, size: int = 32) -> SafeString:
    """The icon as inline SVG: no request, no script, nothing the CSP must allow."""
    letters = monogram(name)
    font_size = size * (0.5 if len(letters) == 1 else 0.4)
    return format_html(
        '<svg class="service-icon" width="{size}" height="{size}" viewBox="0 0 {size} {size}" aria-hidden="true" focusable="false">'
        '<rect width="{size}" height="{size}" rx="{radius}" fill="{colour}"/>'
        '<text x="50%" y="50%" dy="0.35em" text-anchor="middle" fill="#ffffff" font-family="system-ui, sans-serif" '
        'font-size="{font_size}" font-weight="700">{letters}</text></svg>',
        size=size,
        radius=round(size * 0.22),
        colour=icon_colour(slug),
        font_size=f"{font_size:g}",
        letters=letters,
    )
