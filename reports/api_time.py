"""Every moment in JSON (the API, the pages' JSON, webhooks) is UTC in ISO 8601 with a Z, to
the second. Kept in reports, the lowest app with an API, so that reports and outages both use
the one format (config may import the apps, not the reverse)."""

from __future__ import annotations

import datetime as dt

from rest_framework import serializers


def json_datetime(moment: dt.datetime) -> str:
    """2026-12-02T16:00:00Z: the one format of a moment in the API, the pages' JSON and
    webhooks. Display zones are for pages (outages.display_time), never for JSON."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class DateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField written with json_datetime; DRF's own writes the request's
    current zone (settings.TIME_ZONE) as an offset."""

    def to_representation(self, value: dt.datetime) -> str:
        return json_datetime(value)
