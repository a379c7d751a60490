"""Count rows for the page, map and browser tests, written straight into the minute tables
(what reports_aggregate would have produced), so a test can say "Milan had 120 reports in
the last hour and usually has 10" in one line."""

from __future__ import annotations

import datetime as dt

from catalogue.models import Service
from geo.models import City
from reports.models import CityMinute, CountryMinute, ProblemMinute, ServiceMinute

# English name, Italian name, region, lat, lon.
PLACES = {
    "Milan": ("Milano", "Lombardy", 45.4643, 9.1895),
    "Rome": ("Roma", "Lazio", 41.8919, 12.5113),
    "Naples": ("Napoli", "Campania", 40.8522, 14.2681),
    "Bologna": ("Bologna", "Emilia-Romagna", 44.4938, 11.3387),
    "Turin": ("Torino", "Piedmont", 45.0705, 7.6868),
}


def city(name: str) -> City:
    name_it, region, lat, lon = PLACES[name]
    place, _ = City.objects.get_or_create(
        country_code="IT",
        region=region,
        name_en=name,
        defaults={"name_it": name_it, "latitude": lat, "longitude": lon, "timezone": "Europe/Rome"},
    )
    return place


def add_reports(
    service: Service,
    *,
    at: dt.datetime,
    cities: dict[str, int],
    problem: str = "login",
) -> None:
    """Reports in one minute: `cities` maps an English city name to a count."""
    minute = at.replace(second=0, microsecond=0)
    total = sum(cities.values())
    _bump(ServiceMinute, total, service=service, minute=minute)
    _bump(CountryMinute, total, service=service, minute=minute, country_code="IT")  # every place is Italian
    _bump(ProblemMinute, total, service=service, minute=minute, problem=problem)
    for name, n in cities.items():
        _bump(CityMinute, n, service=service, minute=minute, city=city(name))


def _bump(model, n: int, **key) -> None:
    row, created = model.objects.get_or_create(defaults={"count": n}, **key)
    if not created:
        row.count += n
        row.save(update_fields=["count"])


def usual_week(service: Service, *, now: dt.datetime, cities: dict[str, int], minutes: int = 60) -> None:
    """The same reports at the same clock time on each of the previous seven days, spread
    over the `minutes` before that moment (one minute row every 15 minutes). Rows go in
    with one bulk insert per table: these minutes are never written twice."""
    places = {name: city(name) for name in cities}
    steps = max(1, minutes // 15)
    service_rows, country_rows, problem_rows, city_rows = [], [], [], []
    for day in range(1, 8):
        for step in range(steps):
            minute = (now - dt.timedelta(days=day, minutes=1 + 15 * step)).replace(second=0, microsecond=0)
            share = {name: n // steps + (1 if step < n % steps else 0) for name, n in cities.items()}
            share = {name: n for name, n in share.items() if n}
            if not share:
                continue
            total = sum(share.values())
            service_rows.append(ServiceMinute(service=service, minute=minute, count=total))
            country_rows.append(CountryMinute(service=service, minute=minute, country_code="IT", count=total))
            problem_rows.append(ProblemMinute(service=service, minute=minute, problem="login", count=total))
            city_rows += [
                CityMinute(service=service, minute=minute, city=places[name], count=n)
                for name, n in share.items()
            ]
    ServiceMinute.objects.bulk_create(service_rows)
    CountryMinute.objects.bulk_create(country_rows)
    ProblemMinute.objects.bulk_create(problem_rows)
    CityMinute.objects.bulk_create(city_rows)


def outage_now(service: Service, *, now: dt.datetime) -> None:
    """The ChatGPT scenario in miniature: most reports from Milano, Roma, Napoli, Bologna."""
    for step in range(4):
        at = now - dt.timedelta(minutes=2 + 15 * step)
        add_reports(
            service, at=at, cities={"Milan": 50, "Rome": 34, "Naples": 18, "Bologna": 13}, problem="login"
        )
        add_reports(service, at=at, cities={"Milan": 10, "Rome": 6}, problem="app")
