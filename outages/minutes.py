"""Epoch minutes: how outages converts times to minutes and back (flooring a time is
reports.minutes.floor_minute, which both apps use)."""

from __future__ import annotations

import datetime as dt


def epoch_minute(moment: dt.datetime) -> int:
    return int(moment.timestamp()) // 60


def from_epoch_minute(minute: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(minute * 60, tz=dt.UTC)
