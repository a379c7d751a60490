"""How long to wait, in words a person reads: "38 minutes", not "2280 seconds"."""

from __future__ import annotations

import math

from django.utils.translation import ngettext


def wait_text(seconds: int) -> str:
    """Seconds under a minute and a half, whole minutes (rounded up) under an hour and a
    half, whole hours (rounded up) beyond."""
    seconds = max(int(seconds), 1)
    if seconds < 90:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    if seconds < 90 * 60:
        minutes = math.ceil(seconds / 60)
        return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    hours = math.ceil(seconds / 3600)
    return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
