"""The minute a moment belongs to: what the minute count tables are keyed on, and so what
the detection pass, review actions and statuses floor their times to. One definition, so
a report, its count row and the pass that reads it agree on the minute."""

from __future__ import annotations

import datetime as dt


def floor_minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)
