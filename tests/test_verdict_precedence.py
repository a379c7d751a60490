"""The order in which the verdicts decide a status, as docs/detection.md section 7b writes it
down: for every two verdicts that hold at once, the one higher in the table wins."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from outages.models import Incident
from outages.status import public_status
from tests.detection_helpers import T0


def _ongoing(status: str) -> Incident:
    return Incident(status=status, started_at=T0, last_spike_at=T0, last_elevated_at=T0, resolved_at=None)


# The table's rows, highest first: what each verdict adds to public_status's arguments, and
# the status / reason it gives on its own with the counts at `outage`.
ORDER = [
    ("confirmed", {"incident": _ongoing(Incident.Status.CONFIRMED)}, ("outage", "confirmed")),
    ("flood", {"flood": True}, ("warning", "flood_suspected")),
    ("dismissed", {"incident": _ongoing(Incident.Status.DISMISSED)}, ("ok", "dismissed")),
    ("isp", {"isp": True}, ("warning", "isp")),
    ("handful", {"few_reporters": True}, ("warning", "few_reports")),
    ("outage", {}, ("outage", "spike")),
]
PAIRS = [
    (higher, lower)
    for higher, lower in itertools.combinations(ORDER, 2)
    if not ("incident" in higher[1] and "incident" in lower[1])  # one incident at a time
]


@pytest.mark.parametrize(("higher", "lower"), PAIRS, ids=[f"{h[0]}-over-{lo[0]}" for h, lo in PAIRS])
def test_the_higher_verdict_in_the_documented_order_wins(higher, lower):
    found = public_status(evidence="outage", **lower[1], **higher[1], at=T0 + dt.timedelta(minutes=5))

    assert (found.status, found.reason) == higher[2]


def test_a_regional_spike_is_a_warning_and_yields_to_every_verdict_above_it():
    at = T0 + dt.timedelta(minutes=5)

    def reads(**verdicts) -> tuple[str, str]:
        found = public_status(evidence="ok", regional=True, at=at, **verdicts)
        return found.status, found.reason

    assert reads() == ("warning", "regional")
    assert reads(flood=True) == ("warning", "flood_suspected")
    assert reads(incident=_ongoing(Incident.Status.SUSPECTED)) == ("warning", "incident_open")
    assert reads(incident=_ongoing(Incident.Status.CONFIRMED)) == ("outage", "confirmed")


def test_an_incident_is_recovering_only_once_its_last_elevated_minute_is_behind():
    # Counts under the warning level: while the service is still up the incident counts the
    # minute as elevated (outages.incidents._still_up_since), so it is going on, not "back to normal".
    at = T0 + dt.timedelta(minutes=40)
    still_up = _ongoing(Incident.Status.SUSPECTED)
    still_up.last_elevated_at = at
    quiet = _ongoing(Incident.Status.SUSPECTED)

    going_on = public_status(evidence="ok", incident=still_up, at=at)
    recovering = public_status(evidence="ok", incident=quiet, at=at)

    assert (going_on.status, going_on.reason) == ("warning", "incident_open")
    assert (recovering.status, recovering.reason) == ("warning", "recovering")
