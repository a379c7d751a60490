"""Verdict bench: scenarios with a known answer, through the real ingest and detection passes.

    .venv/bin/python -m bench.verdicts [--only NAME ...]

Creates a fresh PostgreSQL database `downradar_bench_verdicts` (BENCH_VERDICTS_DB=... to
name another) on the server of DATABASE_URL (default postgres@127.0.0.1:5432), migrates it,
and runs each scenario in a transaction rolled back at its end, so each starts on a fresh,
quiet ChatGPT: a learned baseline (a flat one, as the tests build it:
tests.detection_helpers.flat_baseline), its cities' baselines (the same, in proportion to each
city's share of the usual audience: audience_cities) and its usual operator mix
(tests.test_networks.usual_mix: TIM 40%, Vodafone 25%, WindTre 20%, Fastweb 15%). Every
person is a browser: it visits the service page once and keeps the device cookie it sets
(reports.devices); every report is then a POST to /api/v1/reports/ with that cookie, through
Django's test client, its address in X-Forwarded-For behind one trusted proxy
(TRUSTED_PROXY_COUNT=1), at the production per-address budget; the clock is frozen at each
report's moment (time_machine). After each minute the live pass runs
(outages.detection_pass.detection_run, as beat runs it) and the world status row is read.

The verdict given is read off what the public sees: the status and reason of the row at its
worst minute (outage over warning over ok; the last such minute; minutes that say
`recovering`, when the reports are back to normal, are not read), unless the last minute
says `dismissed`. "outage at" is the first minute the status said `outage`. Reasons map to labels: flood_suspected -> flood, isp -> isp, few_reports
-> few_reports, dismissed -> dismissed; an outage status or an incident opened otherwise
-> outage, or regional when cities spike while the national counts are usual; anything else (ok, or a warning with no
incident) -> ok, which is also what a media bump and a busy day should give. The truth is
each scenario's label, never what the system produced. Printed: a table per scenario and
the confusion matrix (expected x given). Addresses and their order come from fixed seeds, and
no wall clock is read; the device ids are random, as the page issues them, so the reports
counted behind shared addresses (the device slots they fall in) vary by a few between runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LABELS = ("outage", "regional", "isp", "flood", "few_reports", "ok", "dismissed")
SEVERITY = {"ok": 0, "warning": 1, "outage": 2}
REPORT = {"service": "chatgpt", "problem": "login"}
PROXY = "127.0.0.1"  # the trusted reverse proxy every report comes through
NOTE = "A TV show asked viewers to try ChatGPT."
# Operators under 2% of ChatGPT's usual mix: one address in each of 14 /24s.
HOSTING = [
    "88.198.10.7",
    "88.99.10.7",
    "95.216.10.7",
    "135.181.10.7",
    "51.38.10.7",
    "51.38.11.7",
    "51.15.20.7",
    "51.15.21.7",
    "167.99.10.7",
    "46.101.10.7",
    "3.120.10.7",
    "54.93.10.7",
    "5.189.150.7",
    "139.162.10.7",
]
# Three mobile carriers' carrier-grade NAT: 16 public addresses each, in one /24 of a usual
# operator's prefix, shared by everyone on that carrier nearby.
CGNAT = [f"{net}.{host}" for net in ("79.40.100", "37.180.20", "151.20.30") for host in range(1, 17)]
# Four households' IPv6 /48s, one of each usual operator (a home is delegated a /56 or a /48,
# and can send from any of its /64s).
V6_HOMES = ("2a01:2000:77", "2a01:820:77", "2a02:b000:77", "2001:b00:77")
# Hosting networks: six IPv6 /64s and Scaleway's 51.15.9.0/24 (tests.test_networks' flood).
HOSTING_64S = ["2a01:4f8:1:2", "2001:41d0:1:2", "2a01:e10:1:2", "2604:a880:800:10", "2600:1f18:1:2"]


@dataclass(frozen=True)
class Post:
    at: dt.datetime
    ip: str
    # The person's browser: it visits the service page once, keeps the device cookie the
    # page sets (reports.devices) and sends it with each report, as a browser would. A new
    # name is a new browser: someone cycling cookies is a new name per report.
    person: str = ""


@dataclass
class Scenario:
    name: str
    expected: str
    what: str
    posts: list[Post]
    minutes: int  # live passes at T0 + start + 1 .. T0 + minutes
    per_minute: float = 0.5  # the learned baseline
    dismiss_at: int | None = None  # a reviewer dismisses after this minute's pass
    start: int = 0  # the first minute (from T0) with reports and passes


@dataclass
class Outcome:
    scenario: Scenario
    answers: dict[int, int]
    peak: tuple[str, str, bool]  # status, reason, regional (only cities up) at the worst minute
    peak_minute: int
    end: tuple[str, str, bool]
    incident: str  # "" or the incident's review status
    given: str = field(default="")
    outage_at: int | None = None  # the first minute (from T0) the status read `outage`

    @property
    def right(self) -> bool:
        return self.given == self.scenario.expected


def _t0() -> dt.datetime:
    from tests.detection_helpers import T0

    return T0


def over(addresses: list[str], *, start: int, minutes: float, seed: int) -> list[Post]:
    """One report per address in a seeded order, spread evenly over `minutes` from T0 + start."""
    order = list(enumerate(addresses))
    random.Random(seed).shuffle(order)
    t0 = _t0() + dt.timedelta(minutes=start)
    return [
        Post(t0 + dt.timedelta(seconds=60 * minutes * i / len(order)), ip, f"{seed}:{k}")
        for i, (k, ip) in enumerate(order)
    ]


def audience(count: int, *, seed: int) -> list[str]:
    """`count` addresses of the usual operators in their usual shares, each in its own /24,
    drawn at random (seeded) from their prefixes: for crowds larger than the tests' evenly
    spaced ones (tests.test_networks.national_crowd)."""
    from tests.test_networks import USUAL

    rng = random.Random(seed)
    found = []
    for share, prefixes in USUAL.values():
        nets = [ipaddress.ip_network(p) for p in prefixes]
        picked: set[tuple[int, int]] = set()
        while len(picked) < round(count * share):
            k = rng.randrange(len(nets))
            picked.add((k, rng.randrange(nets[k].num_addresses // 256)))
        found += [str(nets[k][i * 256 + rng.randrange(2, 254)]) for k, i in sorted(picked)]
    return found


def audience_cities() -> dict:
    """Each city of the usual audience (`audience`) and its share of it: the cities' usual
    baselines are the service's in these proportions, as a rebuild on that audience's history
    would give them. Without them, any city the crowd reaches has no usual at all and a busy
    day reads as regional."""
    from geo.lookup import locate
    from geo.services import city_for_location

    sample = audience(2000, seed=200)
    found: dict = {}
    for ip in sample:
        location = locate(ipaddress.ip_address(ip))
        city = city_for_location(location) if location else None
        if city is not None:
            found[city] = found.get(city, 0) + 1
    return {city: count / len(sample) for city, count in found.items()}


def ramp(addresses: list[str], per_minute: list[float], *, seed: int, start: int = 0) -> list[Post]:
    """Reports at the given rate minute by minute from T0 + start, from the addresses in a
    seeded order."""
    order = list(enumerate(addresses))
    random.Random(seed).shuffle(order)
    posts, taken = [], 0
    for minute, rate in enumerate(per_minute):
        n = round(rate)
        for k in range(n):
            at = _t0() + dt.timedelta(minutes=start + minute, seconds=60 * k / n)
            person, ip = order[taken]
            posts.append(Post(at, ip, f"{seed}:{person}"))
            taken += 1
    return posts


def cycling(addresses: list[str], reports: int, *, minutes: float, seed: int) -> list[Post]:
    """Each address a person sending `reports` reports over `minutes`, with a fresh device
    cookie every time (a new browser: the page visited again without the old cookie)."""
    posts = over([ip for ip in addresses for _ in range(reports)], start=0, minutes=minutes, seed=seed)
    return [Post(post.at, post.ip, f"{post.person}#cycled") for post in posts]


def phones(prefix: str, count: int) -> list[str]:
    """`count` phones of one mobile /48, each its own /64 (as carriers hand them out)."""
    network = ipaddress.ip_network(prefix)
    return [str(network[(k + 1) << 64 | 1]) for k in range(count)]


def scenarios() -> list[Scenario]:
    from tests.test_networks import ROME, national_crowd, spread

    crowd = national_crowd
    vodafone = spread("2.40.0.0/13", 75, step=27) + spread("37.176.0.0/13", 75, step=23)
    # 270 people behind the 48 carrier addresses, and 30 at home (90% on mobile).
    people = [CGNAT[i % len(CGNAT)] for i in range(270)] + audience(30, seed=40)
    hosting_flood = [f"{p}::{i + 1:x}" for p in HOSTING_64S for i in range(30)]
    hosting_flood += [f"51.15.9.{i + 1}" for i in range(30)]
    one_24 = [f"51.15.9.{i + 1}" for i in range(60)]
    trickle = crowd(8)
    rome = [ip for ips in ROME.values() for ip in ips]
    # Two IPv6 /48s of a tunnel broker (free for the asking), a /64 for each report.
    masking = [f"2001:470:{h + 1:x}:{k + 1:x}::1" for h in range(2) for k in range(120)]
    media = [4 + 8 * min(m, 20) / 20 if m < 20 else 12 - 8 * (m - 20) / 20 for m in range(40)]
    # A failure that spreads: the media bump's first 20 minutes, then it stays at 3x. Until
    # the bump turns, no count can tell the two apart.
    spreading = [4 + 8 * min(m, 20) / 20 for m in range(40)]
    # 310 phones on IPv6, in the usual operators' shares: 130 of TIM in one /48 (more than
    # an ordinary /48's 120 an hour), Vodafone 75 in one, Wind Tre 60 in two, and 45 Fastweb
    # homes, each its own /48.
    mobile = (
        phones("2a01:2000:10::/48", 130)
        + phones("2a01:820:10::/48", 75)
        + phones("2a02:b000:10::/48", 30)
        + phones("2a02:b000:20::/48", 30)
        + [f"2001:b00:{k + 1:x}::1" for k in range(45)]
    )
    return [
        Scenario(
            "national",
            "outage",
            "150 people of the usual audience, each from its own /24, over 10 minutes",
            over(crowd(150), start=0, minutes=10, seed=1),
            minutes=14,
        ),
        Scenario(
            "regional",
            "regional",
            "72 people in Rome over its four operators, over 10 minutes, on a busy service (20/min)",
            over(rome, start=0, minutes=10, seed=2),
            minutes=14,
            per_minute=20,
        ),
        Scenario(
            "isp",
            "isp",
            "150 Vodafone Italia customers across its prefixes (usually 25%), over 10 minutes",
            over(vodafone, start=0, minutes=10, seed=3),
            minutes=14,
        ),
        Scenario(
            "cgnat",
            "outage",
            "300 people, 270 behind 3 carriers x 16 CGNAT addresses, 30 at home, over 10 minutes",
            over(people, start=0, minutes=10, seed=4),
            minutes=14,
        ),
        Scenario(
            "mobile_v6",
            "outage",
            "310 phones, each its own /64: 130 in one TIM /48, 75 in one Vodafone /48, 60 in two "
            "Wind Tre /48s, 45 Fastweb homes, over 10 minutes",
            over(mobile, start=0, minutes=10, seed=13),
            minutes=14,
        ),
        Scenario(
            "flood",
            "flood",
            "210 requests from 5 hosting /64s and one hosting /24, over 10 minutes",
            over(hosting_flood, start=0, minutes=10, seed=5),
            minutes=14,
        ),
        Scenario(
            "paused_flood",
            "flood",
            "60 reports from one hosting /24 in 5 minutes, then 8 residential 17 minutes later",
            over(one_24, start=0, minutes=5, seed=6) + over(trickle, start=22, minutes=2, seed=7),
            minutes=30,
        ),
        Scenario(
            "masked",
            "outage",
            "the national outage's 150 people, and beside them 240 reports from 2 hosting IPv6 /48s "
            "(a /64 each), over the same 10 minutes",
            over(crowd(150), start=0, minutes=10, seed=1) + over(masking, start=0, minutes=10, seed=17),
            minutes=14,
        ),
        Scenario(
            "handful",
            "few_reports",
            "15 residential addresses in 15 /24s of the usual operators, within 3 minutes",
            over(crowd(15), start=0, minutes=3, seed=8),
            minutes=8,
        ),
        Scenario(
            "handful_city",
            "few_reports",
            "15 residential addresses in Rome over its four operators, within 3 minutes, on a "
            "service with its ordinary reports (4/min, from an hour before)",
            over(random.Random(19).sample(rome, 15), start=0, minutes=3, seed=19)
            + ramp(audience(400, seed=130), [4] * 68, seed=20, start=-60),
            minutes=8,
            per_minute=4,
            start=-60,
        ),
        Scenario(
            "handful_cookies",
            "few_reports",
            "12 residential addresses of the usual operators, each sending 20 reports with a "
            "fresh device cookie every time, within 3 minutes",
            cycling(random.Random(14).sample(crowd(40), 12), 20, minutes=3, seed=14),
            minutes=8,
        ),
        Scenario(
            "hosting",
            "few_reports",
            "14 hosting and 16 residential addresses, each its own /24, within 3 minutes",
            over(HOSTING + random.Random(9).sample(crowd(40), 16), start=0, minutes=3, seed=9),
            minutes=8,
        ),
        Scenario(
            "v6_homes",
            "few_reports",
            "4 homes of TIM, Vodafone, Wind Tre and Fastweb, each its own IPv6 /48, each sending "
            "30 reports from 30 of its /64s within 3 minutes",
            over(
                [f"{home}:{k + 1:x}::1" for home in V6_HOMES for k in range(30)], start=0, minutes=3, seed=15
            ),
            minutes=8,
        ),
        Scenario(
            "v6_homes_one_prefix",
            "flood",
            "4 Fastweb homes, each its own IPv6 /48 in one prefix, each sending 30 reports from "
            "30 of its /64s within 3 minutes",
            over(
                [f"2001:b00:{h + 1:x}:{k + 1:x}::1" for h in range(4) for k in range(30)],
                start=0,
                minutes=3,
                seed=16,
            ),
            minutes=8,
        ),
        Scenario(
            "media_bump",
            "ok",
            "the usual audience rising from 4 to 12 a minute and back over 40 minutes (usual 4)",
            ramp(audience(320, seed=100), media, seed=10),
            minutes=44,
            per_minute=4,
        ),
        Scenario(
            "slow_outage",
            "outage",
            "the usual audience rising from 4 to 12 a minute over 20 minutes as a failure "
            "spreads, then staying there (usual 4): the media bump until it turns",
            ramp(audience(480, seed=150), spreading, seed=21),
            minutes=44,
            per_minute=4,
        ),
        Scenario(
            "busy_day",
            "ok",
            "the usual audience at 1.5 times its usual 4 a minute for 3 hours (from 2 hours before)",
            ramp(audience(1080, seed=110), [6] * 180, seed=11, start=-120),
            minutes=60,
            per_minute=4,
            start=-120,
        ),
        Scenario(
            "dismissed",
            "dismissed",
            "300 people of the usual audience over 30 minutes; a reviewer dismisses it at minute 5",
            over(audience(300, seed=120), start=0, minutes=30, seed=12),
            minutes=36,
            dismiss_at=5,
        ),
    ]


def given_label(peak: tuple[str, str, bool], end: tuple[str, str, bool], incident: str) -> str:
    status, reason, regional = peak
    if end[1] == "dismissed":
        return "dismissed"
    by_reason = {
        "flood_suspected": "flood",
        "isp": "isp",
        "few_reports": "few_reports",
        "dismissed": "dismissed",
    }
    if reason in by_reason:
        return by_reason[reason]
    if status == "outage" or incident:
        return "regional" if regional or reason == "regional" else "outage"
    return "ok"


def scenario_run(scenario: Scenario) -> Outcome:
    """Run one scenario on a fresh quiet ChatGPT; the caller owns the transaction (rolled back)."""
    import time_machine
    from django.apps import apps
    from django.core.cache import cache
    from django.test import Client, override_settings

    from catalogue.models import Service
    from outages.detection_pass import GRACE_SECONDS, detection_run
    from outages.models import DetectionWatermark, Incident, ServiceStatus
    from outages.review.services import incident_act
    from outages.watermark import WATERMARK
    from reports.devices import COOKIE
    from tests.detection_helpers import MINUTE, T0, flat_baseline
    from tests.test_networks import usual_mix

    cache.clear()
    for app in apps.get_app_configs():
        clear = getattr(app, "process_caches_clear", None)
        if clear is not None:
            clear()
    service = Service.objects.get(slug="chatgpt")
    flat_baseline(service, per_minute=scenario.per_minute)
    for city, share in audience_cities().items():
        flat_baseline(service, per_minute=scenario.per_minute * share, city=city)
    usual_mix(service)
    first = T0 + scenario.start * MINUTE
    DetectionWatermark.objects.update_or_create(
        name=WATERMARK, defaults={"processed_through": first - MINUTE}
    )
    client = Client()
    jar: dict[str, str] = {}  # each person's device cookie, from the service page
    answers: dict[int, int] = {}
    rows: list[tuple[str, str, bool]] = []
    posts = sorted(scenario.posts, key=lambda post: post.at)
    with (
        override_settings(ALLOWED_HOSTS=["testserver"], TRUSTED_PROXY_COUNT=1, REPORT_RATE_LIMIT="30/h"),
        time_machine.travel(first, tick=False) as clock,
    ):
        for k in range(scenario.start + 1, scenario.minutes + 1):
            boundary = T0 + k * MINUTE
            while posts and posts[0].at < boundary:
                post = posts.pop(0)
                clock.move_to(post.at, tick=False)
                client.cookies.clear()
                client.cookies[COOKIE] = jar.get(post.person) or _page_cookie(client, post.ip)
                jar[post.person] = client.cookies[COOKIE].value
                code = client.post(
                    "/api/v1/reports/",
                    REPORT,
                    content_type="application/json",
                    REMOTE_ADDR=PROXY,
                    HTTP_X_FORWARDED_FOR=post.ip,
                ).status_code
                answers[code] = answers.get(code, 0) + 1
                if code not in (200, 201, 429):  # counted, a repeat, over the address's budget
                    raise RuntimeError(f"{scenario.name}: POST from {post.ip} answered {code}")
            now = boundary + dt.timedelta(seconds=GRACE_SECONDS)
            clock.move_to(now, tick=False)
            detection_run(now=now)
            if scenario.dismiss_at == k:
                _dismiss(service, now + dt.timedelta(seconds=10), incident_act)
            row = ServiceStatus.objects.world().filter(service=service).first()
            # Regional: cities spike while the national counts alone are usual (the row's
            # `regional` flag is also set when a city spikes inside a national outage).
            rows.append(
                (row.status, row.reason, row.regional and row.evidence == "ok")
                if row
                else ("ok", "normal", False)
            )
    # The worst status; among minutes as bad, the last: the verdict the system settled on.
    # Minutes that say `recovering` are left out: the reports are back to normal and the page
    # names no verdict then ("an incident is open, reports are back to normal"); a reader
    # judges the event by what the page said while it went on.
    judged = [i for i, row in enumerate(rows) if row[1] != "recovering"] or list(range(len(rows)))
    worst = max(judged, key=lambda i: (SEVERITY[rows[i][0]], i))
    incident = Incident.objects.filter(service=service).order_by("started_at").first()
    outcome = Outcome(
        scenario=scenario,
        answers=answers,
        peak=rows[worst],
        peak_minute=scenario.start + worst + 1,
        end=rows[-1],
        incident=incident.status if incident else "",
        outage_at=next((scenario.start + i + 1 for i, r in enumerate(rows) if r[0] == "outage"), None),
    )
    outcome.given = given_label(outcome.peak, outcome.end, outcome.incident)
    return outcome


def _page_cookie(client, ip: str) -> str:
    """Visit the service page from `ip` with no cookie, as a new browser, and keep the
    device cookie it sets."""
    from reports.devices import COOKIE

    client.cookies.clear()
    response = client.get(f"/s/{REPORT['service']}/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ip)
    if response.status_code != 200 or COOKIE not in response.cookies:
        raise RuntimeError(f"the service page answered {response.status_code} without a device cookie")
    return response.cookies[COOKIE].value


def _dismiss(service, now: dt.datetime, incident_act: Callable) -> None:
    from outages.models import Incident
    from tests.review_helpers import reviewer_user

    incident = Incident.objects.filter(service=service).order_by("-started_at").first()
    if incident is None:  # nothing opened: nothing for the reviewer to dismiss
        return
    incident_act(
        incident_id=incident.pk,
        action="dismiss",
        actor=reviewer_user(),
        now=now,
        reason="media",
        public_note=NOTE,
    )


def matrix_text(outcomes: list[Outcome]) -> str:
    """The confusion matrix: a row per expected label, a column per given label."""
    width = max(len(label) for label in LABELS) + 2
    lines = ["expected \\ given".ljust(18) + "".join(label.rjust(width) for label in LABELS)]
    for expected in LABELS:
        cells = [
            sum(1 for o in outcomes if o.scenario.expected == expected and o.given == given)
            for given in LABELS
        ]
        lines.append(expected.ljust(18) + "".join(str(cell).rjust(width) for cell in cells))
    right = sum(o.right for o in outcomes)
    lines.append(f"right: {right} of {len(outcomes)}")
    return "\n".join(lines)


def table_text(outcomes: list[Outcome]) -> str:
    head = (
        f"{'scenario':<15} {'expected':<12} {'given':<12} {'at worst (minute)':<32} "
        f"{'at the end':<28} {'outage at':<9} {'incident':<10} {'answers':<22} verdict"
    )
    lines = [head]
    for o in outcomes:
        worst = f"{o.peak[0]}/{o.peak[1]}{' regional' if o.peak[2] else ''} ({o.peak_minute})"
        end = f"{o.end[0]}/{o.end[1]}{' regional' if o.end[2] else ''}"
        answers = " ".join(f"{code}x{n}" for code, n in sorted(o.answers.items()))
        lines.append(
            f"{o.scenario.name:<15} {o.scenario.expected:<12} {o.given:<12} {worst:<32} {end:<28} "
            f"{'-' if o.outage_at is None else o.outage_at:<9} {o.incident or 'no':<10} {answers:<22} "
            f"{'right' if o.right else 'WRONG'}"
        )
    return "\n".join(lines)


def run(selected: list[Scenario]) -> list[Outcome]:
    """Each scenario in a transaction rolled back at its end: the next one starts fresh."""
    from django.db import transaction

    outcomes = []
    for scenario in selected:
        with transaction.atomic():
            outcomes.append(scenario_run(scenario))
            transaction.set_rollback(True)
    return outcomes


def _database() -> None:
    import psycopg

    name = os.environ.get("BENCH_VERDICTS_DB", "downradar_bench_verdicts")
    server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres").rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = f"{server}/{name}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="scenario names (default: all)")
    args = parser.parse_args()

    _database()
    # No Redis: the cache (rate limits) lives in a directory of the bench's own.
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("VAR_DIR", str(ROOT / "var" / "bench_verdicts"))
    Path(os.environ["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    os.environ.update({"DEBUG": "false", "SECURE_SSL_REDIRECT": "false", "LOG_LEVEL": "WARNING"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # The pages visited run with production settings: hashed static files must exist.
    call_command("collectstatic", interactive=False, verbosity=0)
    selected = [s for s in scenarios() if not args.only or s.name in args.only]
    outcomes = run(selected)
    print(table_text(outcomes))
    print()
    print(matrix_text(outcomes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
