"""Template filters for outages.display_time: {{ moment|local_time:zone }}, where zone is
a page's PageTime.zone or a service's zone name (review pages: incident.service.timezone)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from django import template
from django.utils.html import format_html

from outages import display_time

register = template.Library()

Moment = dt.datetime | str | None


def _text(value: Moment, zone: ZoneInfo | str, text: Callable[[dt.datetime, ZoneInfo], str]) -> str:
    if value is None:
        return ""
    # Some chart rows carry their start as ISO text already (the incident timeline).
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return text(moment, display_time.as_zone(zone))


@register.filter
def local_time(value: Moment, zone: ZoneInfo | str) -> str:
    """17:00 CET"""
    return _text(value, zone, display_time.time_text)


@register.filter
def local_datetime(value: Moment, zone: ZoneInfo | str) -> str:
    """Wednesday 2 December 2026, 17:00 CET"""
    return _text(value, zone, display_time.datetime_text)


@register.filter
def local_stamp(value: Moment, zone: ZoneInfo | str) -> str:
    """2026-12-02 17:00 CET, for reviewers"""
    return _text(value, zone, display_time.stamp_text)


@register.simple_tag
def zone_attributes(page_time: display_time.PageTime) -> str:
    """The page's zone for common.js's Downradar.zoned, on the element whose times it formats."""
    return format_html('data-timezone="{}" data-timezone-names="{}"', page_time.key, page_time.names_json)
