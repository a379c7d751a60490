"""Calendar maths for the detector: UTC epoch seconds to local days, weekdays and time-of-day
slots in a service's time zone, across daylight-saving changes. Pure: no ORM, no clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

DAY = 86_400


def epoch_seconds(timestamps: np.ndarray | Sequence[int]) -> NDArray[np.int64]:
    ts = np.asarray(timestamps)
    if np.issubdtype(ts.dtype, np.datetime64):
        return ts.astype("datetime64[s]").astype(np.int64)
    return ts.astype(np.int64)


def _offset(second: int, tz: ZoneInfo) -> int:
    offset = datetime.fromtimestamp(second, tz).utcoffset()
    assert offset is not None  # an aware datetime always has one
    return int(offset.total_seconds())


def utc_offsets(ts: NDArray[np.int64], timezone: str) -> NDArray[np.int64]:
    """UTC offset in seconds at each epoch second, vectorised.

    Offsets change only at transitions, at most one a day in every real zone, so the zone is
    probed once a day and bisected to the minute on days where the offset changes.
    """
    tz = ZoneInfo(timezone)
    if ts.size == 0:
        return np.zeros(0, dtype=np.int64)
    first = int(ts.min()) // DAY * DAY
    probes = np.arange(first, int(ts.max()) + DAY + 1, DAY)
    offsets = [_offset(int(p), tz) for p in probes]
    starts, values = [int(probes[0])], [offsets[0]]
    for i in range(len(probes) - 1):
        if offsets[i] == offsets[i + 1]:
            continue
        lo, hi = int(probes[i]), int(probes[i + 1])
        while hi - lo > 60:
            mid = lo + (hi - lo) // 120 * 60
            if _offset(mid, tz) == offsets[i]:
                lo = mid
            else:
                hi = mid
        starts.append(hi)
        values.append(offsets[i + 1])
    idx = np.searchsorted(np.asarray(starts), ts, side="right") - 1
    return np.asarray(values, dtype=np.int64)[idx]


def local_fields(
    timestamps: np.ndarray | Sequence[int], *, timezone: str, bucket_minutes: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(local day number, weekday with Monday = 0, local slot of the day) for UTC buckets."""
    if 1440 % bucket_minutes:
        raise ValueError(f"bucket_minutes must divide a day, got {bucket_minutes}")
    ts = epoch_seconds(timestamps)
    local = ts + utc_offsets(ts, timezone)
    day = local // DAY
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
    slot = (local % DAY) // (bucket_minutes * 60)
    return day, weekday, slot
