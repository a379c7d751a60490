"""The crowd model: who reports what, where and when, as plain numpy columns.

Pure: no ORM, no settings, no clock. The same seed gives the same reports, to the address.

Normal life is drawn per 15-minute block and time zone: a service's daily volume, shaped
by an hourly and a weekly rhythm in the reporters' local time, multiplied by gamma noise
per day and per block (so counts are overdispersed, as real ones are), then Poisson.
Incidents add reports minute by minute on top: outages (fast rise, plateau, exponential
decay; national or regional), media bumps (the same shape, small, "other" problems), and
floods (many reports from a handful of networks).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import numpy as np

from outages.detection.calendar import utc_offsets
from simulator.places import AddressPool, Place, ip_strings, places_load

PROBLEMS: tuple[str, ...] = ("app", "login", "website", "connection", "other")
BLOCK_SECONDS = 15 * 60
KINDS: tuple[str, ...] = ("normal", "outage", "media", "flood", "isp")

# Hourly shapes in local time (0h..23h) and weekday shapes (Monday..Sunday); normalised below.
HOURLY: dict[str, tuple[float, ...]] = {
    # Messaging, social, video: quiet at 4am, a lunch bump, busiest in the evening.
    "consumer": (0.35, 0.22, 0.15, 0.12, 0.12, 0.18, 0.35, 0.6, 0.8, 0.9, 0.95, 1.0,
                 1.15, 1.2, 1.05, 0.95, 0.95, 1.0, 1.1, 1.2, 1.35, 1.45, 1.2, 0.7),
    # Mail and AI assistants: office hours.
    "work": (0.2, 0.12, 0.08, 0.07, 0.08, 0.15, 0.35, 0.7, 1.2, 1.5, 1.6, 1.55,
             1.2, 1.3, 1.5, 1.5, 1.4, 1.2, 0.9, 0.8, 0.75, 0.7, 0.55, 0.35),
    # Games, streaming and home broadband: evenings.
    "evening": (0.6, 0.4, 0.25, 0.15, 0.12, 0.12, 0.2, 0.35, 0.45, 0.55, 0.6, 0.7,
                0.8, 0.85, 0.85, 0.9, 1.0, 1.15, 1.3, 1.5, 1.7, 1.8, 1.5, 1.0),
}  # fmt: skip
WEEKLY: dict[str, tuple[float, ...]] = {
    "consumer": (1.0, 1.0, 1.0, 1.0, 1.02, 1.05, 1.0),
    "work": (1.15, 1.15, 1.12, 1.1, 1.0, 0.7, 0.65),
    "evening": (0.9, 0.9, 0.9, 0.95, 1.1, 1.25, 1.2),
}
# Gamma shapes of the multiplicative noise: day to day (cv ~0.2) and block to block (cv ~0.4).
DAY_NOISE_SHAPE = 25.0
BLOCK_NOISE_SHAPE = 6.0

# Where a service's reporters are: country -> share; "*" spreads over every other sampled
# country in proportion to its cities' weight.
GLOBAL: Mapping[str, float] = {"IT": 0.55, "US": 0.14, "*": 0.31}
ITALIAN: Mapping[str, float] = {"IT": 0.97, "*": 0.03}  # Italians abroad: a few strays


@dataclass(frozen=True, slots=True)
class Profile:
    daily: float  # reports a day in normal life, all countries together
    rhythm: str
    problems: Mapping[str, float]
    audience: Mapping[str, float] = field(default_factory=lambda: GLOBAL)


_APP_MIX = {"app": 0.45, "login": 0.2, "website": 0.1, "connection": 0.15, "other": 0.1}
_ISP_MIX = {"connection": 0.7, "app": 0.05, "login": 0.05, "website": 0.05, "other": 0.15}
_GAME_MIX = {"connection": 0.45, "login": 0.3, "app": 0.1, "website": 0.05, "other": 0.1}

# Daily volumes are sized so four weeks of all 15 services (about 95,000 reports) load in
# about a minute through the bulk ingest path on a 2-core machine; `--volume` scales them.
PROFILES: dict[str, Profile] = {
    "chatgpt": Profile(550, "work", {"website": 0.42, "login": 0.33, "app": 0.17, "connection": 0.04, "other": 0.04}),
    "sora": Profile(45, "work", {"website": 0.5, "login": 0.25, "app": 0.15, "other": 0.1}),
    "whatsapp": Profile(500, "consumer", _APP_MIX),
    "instagram": Profile(430, "consumer", _APP_MIX),
    "facebook": Profile(300, "consumer", _APP_MIX),
    "youtube": Profile(330, "evening", {"website": 0.35, "app": 0.35, "connection": 0.15, "login": 0.05, "other": 0.1}),
    "gmail": Profile(130, "work", {"website": 0.35, "login": 0.35, "app": 0.15, "other": 0.15}),
    "netflix": Profile(170, "evening", {"app": 0.4, "connection": 0.3, "login": 0.15, "website": 0.05, "other": 0.1}),
    "spotify": Profile(150, "consumer", {"app": 0.55, "login": 0.15, "connection": 0.15, "website": 0.05, "other": 0.1}),
    "tim": Profile(140, "evening", _ISP_MIX, ITALIAN),
    "vodafone": Profile(120, "evening", _ISP_MIX, ITALIAN),
    "fastweb": Profile(85, "evening", _ISP_MIX, ITALIAN),
    "iliad": Profile(100, "consumer", _ISP_MIX, ITALIAN),
    "playstation-network": Profile(100, "evening", _GAME_MIX),
    "steam": Profile(85, "evening", _GAME_MIX),
}  # fmt: skip
# A service the simulator does not know (added in the admin) gets a trickle of strays.
DEFAULT_PROFILE = Profile(15, "consumer", {"other": 0.5, "app": 0.2, "website": 0.2, "login": 0.1})


def profile(slug: str) -> Profile:
    return PROFILES.get(slug, DEFAULT_PROFILE)


# -- incidents -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outage:
    """Extra reports with a fast rise, a plateau and an exponential decay.

    `peaks` gives, per country, the extra reports in a 15-minute block at the plateau.
    `regions` limits a country to some of its regions (a regional outage); `city_shares`
    pins the share of named cities in a country (the rest follows the cities' weights).
    """

    service: str
    start: datetime
    peaks: Mapping[str, float]
    rise: int = 15  # minutes from nothing to the plateau
    plateau: int = 30  # minutes
    decay: float = 30.0  # minutes, time constant of the tail
    regions: Mapping[str, Sequence[str]] = field(default_factory=dict)
    city_shares: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    problems: Mapping[str, float] | None = None
    kind: str = "outage"  # or "media": a bump from press coverage, not a failure; "isp"
    label: str = ""
    # An ISP's outage ("isp"): only that operator's customers report, so their addresses
    # are drawn from the city networks inside the operator's announced prefixes.
    operator_prefixes: tuple[str, ...] = ()
    # The pool the living demo's reporters draw their comments from (simulator.comments);
    # "" for none. The model draws no comments: the demo's crowd adds them (simulator.demo).
    comments: str = ""

    @property
    def peak_at(self) -> datetime:
        # In UTC: adding to a zoned time is wall-clock arithmetic, wrong across a DST change.
        return self.start.astimezone(UTC) + timedelta(minutes=self.rise)

    @property
    def end(self) -> datetime:
        # The tail is cut where it falls under 1% of the plateau.
        return self.peak_at + timedelta(minutes=self.plateau + self.decay * math.log(100))

    def shifted(self, delta: timedelta) -> Outage:
        return replace(self, start=self.start.astimezone(UTC) + delta)

    def level(self, minutes: np.ndarray) -> np.ndarray:
        """The shape at `minutes` since the start: 0..1."""
        rise = np.clip(minutes / max(self.rise, 1), 0, 1)
        tail = np.exp(-np.clip(minutes - self.rise - self.plateau, 0, None) / self.decay)
        return np.where(minutes < 0, 0.0, rise * tail)


@dataclass(frozen=True, slots=True)
class Flood:
    """Many reports in a short time from a handful of networks of one city: abuse."""

    service: str
    start: datetime
    reports: int
    minutes: int = 10
    country_code: str = "IT"
    city: str = "Milan"
    networks: int = 3
    label: str = ""

    @property
    def end(self) -> datetime:
        return self.start.astimezone(UTC) + timedelta(minutes=self.minutes)

    def shifted(self, delta: timedelta) -> Flood:
        return replace(self, start=self.start.astimezone(UTC) + delta)


Incident = Outage | Flood


# -- output --------------------------------------------------------------------------------


class SimulatedReport(NamedTuple):
    created_at: datetime
    service: str
    problem: str
    client_ip: str
    kind: str


@dataclass(slots=True)
class Batch:
    """Simulated reports as columns, sorted by time."""

    services: tuple[str, ...]
    places: tuple[Place, ...]
    seconds: np.ndarray  # float64, since the epoch, UTC
    service: np.ndarray  # index into services
    problem: np.ndarray  # index into PROBLEMS
    place: np.ndarray  # index into places
    address: np.ndarray  # IPv4 address as an integer
    kind: np.ndarray  # index into KINDS

    def __len__(self) -> int:
        return len(self.seconds)

    def __iter__(self) -> Iterator[SimulatedReport]:
        for chunk in self.chunks(10_000):
            yield from chunk

    def chunks(self, size: int) -> Iterator[list[SimulatedReport]]:
        """Reports in time order, `size` at a time (turning columns into objects is the slow part)."""
        for begin in range(0, len(self), size):
            part = slice(begin, begin + size)
            ips = ip_strings(self.address[part])
            yield [
                SimulatedReport(
                    datetime.fromtimestamp(second, UTC),
                    self.services[service],
                    PROBLEMS[problem],
                    ip,
                    KINDS[kind],
                )
                for second, service, problem, ip, kind in zip(
                    self.seconds[part].tolist(),
                    self.service[part].tolist(),
                    self.problem[part].tolist(),
                    ips,
                    self.kind[part].tolist(),
                    strict=True,
                )
            ]


class _Columns:
    """Accumulates generated rows; addresses are filled in at the end, in time order."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, seconds, service, problem, place, kind, address=None) -> None:
        count = len(seconds)
        if not count:
            return
        self.parts.append(
            (
                np.asarray(seconds, dtype=np.float64),
                np.broadcast_to(np.asarray(service, dtype=np.int16), count),
                np.asarray(problem, dtype=np.int8),
                np.asarray(place, dtype=np.int32),
                np.broadcast_to(np.asarray(kind, dtype=np.int8), count),
                np.full(count, -1, dtype=np.int64)
                if address is None
                else np.asarray(address, dtype=np.int64),
            )
        )

    def columns(self) -> list[np.ndarray]:
        if not self.parts:
            return [
                np.empty(0, dtype=dtype)
                for dtype in (np.float64, np.int16, np.int8, np.int32, np.int8, np.int64)
            ]
        return [np.concatenate(column) for column in zip(*self.parts, strict=True)]


# -- the model -----------------------------------------------------------------------------


class Crowd:
    """Draws reports for a set of services over the sampled places, from one seed."""

    def __init__(self, services: Sequence[str], *, seed: int = 0, volume: float = 1.0, places=None) -> None:
        self.services = tuple(services)
        self.places: tuple[Place, ...] = tuple(places if places is not None else places_load())
        self.volume = volume
        self.rng = np.random.default_rng(seed)
        self._pools: dict[object, AddressPool] = {}  # by place, or (place, operator prefixes)
        self._operator_cidrs: dict[tuple[int, tuple[str, ...]], tuple[str, ...]] = {}
        self.country = np.array([place.country_code for place in self.places])
        self.place_weight = np.array([place.weight for place in self.places], dtype=np.float64)
        self.timezones = sorted({place.timezone for place in self.places})
        self.place_tz = np.array([self.timezones.index(place.timezone) for place in self.places])
        self._clock_key: tuple[float, int] | None = None
        self._clock: tuple[np.ndarray, np.ndarray] = (np.empty(0), np.empty(0))

    # Weights ------------------------------------------------------------------------------

    def audience_weights(self, slug: str) -> np.ndarray:
        """Share of a service's normal reports coming from each place (sums to 1)."""
        audience = profile(slug).audience
        named = {code for code in audience if code != "*"}
        weights = np.zeros(len(self.places))
        for code, share in audience.items():
            mask = ~np.isin(self.country, list(named)) if code == "*" else self.country == code
            total = self.place_weight[mask].sum()
            if total:
                weights[mask] += share * self.place_weight[mask] / total
        return weights / weights.sum()

    def _problems(self, mix: Mapping[str, float], count: int) -> np.ndarray:
        codes = [PROBLEMS.index(code) for code in mix]
        shares = np.array(list(mix.values()), dtype=np.float64)
        return self.rng.choice(codes, size=count, p=shares / shares.sum()).astype(np.int8)

    def _places_in(
        self, country_code: str, regions: Sequence[str] = (), shares: Mapping[str, float] | None = None
    ):
        """Indexes and probabilities of the places an incident in a country falls on."""
        mask = self.country == country_code
        if regions:
            mask &= np.array([place.region in regions for place in self.places])
        indexes = np.flatnonzero(mask)
        if not len(indexes):
            raise ValueError(f"no sampled city in {country_code} {list(regions)}")
        weights = self.place_weight[indexes] / self.place_weight[indexes].sum()
        if shares:
            pinned = np.array([self.places[index].name in shares for index in indexes])
            missing = set(shares) - {self.places[index].name for index in indexes}
            if missing:
                raise ValueError(f"no sampled city called {sorted(missing)} in {country_code}")
            rest = 1.0 - sum(shares.values())
            weights = np.where(pinned, 0.0, weights)
            weights = weights / weights.sum() * rest
            for position, index in enumerate(indexes):
                weights[position] = shares.get(self.places[index].name, weights[position])
        return indexes, weights / weights.sum()

    # Normal life --------------------------------------------------------------------------

    def _rhythm(self, rhythm: str, starts: np.ndarray) -> np.ndarray:
        """Rhythm factor (mean 1 over a week) per time zone (rows) and block (columns)."""
        hourly = np.array(HOURLY[rhythm]) / np.mean(HOURLY[rhythm])
        weekly = np.array(WEEKLY[rhythm]) / np.mean(WEEKLY[rhythm])
        local_hour, local_weekday = self._local_clock(starts)
        hour = local_hour.astype(int)
        fraction = local_hour - hour
        # Interpolate between hours so the curve has no steps at o'clock.
        shape = hourly[hour] * (1 - fraction) + hourly[(hour + 1) % 24] * fraction
        return shape * weekly[local_weekday]

    def _local_clock(self, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Local hour (fractional) and weekday (0 = Monday) per time zone and block middle."""
        cache_key = (float(starts[0]), len(starts))
        if self._clock_key != cache_key:
            middles = starts + BLOCK_SECONDS / 2
            # UTC offsets change at most twice a year: take them hourly and look them up.
            hours = np.arange(math.floor(middles[0] / 3600), math.floor(middles[-1] / 3600) + 1)
            offsets = np.array([utc_offsets(hours * 3600, name) for name in self.timezones])
            local = middles[None, :] + offsets[:, (np.floor(middles / 3600) - hours[0]).astype(int)]
            # 1970-01-01 was a Thursday (weekday 3).
            self._clock = ((local % 86400) / 3600, ((local // 86400).astype(int) + 3) % 7)
            self._clock_key = cache_key
        return self._clock

    def normal(self, start: datetime, end: datetime, out: _Columns | None = None) -> _Columns:
        """Everyday reports for every service between `start` and `end` (aligned to 15 minutes)."""
        out = out or _Columns()
        first = math.floor(start.timestamp() / BLOCK_SECONDS) * BLOCK_SECONDS
        starts = np.arange(first, end.timestamp(), BLOCK_SECONDS, dtype=np.float64)
        if not len(starts):
            return out
        days = ((starts - starts[0]) // 86400).astype(int)
        for number, slug in enumerate(self.services):
            prof = profile(slug)
            weights = self.audience_weights(slug)
            tz_share = np.bincount(self.place_tz, weights=weights, minlength=len(self.timezones))
            day_noise = self.rng.gamma(DAY_NOISE_SHAPE, 1 / DAY_NOISE_SHAPE, days[-1] + 1)
            block_noise = self.rng.gamma(BLOCK_NOISE_SHAPE, 1 / BLOCK_NOISE_SHAPE, len(starts))
            expected = (
                prof.daily * self.volume / 96
                * tz_share[:, None] * self._rhythm(prof.rhythm, starts)
                * (day_noise[days] * block_noise)[None, :]
            )  # fmt: skip
            counts = self.rng.poisson(expected)  # time zones x blocks
            for tz in np.flatnonzero(counts.sum(axis=1)):
                row = counts[tz]
                total = int(row.sum())
                seconds = np.repeat(starts, row) + self.rng.random(total) * BLOCK_SECONDS
                members = np.flatnonzero(self.place_tz == tz)
                shares = weights[members] / weights[members].sum()
                place = self.rng.choice(members, size=total, p=shares)
                out.add(seconds, number, self._problems(prof.problems, total), place, KINDS.index("normal"))
        return out

    # Incidents ----------------------------------------------------------------------------

    def incident(self, incident: Incident, out: _Columns) -> None:
        if incident.service not in self.services:
            return
        number = self.services.index(incident.service)
        if isinstance(incident, Flood):
            self._flood(incident, number, out)
        else:
            self._outage(incident, number, out)

    def _outage(self, outage: Outage, number: int, out: _Columns) -> None:
        length = math.ceil((outage.end - outage.start).total_seconds() / 60)
        minutes = np.arange(length, dtype=np.float64)
        level = outage.level(minutes + 0.5)
        mix = outage.problems or (
            {"other": 0.6, "website": 0.2, "app": 0.2}
            if outage.kind == "media"
            else profile(outage.service).problems
        )
        for country_code, peak in outage.peaks.items():
            counts = self.rng.poisson(peak / 15 * level)
            total = int(counts.sum())
            seconds = outage.start.timestamp() + np.repeat(minutes, counts) * 60 + self.rng.random(total) * 60
            members, shares = self._places_in(
                country_code, outage.regions.get(country_code, ()), outage.city_shares.get(country_code)
            )
            if outage.operator_prefixes:
                members, shares = self._operator_places(members, shares, outage.operator_prefixes)
            place = self.rng.choice(members, size=total, p=shares)
            address = None
            if outage.operator_prefixes:
                address = np.empty(total, dtype=np.int64)
                for index in np.unique(place):
                    rows = np.flatnonzero(place == index)
                    address[rows] = self._operator_pool(int(index), outage.operator_prefixes).draw(len(rows))
            out.add(seconds, number, self._problems(mix, total), place, KINDS.index(outage.kind), address)

    def _operator_networks(self, place: int, prefixes: tuple[str, ...]) -> tuple[str, ...]:
        # Cached: the live demo draws an ISP outage again for every window it sends.
        key = (place, prefixes)
        if key not in self._operator_cidrs:
            within = [ipaddress.IPv4Network(prefix) for prefix in prefixes]
            self._operator_cidrs[key] = tuple(
                cidr
                for cidr in self.places[place].networks
                if any(ipaddress.IPv4Network(cidr).subnet_of(prefix) for prefix in within)
            )
        return self._operator_cidrs[key]

    def _operator_places(self, members: np.ndarray, shares: np.ndarray, prefixes: tuple[str, ...]):
        """The places with networks of the operator, their shares renormalised."""
        keep = np.array([bool(self._operator_networks(int(index), prefixes)) for index in members])
        if not keep.any():
            raise ValueError(f"no sampled city has networks in {list(prefixes)}")
        return members[keep], shares[keep] / shares[keep].sum()

    def _operator_pool(self, place: int, prefixes: tuple[str, ...]) -> AddressPool:
        key = (place, prefixes)
        if key not in self._pools:
            self._pools[key] = AddressPool(self._operator_networks(place, prefixes), self.rng)
        return self._pools[key]

    def _flood(self, flood: Flood, number: int, out: _Columns) -> None:
        members, _ = self._places_in(flood.country_code, shares=None)
        matches = [index for index in members if self.places[index].name == flood.city]
        if not matches:
            raise ValueError(f"no sampled city called {flood.city} in {flood.country_code}")
        place = matches[0]
        pool = self._pool(place)
        # The flood's networks follow from the flood itself, not the draw: drawn again for
        # another window of time (the live demo), it comes from the same few networks.
        picker = np.random.default_rng([int(flood.start.timestamp()), flood.reports, flood.networks])
        chosen = picker.choice(len(pool.starts), size=min(flood.networks, len(pool.starts)), replace=False)
        networks = self.rng.choice(chosen, size=flood.reports)
        seconds = flood.start.timestamp() + np.sort(self.rng.random(flood.reports)) * flood.minutes * 60
        problem = np.full(flood.reports, PROBLEMS.index("other"), dtype=np.int8)
        out.add(
            seconds,
            number,
            problem,
            np.full(flood.reports, place),
            KINDS.index("flood"),
            pool.draw_from(networks, self.rng),
        )

    # Finishing ----------------------------------------------------------------------------

    def _pool(self, place: int) -> AddressPool:
        if place not in self._pools:
            self._pools[place] = AddressPool(self.places[place].networks, self.rng)
        return self._pools[place]

    def batch(self, out: _Columns, *, until: datetime | None = None, since: datetime | None = None) -> Batch:
        """Sort by time, drop what is at or after `until` (or before `since`), and give
        everyone without one an address.

        Addresses are handed out in time order per city, so within a city nobody repeats
        until its pool is used up (tens of thousands of addresses in a big city).
        """
        seconds, service, problem, place, kind, address = out.columns()
        order = np.argsort(seconds, kind="stable")
        seconds, service, problem, place, kind, address = (
            column[order] for column in (seconds, service, problem, place, kind, address)
        )
        if until is not None or since is not None:
            low = -np.inf if since is None else since.timestamp()
            high = np.inf if until is None else until.timestamp()
            keep = (seconds >= low) & (seconds < high)
            seconds, service, problem, place, kind, address = (
                column[keep] for column in (seconds, service, problem, place, kind, address)
            )
        address = address.copy()
        missing = address < 0
        by_place = np.flatnonzero(missing)[np.argsort(place[missing], kind="stable")]
        boundaries = np.flatnonzero(np.diff(place[by_place])) + 1
        for group in np.split(by_place, boundaries):
            if len(group):
                address[group] = self._pool(int(place[group[0]])).draw(len(group))
        return Batch(self.services, self.places, seconds, service, problem, place, address, kind)

    # Live ---------------------------------------------------------------------------------

    def sample(self, count: int) -> tuple[list[str], list[str], list[str]]:
        """`count` reports as a steady crowd would send them: (service, problem, client_ip) lists.

        Services in proportion to their daily volume, places by audience; time is left to
        the caller (the live load generator sends them at a fixed rate).
        """
        daily = np.array([profile(slug).daily for slug in self.services], dtype=np.float64)
        service = self.rng.choice(len(self.services), size=count, p=daily / daily.sum())
        problem = np.empty(count, dtype=np.int8)
        place = np.empty(count, dtype=np.int32)
        for number, slug in enumerate(self.services):
            rows = np.flatnonzero(service == number)
            problem[rows] = self._problems(profile(slug).problems, len(rows))
            place[rows] = self.rng.choice(len(self.places), size=len(rows), p=self.audience_weights(slug))
        out = _Columns()
        out.add(np.arange(count, dtype=np.float64), service, problem, place, 0)
        batch = self.batch(out)
        return (
            [self.services[index] for index in batch.service.tolist()],
            [PROBLEMS[index] for index in batch.problem.tolist()],
            ip_strings(batch.address),
        )
