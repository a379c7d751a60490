"""The living demo: what happens, and when, for as long as `make run` runs.

Pure: no ORM, no settings, no clock. Everything is placed relative to an anchor (the moment
`demo_data` loaded history up to, when `make run` started: its "minute 0") and repeats every
CYCLE, so a demo left running keeps living. Each cycle starts at the anchor plus a whole
number of cycles:

- the 31 March 2025 ChatGPT outage (and Sora's) has its peak bucket (Italy ~1,251) in the
  last whole clock-aligned quarter-hour before minute 1: the quarter-hour the service page's
  headline names at minute 1 ("ChatGPT in Italy: 1,251 reports at 17:00"). It began 30
  minutes before that quarter-hour ended and keeps coming, decaying, for about an hour more:
  ~1.5 h from first report to last. (The banner's count is the quarter-hour in progress,
  outages.peak, so at minute 1 it holds only the minutes since that quarter began.)
- + 1 min: a regional outage of iliad in Sicily and Calabria;
- + 1 min: an ISP outage: Fastweb's customers report three services at once;
- + 2 min: a media bump on Netflix (a new series, people asking "is it down?");
- + 20 min: a flood on Spotify, 600 reports from three networks in Milan (held back by the
  flood rule: a warning, never an incident);
- and the reviewer's schedule: confirm ChatGPT at + 4 min, dismiss Netflix's media bump
  at + 25 min;
- a few of the events' reporters write a comment (simulator.comments), which the demo
  reviewer approves, or rejects when off topic, COMMENT_REVIEW_AFTER later;
- ChatGPT's official status page (served by the crowd process, simulator.official_page)
  turns red OFFICIAL_DELAY after the crowd's first reports and green when they end.

So at minute 1 only ChatGPT and Sora are down, at minute 10 the regional, ISP and media
events show, and at minute 30 the flood (README, `make run`).

Three hours before the first cycle a short PlayStation Network outage has come and gone, so
the history holds a resolved incident too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np

from simulator.comments import POOLS, city_as_written, comment_language
from simulator.crowd import BLOCK_SECONDS, KINDS, Batch, Crowd, Flood, Incident, Outage
from simulator.live import Post
from simulator.scenarios import baseline_italy, chatgpt_and_sora_outages, isp_outage

CYCLE = timedelta(hours=3)
# Long enough for any demo event to have ended: the incidents that may still add reports
# to a window are those that started this much before it.
LONGEST_EVENT = timedelta(hours=3)
# The ChatGPT outage began this long before its peak bucket ended (rise 15, plateau 15).
OUTAGE_LEAD = timedelta(minutes=30)
# The minute a newcomer first looks: the peak bucket is the last whole quarter-hour before it.
FIRST_LOOK = timedelta(minutes=1)
# The longest the ChatGPT outage can begin before its cycle's start (the anchor may sit 14
# minutes into a quarter-hour): the cycles that may touch a window are found with it.
LONGEST_LEAD = OUTAGE_LEAD + timedelta(minutes=15)
# A demo started again this soon after its cycle began carries on with that cycle (its outage
# still has a while to run); later, the schedule starts over at the new now.
RESUME_WITHIN = timedelta(minutes=30)
ISP_SERVICES = ("instagram", "youtube", "facebook")
REGIONAL_REGIONS = ("Sicily", "Calabria")
# Every service the demo's events touch: the random history leaves them alone, so their
# baselines and usual operator mix are clean and each event reads as what it is.
DEMO_EVENT_SERVICES = frozenset(
    {"chatgpt", "sora", "iliad", "netflix", "spotify", "playstation-network", *ISP_SERVICES}
)
# The demo's official ChatGPT page admits the outage this long after its first reports: the
# lead time the service page then shows (outages.official).
OFFICIAL_DELAY = timedelta(minutes=12)
OFFICIAL_SERVICE = "chatgpt"
# The demo reviewer decides a comment of the crowd once it has waited this long: a visitor
# logged in as the reviewer finds a few in the queue (simulator.reviewer).
COMMENT_REVIEW_AFTER = timedelta(minutes=5)
# Detection replays the last hours of the history (the demo's events and the resolved
# outage before them); the baselines are built from everything before.
DETECT_HOURS_BEFORE = timedelta(hours=4)


@dataclass(frozen=True, slots=True)
class ReviewStep:
    """A reviewer's decision on a service's incident, taken at `at` (or as soon after as
    the incident exists, until `at + patience`)."""

    at: datetime
    service: str
    action: str  # a ReviewAction kind: "confirm", "dismiss"
    reason: str = ""  # a dismissal reason: "abuse", "media", "false_alarm"
    note: str = ""
    patience: timedelta = timedelta(minutes=20)


def peak_bucket_end(anchor: datetime) -> datetime:
    """The end of the ChatGPT outage's peak bucket: the 15-minute boundary at or before
    minute 1, so the peak fills one whole clock-aligned bucket, the last one complete when a
    newcomer first looks."""
    seconds = math.floor((anchor + FIRST_LOOK).timestamp() / BLOCK_SECONDS) * BLOCK_SECONDS
    return datetime.fromtimestamp(seconds, UTC)


def _cycle_incidents(start: datetime, *, peak_end: datetime, volume: float) -> tuple[Incident, ...]:
    # Rise 15, plateau 15 (one whole bucket, ending at peak_end), then a tail that keeps
    # the outage plain for about an hour more, as on 31 March, when it lasted about an hour
    # and a half.
    chatgpt, sora = chatgpt_and_sora_outages(
        start=peak_end - OUTAGE_LEAD, rise=15, plateau=15, decay=10.0, label="31 March 2025, replayed"
    )
    chatgpt, sora = replace(chatgpt, comments="chatgpt"), replace(sora, comments="sora")
    # An Italian operator's mobile network down in two regions: its incident names only their
    # cities. (With the simulator's volumes a regional outage this size also moves the
    # national count; a smaller one would be too few reports to tell from noise.)
    regional = Outage(
        service="iliad",
        start=start + timedelta(minutes=1),
        peaks={"IT": 30},
        rise=5,
        plateau=25,
        decay=10.0,
        regions={"IT": REGIONAL_REGIONS},
        label=f"regional outage in {' and '.join(REGIONAL_REGIONS)}",
        comments="iliad-regional",
    )
    isp = tuple(
        replace(outage, comments="fastweb")
        for outage in isp_outage(
            "Fastweb",
            start + timedelta(minutes=1),
            {slug: baseline_italy(slug, volume) * 8 + 30 for slug in ISP_SERVICES},
        )
    )
    media = Outage(
        service="netflix",
        start=start + timedelta(minutes=2),
        peaks={"IT": round(baseline_italy("netflix", volume) * 6 + 25)},
        rise=5,
        plateau=10,
        decay=5.0,
        kind="media",
        label="media bump",
        comments="media",
    )
    flood = Flood(
        service="spotify",
        start=start + timedelta(minutes=20),
        reports=600,
        minutes=10,
        city="Milan",
        networks=3,
        label="flood: 600 reports from 3 networks in Milan",
    )
    return (chatgpt, sora, regional, *isp, media, flood)


def _cycle_reviews(start: datetime) -> tuple[ReviewStep, ...]:
    return (
        ReviewStep(
            at=start + timedelta(minutes=4),
            service="chatgpt",
            action="confirm",
            note="Demo reviewer: reports from every region and abroad, all problems at once.",
        ),
        ReviewStep(
            at=start + timedelta(minutes=25),
            service="netflix",
            action="dismiss",
            reason="media",
            note="Demo reviewer: a new series out today; people ask whether it is down, nothing fails.",
        ),
    )


@dataclass(frozen=True, slots=True)
class DemoSchedule:
    anchor: datetime
    volume: float = 1.0

    @property
    def first_cycle(self) -> datetime:
        """The first cycle's start: the anchor itself, so the events come when the README
        says, counted from when `make run` started."""
        return self.anchor

    @property
    def peak_end(self) -> datetime:
        """The end of the first cycle's ChatGPT peak bucket (peak_bucket_end)."""
        return peak_bucket_end(self.anchor)

    def resumes_at(self, moment: datetime) -> bool:
        """Whether a demo started again at `moment` should carry on with this schedule."""
        return self.first_cycle <= moment < self.first_cycle + RESUME_WITHIN

    def _cycles(self, start: datetime, end: datetime) -> range:
        """Numbers of the cycles whose events may touch [start, end)."""
        origin = self.first_cycle
        first = math.floor((start - LONGEST_EVENT - origin) / CYCLE)
        last = math.floor((end + LONGEST_LEAD - origin) / CYCLE)
        return range(max(first, 0), last + 1)

    def history_incidents(self) -> tuple[Incident, ...]:
        """What happened before the first cycle: a short outage, resolved by now."""
        return (
            Outage(
                service="playstation-network",
                start=self.first_cycle - timedelta(hours=3),
                peaks={"IT": 90, "US": 25, "GB": 5},
                rise=5,
                plateau=15,
                decay=5.0,
                label="PlayStation Network outage, resolved",
            ),
        )

    def incidents(self, start: datetime, end: datetime) -> tuple[Incident, ...]:
        """The events of every cycle that may add reports between start and end."""
        found: list[Incident] = []
        for number in self._cycles(start, end):
            found.extend(
                _cycle_incidents(
                    self.first_cycle + number * CYCLE,
                    peak_end=self.peak_end + number * CYCLE,
                    volume=self.volume,
                )
            )
        return tuple(incident for incident in found if incident.start < end and incident.end > start)

    def reviews(self, start: datetime, end: datetime) -> tuple[ReviewStep, ...]:
        """The reviewer's steps due between start and end (still within their patience)."""
        steps = [
            step
            for number in self._cycles(start, end)
            for step in _cycle_reviews(self.first_cycle + number * CYCLE)
        ]
        return tuple(step for step in steps if step.at < end and step.at + step.patience > start)


