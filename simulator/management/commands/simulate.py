"""Fill the database with a realistic crowd, replay a scenario, or load a running server.

    simulate --days 28 [--services chatgpt sora ...] [--seed N]
    simulate --scenario chatgpt-2025-03-31 [--at now | --at 2025-03-31T17:00+02:00]
    simulate --live --url http://127.0.0.1:8000 --rate 200 --duration 60
    simulate --demo                      # `make run`: top the demo's history up to now
    simulate --demo --live --target http://127.0.0.1:8000 [--speed 60]   # its crowd

Backfill goes through reports_ingest_bulk and reports_aggregate_all, the same rules as a
live report (geolocation, hashing, dedupe, counting), then runs detection over the period.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import secrets
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalogue.models import ProblemType, Service
from outages.baselines import baselines_rebuild
from outages.detection_pass import detection_run_range
from outages.models import Incident
from outages.tasks import detection_pass_notify
from reports import dialect
from reports.aggregation import IncomingReport, reports_aggregate, reports_aggregate_all, reports_ingest_bulk
from reports.models import Report, Source
from simulator import places
from simulator.crowd import KINDS, Batch, Crowd
from simulator.demo import (
    DEMO_EVENT_SERVICES,
    OFFICIAL_SERVICE,
    DemoCrowd,
    DemoSchedule,
    ReviewStep,
    demo_posts,
    detection_start,
    official_indicator,
)
from simulator.live import LiveResult, live_post, live_stream, server_wait
from simulator.official_page import DEMO_OFFICIAL_PORT, official_page_serve, official_page_url
from simulator.reviewer import DEMO_REVIEWER, demo_comments_review, demo_reviewer_ensure, demo_reviews_apply
from simulator.scenarios import ROME, SCENARIOS, Plan, incidents_random, plan_backfill, scenario_get

# Where `--demo` tells the demo's crowd when its history ends and its schedule began.
DEMO_CLOCK_FILE = "demo-clock.json"
# The demo reviewer looks at the comments waiting for review this often (real time).
DEMO_COMMENTS_EVERY = 15.0
# A crowd started this long after the history was loaded starts at its own now: it does not
# send a backlog of reports the server would stamp all at once.
DEMO_CATCH_UP = dt.timedelta(minutes=15)


def history_source(*, demo: bool) -> Source:
    """How the simulated history's reports are marked: as simulated, except the living demo's.
    The demo's history is the past of its crowd, which posts through POST /api/v1/reports/
    (Source.API), and the review flags compare an incident's API share with its service's
    usual one (outages.review.selectors): a history marked otherwise made every live incident
    "100% API" against a usual 0%."""
    return Source.API if demo else Source.SIMULATED


class Command(BaseCommand):
    help = "Simulate a crowd of reporters: backfill history, replay a scenario, or post to a live server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=float, help="days of history (default 28; with --demo, 7)")
        parser.add_argument("--services", nargs="+", metavar="SLUG", help="default: every active service")
        parser.add_argument("--seed", type=int, default=1, help="same seed, same reports (default 1)")
        parser.add_argument("--volume", type=float, default=1.0, help="scale normal traffic (default 1)")
        parser.add_argument("--scenario", choices=sorted(SCENARIOS), help="replay a named event")
        parser.add_argument(
            "--at", help="with --scenario: 'now' (the peak is happening now) or an ISO date-time for the peak"
        )
        parser.add_argument("--no-detect", action="store_true", help="backfill only, skip detection")
        parser.add_argument(
            "--detect-days",
            type=float,
            help="replay detection over the last N days only (default: the whole backfill, or a scenario's day)",
        )
        parser.add_argument("--live", action="store_true", help="post reports to a running server")
        parser.add_argument(
            "--url", "--target", dest="url", default="http://127.0.0.1:8000", help="with --live: the server"
        )
        parser.add_argument("--rate", type=float, default=200, help="with --live: reports per second")
        parser.add_argument(
            "--duration",
            type=float,
            help="with --live: seconds to run (default 60; with --demo, until stopped)",
        )
        parser.add_argument(
            "--demo",
            action="store_true",
            help="the living demo: alone, top its history up to now (what `make run` loads); "
            "with --live, be its crowd: normal life and the demo's events, posted in real time",
        )
        parser.add_argument(
            "--speed",
            type=float,
            default=1.0,
            help="with --demo --live: simulated minutes per real minute (default 1; the server "
            "still stamps each report when it arrives)",
        )
        parser.add_argument(
            "--reviewer-password",
            help="with --demo: the demo reviewer's password (default: a new random one)",
        )
        parser.add_argument("--workers", type=int, default=16, help="with --live: concurrent connections")
        parser.add_argument(
            "--official-port",
            type=int,
            default=DEMO_OFFICIAL_PORT,
            help="with --demo --live: serve ChatGPT's official status page (Statuspage JSON) on "
            "127.0.0.1 at this port, the one the demo's history names (0: none)",
        )
        parser.add_argument(
            "--build-places",
            action="store_true",
            help="re-sample cities and networks from the city database (about 90 s) and exit",
        )

    def handle(self, *args, **options) -> None:
        if options["build_places"]:
            return self._build_places()
        if options["days"] is None:
            options["days"] = 7 if options["demo"] else 28
        slugs = self._slugs(options)
        if options["demo"] and options["live"]:
            return self._demo_live(slugs, options)
        if options["demo"]:
            return self._demo_history(slugs, options)
        if options["live"]:
            return self._live(slugs, options)
        now = timezone.now()
        if options["scenario"]:
            at = self._at(options["at"], now)
            plan = scenario_get(options["scenario"]).plan(
                days=options["days"], at=at, seed=options["seed"], volume=options["volume"]
            )
            # Only what the catalogue has, and nothing in the future.
            plan = replace(
                plan,
                services=tuple(slug for slug in plan.services if slug in slugs),
                until=min(plan.until or now, now),
            )
        else:
            plan = plan_backfill(
                slugs, days=options["days"], now=now, seed=options["seed"], volume=options["volume"]
            )
        if options["detect_days"] is not None:
            end = plan.until or plan.end
            plan = replace(plan, detect_from=max(plan.start, end - dt.timedelta(days=options["detect_days"])))
        self._backfill(plan, options)

    # -- options ---------------------------------------------------------------------------

    def _slugs(self, options) -> list[str]:
        active = list(Service.objects.active().values_list("slug", flat=True))
        if options["scenario"] and not options["services"]:
            wanted = list(scenario_get(options["scenario"]).services)
            missing = [slug for slug in wanted if slug not in active]
            if missing:
                self.stderr.write(f"not in the catalogue, skipped: {', '.join(missing)}")
            return [slug for slug in wanted if slug in active]
        if not options["services"]:
            return active
        unknown = sorted(set(options["services"]) - set(active))
        if unknown:
            raise CommandError(f"unknown or inactive services: {', '.join(unknown)}")
        return list(options["services"])

    def _at(self, value: str | None, now: dt.datetime) -> dt.datetime | None:
        if value is None:
            return None
        if value == "now":
            return now
        moment = parse_datetime(value)
        if moment is None:
            raise CommandError(f"--at wants 'now' or an ISO date-time, not {value!r}")
        # A time without an offset is Italian time, as the scenarios are told.
        return moment if timezone.is_aware(moment) else moment.replace(tzinfo=ROME)

    # -- modes -----------------------------------------------------------------------------

    def _build_places(self) -> None:
        started = time.monotonic()
        built = places.places_build(settings.GEOIP_PATH, progress=lambda line: self.stdout.write(line))
        places.places_load.cache_clear()
        self.stdout.write(
            f"{len(built)} cities, {sum(len(place.networks) for place in built)} networks "
            f"written to {places.PLACES_PATH} in {time.monotonic() - started:.0f} s"
        )

    def _backfill(self, plan: Plan, options) -> None:
        services = {service.slug: service for service in Service.objects.filter(slug__in=plan.services)}
        problem_of = problem_mapper(plan.services)

        started = time.monotonic()
        batch = plan.generate(seed=options["seed"], volume=options["volume"])
        generated = time.monotonic() - started
        kinds = Counter(KINDS[kind] for kind in batch.kind.tolist())
        self.stdout.write(
            f"generated {len(batch):,} reports for {len(plan.services)} services, "
            f"{plan.start:%Y-%m-%d %H:%M} to {(plan.until or plan.end):%Y-%m-%d %H:%M} UTC in {generated:.1f} s "
            f"({', '.join(f'{kind} {count:,}' for kind, count in kinds.items())})"
        )
        for incident in plan.incidents:
            if incident.service in services and (plan.until is None or incident.start < plan.until):
                self.stdout.write(
                    f"  {incident.start.astimezone(ROME):%Y-%m-%d %H:%M} {incident.service}: {incident.label}"
                )

        started = time.monotonic()
        # On PostgreSQL the counting runs beside the ingest, as the beat job does beside
        # live traffic: the database's work overlaps the Python work of the next batches.
        # SQLite takes one writer at a time, so it counts afterwards.
        counting = _Aggregator() if dialect.is_postgresql() else None
        if counting:
            counting.start()
        try:
            counted = reports_ingest_bulk(
                reports=self._incoming(
                    batch, services, problem_of, source=history_source(demo=options["demo"])
                )
            )
        finally:
            aggregated = counting.stop() if counting else 0
        aggregated += reports_aggregate_all()
        self.stdout.write(
            f"ingested {len(batch):,} reports ({counted:,} counted), aggregated {aggregated:,}, "
            f"in {time.monotonic() - started:.1f} s"
        )
        if not options["no_detect"]:
            self._detect(plan)

    def _incoming(self, batch: Batch, services: dict[str, Service], problem_of: ProblemOf, *, source: Source):
        for chunk in batch.chunks(5000):
            for report in chunk:
                service = services[report.service]
                yield IncomingReport(
                    service_id=service.pk,
                    problem=problem_of(report.service, report.problem),
                    client_ip=report.client_ip,
                    created_at=report.created_at,
                    source=source,
                )

    def _detect(self, plan: Plan) -> None:
        # Baselines first, as detection_run_range asks. A scenario has history before the
        # replayed day: build them at its midnight, as the nightly rebuild would have, so the
        # outage is judged against what was known before it. A plain backfill has no earlier
        # history, so its baselines come from the whole period.
        start, end = plan.detect_range
        started = time.monotonic()
        baselines_rebuild(now=start if plan.detect_from else end)
        result = detection_pass_notify(lambda: detection_run_range(start=start, end=end))
        opened = Incident.objects.filter(started_at__gte=start, started_at__lte=end)
        self.stdout.write(
            f"detection over {result.minutes:,} minutes in {time.monotonic() - started:.1f} s: "
            f"{result.opened} incidents opened, {result.resolved} resolved"
            + (" (another detection pass holds the lock: run it again)" if result.busy else "")
        )
        for incident in opened.select_related("service").order_by("started_at"):
            self.stdout.write(
                f"  {incident.started_at.astimezone(ROME):%Y-%m-%d %H:%M} {incident.service.slug}: "
                f"peak {incident.peak_count} at {incident.peak_at.astimezone(ROME):%H:%M}, {incident.status}"
            )

    def _live(self, slugs: list[str], options) -> None:
        duration = 60.0 if options["duration"] is None else options["duration"]
        if options["rate"] <= 0 or duration <= 0:
            raise CommandError("--rate and --duration must be positive")
        options = {**options, "duration": duration}
        count = math.ceil(options["rate"] * options["duration"])
        services, problems, client_ips = Crowd(slugs, seed=options["seed"]).sample(count)
        self.stdout.write(
            f"posting up to {count:,} reports to {options['url']} at {options['rate']:g}/s "
            f"for {options['duration']:g} s (the server must run with TRUSTED_PROXY_COUNT=1)"
        )
        tty = sys.stdout.isatty()

        def progress(result: LiveResult, total: int) -> None:
            line = (
                f"{result.posted:,}/{total:,} posted, {result.rate:.0f}/s, "
                f"{', '.join(f'{code}: {n}' for code, n in sorted(result.statuses.items()))}"
                f"{f', errors: {result.errors}' if result.errors else ''}"
            )
            self.stdout.write(line, ending="\r" if tty else "\n")
            self.stdout.flush()

        result = live_post(
            url=options["url"],
            services=services,
            problems=problems,
            client_ips=client_ips,
            rate=options["rate"],
            duration=options["duration"],
            workers=options["workers"],
            progress=progress,
        )
        self.stdout.write(("\n" if tty else "") + result.summary())

    # -- the living demo -------------------------------------------------------------------

    def _demo_history(self, slugs: list[str], options) -> None:
        """History up to now: a week on a fresh database, else the gap since the last report.
        The schedule is anchored at now, so its ChatGPT outage is in progress, unless the
        last run's cycle has just begun: then it carries on, its outage still running."""
        now = timezone.now()
        last = Report.objects.aggregate(last=Max("created_at"))["last"]
        start = now - dt.timedelta(days=options["days"])
        previous = self._demo_clock_read()
        if last is not None and previous is not None and previous.schedule.resumes_at(now):
            # The last run's cycle, from where it left off (its load's end, or the crowd's last
            # report): nothing it loaded or sent is loaded again.
            resumed = True
            schedule = previous.schedule
            start = since = max(start, min(max(last, previous.loaded_until), now))
        else:
            # A new cycle. Normal life from the last report on, if any; the cycle's events in
            # full, its outage's first half hour included.
            resumed = False
            schedule, since = DemoSchedule(anchor=now, volume=options["volume"]), None
            if last is not None:
                start = max(start, min(last, now))
        detect_from = max(start, detection_start(schedule))
        history: tuple = ()
        if last is None:
            # A believable week on the services the demo's own events leave alone: the
            # others keep a clean baseline and a clean operator mix.
            quiet = [slug for slug in slugs if slug not in DEMO_EVENT_SERVICES]
            history = incidents_random(
                quiet, start, detect_from, seed=options["seed"], volume=options["volume"]
            )
        earlier = tuple(incident for incident in schedule.history_incidents() if incident.start >= start)
        plan = Plan(
            services=tuple(slugs),
            start=start,
            end=now,
            incidents=history + earlier + schedule.incidents(start, now),
            until=now,
            since=since,
            detect_from=detect_from,
        )
        self.stdout.write(
            f"Demo history from {start.astimezone(ROME):%Y-%m-%d %H:%M} to {now.astimezone(ROME):%H:%M} "
            f"(Italian time), {'a fresh load' if last is None else 'topped up since the last report'}, "
            f"{'carrying on with' if resumed else 'starting'} the demo's schedule of "
            f"{schedule.first_cycle.astimezone(ROME):%H:%M}"
        )
        self._backfill(plan, {**options, "no_detect": False})
        clock = {
            "anchor": schedule.anchor.isoformat(),
            "loaded_until": now.isoformat(),
            "volume": schedule.volume,
        }
        (settings.VAR_DIR / DEMO_CLOCK_FILE).write_text(json.dumps(clock))
        # The official status page the crowd serves (simulator.official_page), polled by
        # outages.official when the server allows loopback pages (make run does).
        Service.objects.filter(slug=OFFICIAL_SERVICE).update(
            official_format=Service.OfficialFormat.STATUSPAGE,
            official_url=official_page_url(DEMO_OFFICIAL_PORT),
            status_page_url=official_page_url(DEMO_OFFICIAL_PORT, summary=False),
        )
        password = options["reviewer_password"] or secrets.token_urlsafe(9)
        demo_reviewer_ensure(password=password)
        self.stdout.write(
            f"Demo reviewer: log in at /accounts/login/ as {DEMO_REVIEWER}, password {password} "
            "(the review queue is /review/)"
        )

    def _demo_clock_read(self) -> _DemoClock | None:
        try:
            clock = json.loads((settings.VAR_DIR / DEMO_CLOCK_FILE).read_text())
            schedule = DemoSchedule(
                anchor=dt.datetime.fromisoformat(clock["anchor"]), volume=float(clock.get("volume", 1.0))
            )
            return _DemoClock(
                schedule=schedule, loaded_until=dt.datetime.fromisoformat(clock["loaded_until"])
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _demo_clock(self, now: dt.datetime) -> tuple[DemoSchedule, dt.datetime]:
        """The schedule and where the crowd starts: from the history's clock file, or now for
        a server whose history the demo did not load."""
        found = self._demo_clock_read()
        if found is None:
            self.stderr.write("no demo history on this machine (simulate --demo): the schedule starts now")
            return DemoSchedule(anchor=now), now
        recent = dt.timedelta(0) <= now - found.loaded_until <= DEMO_CATCH_UP
        return found.schedule, found.loaded_until if recent else now

    def _demo_live(self, slugs: list[str], options) -> None:
        speed, duration = options["speed"], options["duration"]
        if speed <= 0 or (duration is not None and duration <= 0):
            raise CommandError("--speed and --duration must be positive")
        now = timezone.now()
        schedule, start = self._demo_clock(now)
        crowd = DemoCrowd(slugs, schedule, seed=options["seed"] + int(start.timestamp()) // 60)
        posts = demo_posts(
            crowd,
            start=start,
            speed=speed,
            problem_of=problem_mapper(slugs),
        )
        reviewer = User.objects.filter(username=DEMO_REVIEWER).first()
        self.stdout.write(
            f"demo crowd: {len(slugs)} services from {start.astimezone(ROME):%H:%M} Italian time, "
            f"schedule of {schedule.first_cycle.astimezone(ROME):%H:%M}, x{speed:g}, posting to {options['url']} "
            f"(the server must trust one proxy hop: TRUSTED_PROXY_COUNT=1)"
            + ("" if reviewer else f"; no {DEMO_REVIEWER} account, so no review actions")
        )
        if not server_wait(options["url"], timeout=60):
            self.stderr.write(f"{options['url']} does not answer yet; posting anyway")
        done: set[ReviewStep] = set()
        began = time.monotonic()
        last_line = [began]
        last_comments = [began]

        def simulated_now() -> dt.datetime:
            return start + dt.timedelta(seconds=(time.monotonic() - began) * speed)

        self._official_page_start(options["official_port"], schedule, simulated_now)

        def tick(result: LiveResult) -> None:
            sim_now = simulated_now()
            if reviewer is not None:
                steps = schedule.reviews(sim_now - dt.timedelta(hours=1), sim_now)
                try:
                    for line in demo_reviews_apply(steps, reviewer=reviewer, now=sim_now, done=done):
                        self.stdout.write(line)
                    if time.monotonic() - last_comments[0] >= DEMO_COMMENTS_EVERY:
                        for line in demo_comments_review(reviewer=reviewer, now=sim_now):
                            self.stdout.write(line)
                        last_comments[0] = time.monotonic()
                except DatabaseError as error:
                    # A busy database (SQLite under make run): the step is tried again next tick.
                    # Never end the crowd over it: honcho would stop all of make run with it.
                    self.stderr.write(f"demo reviewer: {error}; trying again")
                finally:
                    connection.close()  # hours between steps: no connection held open meanwhile
            if time.monotonic() - last_line[0] >= 60:
                last_line[0] = time.monotonic()
                self.stdout.write(f"{sim_now.astimezone(ROME):%H:%M} {result.summary()}")

        result = live_stream(
            url=options["url"], posts=posts, duration=duration, workers=options["workers"], progress=tick
        )
        self.stdout.write(result.summary())

    def _official_page_start(
        self, port: int, schedule: DemoSchedule, clock: Callable[[], dt.datetime]
    ) -> None:
        """ChatGPT's official status page, red some minutes after the crowd is
        (simulator.demo.official_indicator), for as long as the crowd runs."""
        if port <= 0:
            return
        try:
            official_page_serve(
                host="127.0.0.1",
                port=port,
                name="ChatGPT",
                state=lambda: official_indicator(schedule, clock()),
            )
        except OSError as error:
            # Never end the crowd over it: honcho would stop all of make run with it.
            self.stderr.write(f"official status page not served on 127.0.0.1:{port}: {error}")
            return
        self.stdout.write(f"ChatGPT's official status page (demo): {official_page_url(port)}")


ProblemOf = Callable[[str, str], str]


def problem_mapper(slugs: Iterable[str]) -> ProblemOf:
    """(service, simulated problem) -> a problem the service offers: "other" for one it does
    not (a service with no problem types of its own takes any)."""
    offered: dict[str, set[str]] = {}
    for slug, code in ProblemType.objects.filter(service__slug__in=list(slugs)).values_list(
        "service__slug", "code"
    ):
        offered.setdefault(slug, set()).add(code)

    def problem_of(slug: str, problem: str) -> str:
        codes = offered.get(slug)
        return problem if not codes or problem in codes else "other"

    return problem_of


@dataclass(frozen=True, slots=True)
class _DemoClock:
    """What `simulate --demo` leaves for the crowd and the next load (var/demo-clock.json)."""

    schedule: DemoSchedule
    loaded_until: dt.datetime


class _Aggregator(threading.Thread):
    """reports_aggregate in a loop until stopped, on the thread's own connection: it sees
    each ingested batch once committed, and SKIP LOCKED keeps it apart from any other worker."""

    def __init__(self) -> None:
        super().__init__(name="simulate-aggregate", daemon=True)
        self._stopping = threading.Event()
        self._error: BaseException | None = None
        self.total = 0

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                done = reports_aggregate()
                self.total += done
                if not done:
                    self._stopping.wait(0.2)
        except BaseException as exc:  # re-raised by stop() in the command's thread
            self._error = exc
        finally:
            connection.close()

    def stop(self) -> int:
        """Stop after the current batch; returns how many reports it counted."""
        self._stopping.set()
        self.join()
        if self._error is not None:
            raise self._error
        return self.total
