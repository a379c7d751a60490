"""When an ongoing incident escalates: a clearly bigger event inside it ("reports rising sharply
again at 16:07"), recorded on its timeline and sent to its subscribers as an update.

Pure: numbers in, a yes or no out; no ORM, no clock. outages.incidents asks it at every
minute of an ongoing incident, for the live pass and the replay alike (docs/detection.md,
"Escalations").

The rule, all of it, at minute m of an ongoing incident:

- the detector holds a national spike at m (the same held flag that opens incidents);
- the reports of the last ESCALATION_WINDOW_MINUTES (the sliding window ending at m) are at
  least ESCALATION_FACTOR times the incident's peak before that window (its busiest
  clock-aligned quarter-hour, counted on the minutes before the window only, so the new wave
  never raises the bar it is measured against);
- those reports are at least ESCALATION_MIN_EXCESS above both the window's baseline and that
  previous peak: a handful of reports on a quiet incident (a peak of 4, then 9) is never news;
- the incident is at least ESCALATION_SETTLE_MINUTES old, so the previous peak is measured on a
  full quarter-hour of its own and the incident's opening is not announced twice;
- its last escalation is at least ESCALATION_COOLDOWN_MINUTES back: at most one an hour, so a
  wave that wobbles around twice the peak never flaps.

The caller adds one more check, only when this one says yes (it costs a query live): the
flood verdict must not call the window's reports a flood (a few networks).
"""

from __future__ import annotations

# The sliding window whose reports are compared with the peak: the peak's own length (an
# incident's peak is the busiest clock-aligned 15 minutes, outages.peak).
ESCALATION_WINDOW_MINUTES = 15
# "Clearly bigger": twice what the incident has shown. A wave that only adds half again is the
# incident going on, not news; Downdetector's charts make a doubling plain to the eye.
ESCALATION_FACTOR = 2.0
# New reports needed, over the window's baseline and over the previous peak alike: three times
# the detector's min_excess (10 a window), because an update goes to every subscriber and a
# few people (or one person with a few addresses) must not be able to send it.
ESCALATION_MIN_EXCESS = 30
# The incident's age before it can escalate: the window, and a quarter-hour of its own before
# the window to measure the previous peak on.
ESCALATION_SETTLE_MINUTES = 2 * ESCALATION_WINDOW_MINUTES
# At most one escalation per incident in this many minutes.
ESCALATION_COOLDOWN_MINUTES = 60


def escalation_check(
    *,
    minute: int,
    count: float,
    baseline: float,
    previous_peak: float,
    spike: bool,
    started: int,
    last_escalation: int | None,
) -> bool:
    """Whether epoch minute `minute` of an ongoing incident is an escalation.

    `count` and `baseline` are the reports and the expected reports of the sliding
    ESCALATION_WINDOW_MINUTES ending at `minute`; `previous_peak` the incident's peak on its
    minutes before that window; `spike` the detector's held national spike at `minute`;
    `started` the incident's first minute and `last_escalation` the minute of its latest
    escalation (epoch minutes; None: none yet).
    """
    if not spike:
        return False
    if minute - started < ESCALATION_SETTLE_MINUTES:
        return False
    if last_escalation is not None and minute - last_escalation < ESCALATION_COOLDOWN_MINUTES:
        return False
    return wave_clearly_bigger(count=count, baseline=baseline, previous_peak=previous_peak)


def wave_clearly_bigger(*, count: float, baseline: float, previous_peak: float) -> bool:
    """The size half of the rule: a window's `count` reports at least ESCALATION_FACTOR times
    the incident's `previous_peak` and ESCALATION_MIN_EXCESS above both it and the window's
    `baseline`. bench.detection_bursty reads its escalation cases with it, on the counts."""
    if count < ESCALATION_FACTOR * previous_peak:
        return False
    return count - max(baseline, previous_peak) >= ESCALATION_MIN_EXCESS


def clearly_new(
    *,
    minute: int,
    count: float,
    baseline: float,
    previous_peak: float,
    spike: bool,
    started: int,
    score: float,
    bar: float,
) -> bool:
    """Whether a spike during the rise a reviewer dismissed is a clearly new one, which opens a
    new incident instead of being absorbed by the dismissed one: the one rule, for the live
    pass and the replay alike.

    It is what would be an escalation of the dismissed incident (escalation_check, with the
    same arguments, without the cooldown: the reports of the sliding window at least
    ESCALATION_FACTOR times its peak before the window and ESCALATION_MIN_EXCESS above it
    and the baseline, the incident settled), with a score of at least `bar`, what a second
    incident needs so soon after the first (REARM_FACTOR times the threshold,
    outages.models.Incident.opening_bar). The dismissed rise going on, or growing by half,
    stays dismissed.
    """
    if score < bar:
        return False
    return escalation_check(
        minute=minute,
        count=count,
        baseline=baseline,
        previous_peak=previous_peak,
        spike=spike,
        started=started,
        last_escalation=None,
    )
