"""Plans: a period of normal life plus incidents, either random history or a named scenario.

`plan_backfill` is the last N days with a few random incidents; `plan_scenario` replays a
named event at its real date, or shifted so that its peak is happening now.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from simulator.crowd import ITALIAN, PROFILES, Batch, Crowd, Flood, Incident, Outage, profile

ROME = ZoneInfo("Europe/Rome")
ITALIAN_REGIONS = (
    "Lombardy", "Lazio", "Campania", "Emilia-Romagna", "Piedmont", "Tuscany", "Veneto",
    "Sicily", "Apulia", "Liguria", "Sardinia", "Calabria", "Marche", "Friuli Venezia Giulia",
)  # fmt: skip
FLOOD_CITIES = ("Milan", "Rome", "Naples", "Turin")


@dataclass(frozen=True, slots=True)
class Plan:
    services: tuple[str, ...]
    start: datetime  # normal life from here...
    end: datetime  # ...to here
    incidents: tuple[Incident, ...]
    until: datetime | None = None  # nothing at or after this moment (a scenario shifted to now)
    since: datetime | None = None  # nothing before this moment (a history topped up from here)
    detect_from: datetime | None = None  # where detection starts; default: the start

    @property
    def detect_range(self) -> tuple[datetime, datetime]:
        return self.detect_from or self.start, self.until or self.end

    def generate(self, *, seed: int, volume: float = 1.0, crowd: Crowd | None = None) -> Batch:
        crowd = crowd or Crowd(self.services, seed=seed, volume=volume)
        out = crowd.normal(self.start, self.end)
        for incident in self.incidents:
            crowd.incident(incident, out)
        return crowd.batch(out, until=self.until, since=self.since)


def baseline_italy(slug: str, volume: float = 1.0) -> float:
    """Average normal reports per 15 minutes in Italy for a service."""
    prof = profile(slug)
    return prof.daily * volume * prof.audience.get("IT", 0.0) / 96


# -- random history ------------------------------------------------------------------------


# Italian operators and IPv4 prefixes they announce (AS30722, AS3269, AS1267, AS12874 in the
# ASN table, geo/asn_table.py; tests/test_operators.py checks): an ISP outage draws its
# reporters from these.
ISP_PREFIXES = {
    "Vodafone Italia": ("2.32.0.0/12", "37.176.0.0/13", "109.112.0.0/13"),
    "Telecom Italia": ("79.0.0.0/11", "87.0.0.0/12", "82.48.0.0/14"),
    "Wind Tre": ("151.16.0.0/12", "62.98.0.0/16"),
    "Fastweb": ("93.32.0.0/12", "93.56.0.0/13"),
}


def isp_outage(operator: str, start: datetime, peaks: Mapping[str, float]) -> tuple[Outage, ...]:
    """One operator's customers cannot reach anything: a spike on several services at once
    (`peaks`: service -> extra reports per 15 minutes), every report from its networks."""
    return tuple(
        Outage(
            service=slug,
            start=start,
            peaks={"IT": round(peak)},
            rise=10,
            plateau=40,
            decay=20,
            kind="isp",
            operator_prefixes=ISP_PREFIXES[operator],
            label=f"ISP outage: {operator}",
        )
        for slug, peak in peaks.items()
    )


def incidents_random(
    services: Sequence[str], start: datetime, end: datetime, *, seed: int, volume: float = 1.0
) -> tuple[Incident, ...]:
    """A believable month: a handful of outages (national, or regional for Italian ISPs),
    a media bump now and then, and the odd flood. Same seed, same incidents."""
    rng = np.random.default_rng([seed, 1])
    days = (end - start).total_seconds() / 86400
    scale = days * len(services) / 15
    weights = np.sqrt([profile(slug).daily for slug in services])
    weights /= weights.sum()

    def moment() -> datetime:
        # Daytime in Italy, when people notice.
        day = start.astimezone(ROME).date() + timedelta(days=int(rng.integers(max(int(days), 1))))
        local = datetime.combine(day, time(8), ROME) + timedelta(minutes=float(rng.uniform(0, 14 * 60)))
        return local

    def pick() -> str:
        return services[int(rng.choice(len(services), p=weights))]

    incidents: list[Incident] = []
    for _ in range(rng.poisson(0.3 * scale)):
        slug = pick()
        base = baseline_italy(slug, volume)
        peak = float(base * rng.uniform(6, 30) + 25)
        regions = {}
        if profile(slug).audience is ITALIAN and rng.random() < 0.5:
            count = int(rng.integers(1, 4))
            regions = {"IT": tuple(rng.choice(ITALIAN_REGIONS, size=count, replace=False).tolist())}
            peak *= 0.4
        peaks = {"IT": round(peak)}
        if profile(slug).audience is not ITALIAN:
            peaks |= {"US": round(peak * 0.25), "GB": round(peak * 0.05), "IN": round(peak * 0.05)}
        incidents.append(
            Outage(
                service=slug,
                start=moment(),
                peaks=peaks,
                rise=int(rng.integers(5, 26)),
                plateau=int(rng.integers(15, 121)),
                decay=float(rng.uniform(15, 60)),
                regions=regions,
                label=f"regional outage in {', '.join(regions['IT'])}" if regions else "national outage",
            )
        )
    for _ in range(rng.poisson(0.08 * scale)):
        slug = pick()
        incidents.append(
            Outage(
                service=slug,
                start=moment(),
                peaks={"IT": round(baseline_italy(slug, volume) * 3 + 10)},
                rise=10,
                plateau=20,
                decay=20,
                kind="media",
                label="media bump",
            )
        )
    for _ in range(rng.poisson(0.05 * scale)):
        operator = str(rng.choice(sorted(ISP_PREFIXES)))
        hit = [
            services[int(i)]
            for i in rng.choice(len(services), size=min(4, len(services)), replace=False, p=weights)
        ]
        incidents.extend(
            isp_outage(operator, moment(), {slug: baseline_italy(slug, volume) * 8 + 30 for slug in hit})
        )
    for _ in range(rng.poisson(0.1 * scale)):
        reports, networks, city = (
            int(rng.integers(200, 800)),
            int(rng.integers(2, 5)),
            str(rng.choice(FLOOD_CITIES)),
        )
        incidents.append(
            Flood(
                service=pick(),
                start=moment(),
                reports=reports,
                minutes=int(rng.integers(5, 16)),
                city=city,
                networks=networks,
                label=f"flood: {reports} reports from {networks} networks in {city}",
            )
        )
    return tuple(sorted(incidents, key=lambda incident: incident.start))


def plan_backfill(
    services: Sequence[str], *, days: float, now: datetime, seed: int, volume: float = 1.0
) -> Plan:
    start = now - timedelta(days=days)
    incidents = tuple(
        incident
        for incident in incidents_random(services, start, now, seed=seed, volume=volume)
        if incident.start < now
    )
    return Plan(services=tuple(services), start=start, end=now, incidents=incidents, until=now)


# -- named scenarios -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    peak_at: datetime  # the moment `--at now` puts at the present
    services: tuple[str, ...]
    incidents: tuple[Incident, ...]
    after: timedelta = timedelta(hours=6)  # normal life simulated after the peak

    def plan(self, *, days: float, at: datetime | None, seed: int, volume: float = 1.0) -> Plan:
        """Normal life for `days` before the day of the peak, the incidents, and `after`.

        With `at`, everything moves so the peak falls at `at`, and nothing later than `at`
        is kept: a demo shows the outage as it happens.
        """
        delta = timedelta(0) if at is None else at - self.peak_at
        # Local midnights, shifted in UTC: arithmetic on zoned times is wall-clock time.
        day = self.peak_at.astimezone(ROME).date()
        day_start = datetime.combine(day, time(0), ROME).astimezone(UTC) + delta
        start = datetime.combine(day - timedelta(days=days), time(0), ROME).astimezone(UTC) + delta
        end = self.peak_at.astimezone(UTC) + self.after + delta
        # Random incidents in the history, on the other services only: the scenario's own
        # services keep a clean baseline so the replayed event is the one that stands out.
        others = [
            slug for slug in self.services if slug not in {incident.service for incident in self.incidents}
        ]
        history = incidents_random(others, start, day_start, seed=seed, volume=volume) if others else ()
        return Plan(
            services=self.services,
            start=start,
            end=end,
            incidents=history + tuple(incident.shifted(delta) for incident in self.incidents),
            until=at,
            # The history is there to give the baselines something to learn; detection
            # replays only the scenario's day (a month of minutes takes minutes).
            detect_from=day_start,
        )


# Extra ChatGPT reports per 15 minutes at the plateau, by country. Italy's peak bucket holds
# this plus the normal ChatGPT traffic there at 17:00 on a Monday (about 5): 1,251.
CHATGPT_PEAKS = {
    "IT": 1246, "US": 240, "CA": 20, "MX": 12, "BR": 25, "GB": 45, "DE": 35, "FR": 30,
    "ES": 30, "NL": 10, "IN": 70, "JP": 30, "PH": 25, "KR": 12, "ID": 15, "SG": 8,
}  # fmt: skip
# The order Downdetector Italy showed: Milano, Roma, Napoli, Bologna; the other cities share
# the rest by their usual weight, each well under Bologna.
ITALY_TOP_CITIES = {"Milan": 0.25, "Rome": 0.17, "Naples": 0.09, "Bologna": 0.065}


def chatgpt_and_sora_outages(
    *, start: datetime, rise: int, plateau: int, decay: float, label: str = "31 March 2025"
) -> tuple[Outage, Outage]:
    """ChatGPT and Sora down together as on 31 March 2025, in a given shape: the scenario
    replays its real one, the living demo (simulator.demo) a longer tail."""
    chatgpt = Outage(
        service="chatgpt",
        peaks=CHATGPT_PEAKS,
        city_shares={"IT": ITALY_TOP_CITIES},
        problems={"website": 0.45, "login": 0.35, "app": 0.15, "other": 0.05},
        label=f"ChatGPT outage, {label}",
        start=start,
        rise=rise,
        plateau=plateau,
        decay=decay,
    )
    sora = Outage(
        service="sora",
        peaks={"IT": 160, "US": 60, "GB": 8, "DE": 6, "IN": 10, "JP": 6},
        city_shares={"IT": ITALY_TOP_CITIES},
        problems={"website": 0.55, "login": 0.25, "app": 0.15, "other": 0.05},
        label=f"Sora outage, {label}",
        start=start,
        rise=rise,
        plateau=plateau,
        decay=decay,
    )
    return chatgpt, sora


def _chatgpt_2025_03_31() -> Scenario:
    # Downdetector Italy: reports rose suddenly and reached 1,251 around 17:00 CEST (the clocks
    # had gone forward the day before), most from Milano, Roma, Napoli and Bologna, in that
    # order; reports also came from the United States and Asia. The shape puts the whole
    # plateau in the 17:00-17:15 bucket: the buckets either side hold 50% and 81% of it.
    start = datetime(2025, 3, 31, 16, 45, tzinfo=ROME)
    chatgpt, sora = chatgpt_and_sora_outages(start=start, rise=15, plateau=15, decay=35.0)
    return Scenario(
        name="chatgpt-2025-03-31",
        description="ChatGPT and Sora down in the afternoon of 31 March 2025; Italy peaks at 1,251 around 17:00 CEST",
        peak_at=datetime(2025, 3, 31, 17, 0, tzinfo=ROME),
        services=tuple(PROFILES),
        incidents=(chatgpt, sora),
    )


SCENARIOS: dict[str, Callable[[], Scenario]] = {"chatgpt-2025-03-31": _chatgpt_2025_03_31}


def scenario_get(name: str) -> Scenario:
    try:
        return SCENARIOS[name]()
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}") from None
