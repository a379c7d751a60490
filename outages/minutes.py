"""Epoch minutes: the one way outages converts and floors times to minutes."""

from __future__ import annotations

import datetime as dt


def epoch_minute(moment: dt.datetime) -> int:
    return int(moment.timestamp()) // 60


def from_epoch_minute(minute: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(minute * 60, tz=dt.UTC)


def floor_minute(moment: dt.datetime) -> dt.datetime:
    """The start of the minute holding `moment`: the one way every module floors a time."""
    return moment.replace(second=0, microsecond=0)
