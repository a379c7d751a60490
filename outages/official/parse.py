"""Reading an official status page: pure functions from the bytes fetched to a Reading (a
state and, when the page gives one, the time it changed). No network, no ORM, no clock
(the caller passes `now`). Anything that does not read as the format it claims raises
Unreadable, so a broken page is a word on our page, never a wrong state."""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
from dataclasses import dataclass

import feedparser

from outages.official.models import OfficialState

State = OfficialState.State

# Atlassian Statuspage's status.indicator (/api/v2/summary.json, /api/v2/status.json).
STATUSPAGE_INDICATORS: dict[str, str] = {
    "none": State.OK,
    "maintenance": State.MAINTENANCE,
    "minor": State.MINOR,
    "major": State.MAJOR,
    "critical": State.CRITICAL,
}
# A feed's newest entry is an open incident unless its first words close it, or it is
# older than this (feeds that never post "resolved").
FEED_OPEN_HOURS = 24
_CLOSING_WORDS = re.compile(r"\b(resolved|completed|restored|operational|recovered)\b", re.IGNORECASE)
# The newest update comes first in an entry (Statuspage's history.rss, most others).
_FIRST_WORDS = 300
_TAG = re.compile(r"<[^>]+>")


class Unreadable(ValueError):
    """The answer is not the format the service says its page is in."""


@dataclass(frozen=True, slots=True)
class Reading:
    state: str
    changed_at: dt.datetime | None = None  # the page's own time for it, if it gives one


def statuspage_read(body: bytes) -> Reading:
    """Statuspage's JSON: status.indicator is the state, page.updated_at its time."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Unreadable("not JSON") from None
    status = data.get("status") if isinstance(data, dict) else None
    indicator = status.get("indicator") if isinstance(status, dict) else None
    if indicator not in STATUSPAGE_INDICATORS:
        raise Unreadable(f"no known status.indicator (got {str(indicator)[:40]!r})")
    page = data.get("page")
    updated = page.get("updated_at") if isinstance(page, dict) else None
    return Reading(STATUSPAGE_INDICATORS[indicator], _aware(updated))


def _aware(text: object) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def feed_read(body: bytes, *, now: dt.datetime) -> Reading:
    """An RSS or Atom incident feed: its newest entry is an open incident unless it says it
    is resolved (or is older than FEED_OPEN_HOURS); an empty feed is all clear."""
    parsed = feedparser.parse(body)
    if not parsed.get("version"):
        raise Unreadable("not an RSS or Atom feed")
    dated = [(moment, entry) for entry in parsed.entries if (moment := _entry_time(entry)) is not None]
    if not dated:
        return Reading(State.OK)
    moment, newest = max(dated, key=lambda pair: pair[0])
    words = f"{newest.get('title', '')} {_TAG.sub(' ', newest.get('summary', ''))[:_FIRST_WORDS]}"
    if _CLOSING_WORDS.search(words):
        return Reading(State.OK, moment)
    if now - moment > dt.timedelta(hours=FEED_OPEN_HOURS):
        return Reading(State.OK)
    return Reading(State.INCIDENT, moment)


def _entry_time(entry) -> dt.datetime | None:
    # feedparser gives every date as a UTC struct_time, whatever zone the feed wrote.
    parsed = entry.get("updated_parsed") or entry.get("published_parsed")
    if parsed is None:
        return None
    return dt.datetime.fromtimestamp(calendar.timegm(parsed), dt.UTC)