def official_indicator(schedule: DemoSchedule, moment: datetime) -> tuple[str, datetime]:
    """The demo's official ChatGPT status page at `moment`, as Atlassian Statuspage says it:
    (status.indicator, page.updated_at). "major" from OFFICIAL_DELAY after each of the
    schedule's ChatGPT outages begins until it ends, "none" otherwise."""
    outages = [
        incident
        for incident in schedule.incidents(moment - CYCLE - LONGEST_EVENT, moment + timedelta(seconds=1))
        if incident.service == OFFICIAL_SERVICE
    ]
    changes = sorted(
        [(outage.start + OFFICIAL_DELAY, "major") for outage in outages]
        + [(outage.end, "none") for outage in outages]
    )
    passed = [(at, indicator) for at, indicator in changes if at <= moment]
    if not passed:
        return "none", schedule.first_cycle - timedelta(days=1)
    at, indicator = passed[-1]
    return indicator, at


def detection_start(schedule: DemoSchedule) -> datetime:
    return schedule.first_cycle - DETECT_HOURS_BEFORE


@dataclass(frozen=True, slots=True)
class CrowdComment:
    text: str
    language: str


class DemoCrowd:
    """Normal life for every service plus the schedule's events, a window at a time.

    One Crowd (one seed) for the whole run, so its address pools keep handing out new
    addresses: a simulated person does not come back within the dedupe window. The
    comments are drawn from a generator of their own (same seed), so the reports are the
    same with or without them.
    """

    def __init__(self, services: Sequence[str], schedule: DemoSchedule, *, seed: int, places=None) -> None:
        self.schedule = schedule
        self.crowd = Crowd(services, seed=seed, volume=schedule.volume, places=places)
        self._comment_rng = np.random.default_rng([seed, 2])

    def window(self, start: datetime, end: datetime) -> Batch:
        """The reports sent between start and end, in time order."""
        out = self.crowd.normal(start, end)
        for incident in self.schedule.incidents(start, end):
            self.crowd.incident(incident, out)
        return self.crowd.batch(out, since=start, until=end)

    def comments(self, batch: Batch, start: datetime, end: datetime) -> dict[int, CrowdComment]:
        """The comments a few of the window's event reports carry, by row of `batch` (the
        window from `start` to `end`): each event's share of its reports, a line of its
        pool in the reporter's language (simulator.comments)."""
        found: dict[int, CrowdComment] = {}
        for incident in self.schedule.incidents(start, end):
            if not isinstance(incident, Outage) or incident.comments not in POOLS:
                continue
            if incident.service not in batch.services:
                continue
            pool = POOLS[incident.comments]
            rows = np.flatnonzero(
                (batch.service == batch.services.index(incident.service))
                & (batch.kind == KINDS.index(incident.kind))
                & (batch.seconds >= incident.start.timestamp())
                & (batch.seconds < incident.end.timestamp())
            )
            for row in rows[self._comment_rng.random(len(rows)) < pool.share].tolist():
                place = batch.places[int(batch.place[row])]
                language = comment_language(place.country_code)
                lines = pool.lines_in(language)
                if row in found or not lines:
                    continue
                line = lines[int(self._comment_rng.integers(len(lines)))]
                found[row] = CrowdComment(line.render(city_as_written(place.name, language)), language)
        return found


def demo_posts(
    crowd: DemoCrowd,
    *,
    start: datetime,
    speed: float = 1.0,
    window: timedelta = timedelta(minutes=1),
    problem_of: Callable[[str, str], str] = lambda service, problem: problem,
) -> Iterator[Post]:
    """The crowd's reports from `start` on, for ever, each due `speed` times sooner than
    its simulated time (1: real time), a few with a comment. Drawn a window at a time, as
    they are taken."""
    moment = start
    while True:
        batch = crowd.window(moment, moment + window)
        comments = crowd.comments(batch, moment, moment + window)
        for row, report in enumerate(batch):
            comment = comments.get(row)
            yield Post(
                due=(report.created_at - start).total_seconds() / speed,
                service=report.service,
                problem=problem_of(report.service, report.problem),
                client_ip=report.client_ip,
                comment=comment.text if comment else "",
                language=comment.language if comment else "",
            )
        moment += window
