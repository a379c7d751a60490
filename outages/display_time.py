"""How a page shows a moment: in one zone per page, named by the zone's abbreviation at that
moment ("17:00 CET", "17:00 CEST" in summer).

A service's pages (service, incident, review) use the service's zone; every other page uses
the site's, settings.TIME_ZONE. Templates call the filters in
outages.templatetags.display_time; scripts read the same zone from the page's
data-timezone and data-timezone-names attributes (PageTime) and format with common.js's
Downradar.zoned, so a chart label and the text beside it read the same. JSON carries
moments in UTC (config.api.json_datetime), never in a display zone.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import dateformat
from django.utils.translation import pgettext, pgettext_lazy

from outages.models import Service

# 24-hour clock in every language, as common.js's Intl format (hourCycle h23).
TIME_FORMAT = "H:i T"
# Reviewers compare moments across incidents: a sortable stamp, the same in every language.
STAMP_FORMAT = "Y-m-d H:i T"
# The names as they read inside a date: Django's own are capitalised in Italian ("Mercoledì
# 2 Dicembre"), where a date in running text has them lower case.
WEEKDAYS = [
    pgettext_lazy("weekday in a date", "Monday"),
    pgettext_lazy("weekday in a date", "Tuesday"),
    pgettext_lazy("weekday in a date", "Wednesday"),
    pgettext_lazy("weekday in a date", "Thursday"),
    pgettext_lazy("weekday in a date", "Friday"),
    pgettext_lazy("weekday in a date", "Saturday"),
    pgettext_lazy("weekday in a date", "Sunday"),
]
MONTHS = [
    pgettext_lazy("month in a date", "January"),
    pgettext_lazy("month in a date", "February"),
    pgettext_lazy("month in a date", "March"),
    pgettext_lazy("month in a date", "April"),
    pgettext_lazy("month in a date", "May"),
    pgettext_lazy("month in a date", "June"),
    pgettext_lazy("month in a date", "July"),
    pgettext_lazy("month in a date", "August"),
    pgettext_lazy("month in a date", "September"),
    pgettext_lazy("month in a date", "October"),
    pgettext_lazy("month in a date", "November"),
    pgettext_lazy("month in a date", "December"),
]
# How far around now the scripts may need a name for an offset (a page left open for days,
# a chart of the last 24 hours): a year either side covers both sides of any DST change.
_NAMES_SPAN = dt.timedelta(days=366)
_NAMES_STEP = dt.timedelta(days=7)


def zone_named(name: str) -> ZoneInfo:
    """The zone called `name`, or the site's when the catalogue holds a name zoneinfo lacks."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def as_zone(zone: ZoneInfo | str) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else zone_named(zone)


def zone_abbreviation(moment: dt.datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).tzname() or zone.key


def time_text(moment: dt.datetime, zone: ZoneInfo) -> str:
    """17:00 CET"""
    return dateformat.format(moment.astimezone(zone), TIME_FORMAT)


def datetime_text(moment: dt.datetime, zone: ZoneInfo) -> str:
    """Wednesday 2 December 2026, 17:00 CET; mercoledì 2 dicembre 2026, 17:00 CET"""
    local = moment.astimezone(zone)
    return pgettext("a full date and time", "%(weekday)s %(day)d %(month)s %(year)d, %(time)s") % {
        "weekday": WEEKDAYS[local.weekday()],
        "day": local.day,
        "month": MONTHS[local.month - 1],
        "year": local.year,
        "time": time_text(local, zone),
    }


def stamp_text(moment: dt.datetime, zone: ZoneInfo) -> str:
    """2026-12-02 17:00 CET"""
    return dateformat.format(moment.astimezone(zone), STAMP_FORMAT)


def zone_names(zone: ZoneInfo, *, around: dt.datetime) -> dict[int, str]:
    """{UTC offset in minutes: abbreviation} for the zone in the two years around `around`;
    the scripts name a moment by its offset, since Intl's short names are often "GMT+1"."""
    names: dict[int, str] = {}
    moment = around - _NAMES_SPAN
    while moment <= around + _NAMES_SPAN:
        local = moment.astimezone(zone)
        names[_offset_minutes(local)] = local.tzname() or zone.key
        moment += _NAMES_STEP
    local = around.astimezone(zone)  # the abbreviation in force now wins any tie
    names[_offset_minutes(local)] = local.tzname() or zone.key
    return names


def _offset_minutes(local: dt.datetime) -> int:
    offset = local.utcoffset()
    assert offset is not None  # an aware time in a ZoneInfo zone always has one
    return int(offset.total_seconds() // 60)


@dataclass(frozen=True)
class PageTime:
    """A page's display zone, for its templates and scripts."""

    zone: ZoneInfo
    now: dt.datetime

    @property
    def key(self) -> str:
        return self.zone.key

    @property
    def abbreviation(self) -> str:
        return zone_abbreviation(self.now, self.zone)

    @cached_property
    def names_json(self) -> str:
        return json.dumps(zone_names(self.zone, around=self.now), separators=(",", ":"), sort_keys=True)


def page_time(*, now: dt.datetime, service: Service | None = None) -> PageTime:
    """The service's zone for a service's pages, the site's for the rest."""
    return PageTime(zone=zone_named(service.timezone if service is not None else settings.TIME_ZONE), now=now)
