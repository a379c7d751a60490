"""Public pages under load: the service page and the map endpoint with 10 million reports
counted in PostgreSQL.

    .venv/bin/python bench/pages.py [--reports 10000000] [--days 30] [--requests 200] [--reload]
                                    [--country IT]

Creates (once) a separate database `downradar_bench_pages` on the local PostgreSQL, migrates
it, and writes the minute count rows of N reports straight in with SQL: spread over `--days`
and over the catalogue plus 185 synthetic services (skewed, a few big ones) and 2,000 cities
(skewed, coordinates around Italy), plus a ChatGPT outage in four cities during the last
hour. The per-report table is left empty: pages read the count tables only (and the
not-yet-aggregated reports through a partial index).

The country counts (CountryMinute) are summed from the city rows. With `--country IT` the
home page, the service page and its JSON are timed for that country as well (its own
counts, cities, problems and stored status).

Then times repeated GETs through the Django test client (the whole middleware stack, with
production settings, Redis as the cache) and prints p50/p95/max per URL: warm (the shared
answers cached, as for nearly every visitor during an outage), cold (the shared answer
missed before every request), slot renewal (the map's cached 10-minute block of the window
missed too, as once per slot) and coldest (the whole cache emptied, the map's slow-moving
baselines included). As config/wsgi.py does in service, the start-up objects are frozen
out of the garbage collector (gc.freeze()) before timing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# A branch with migrations of its own can keep its own copy: BENCH_PAGES_DB=... (a name).
BENCH_DB = os.environ.get("BENCH_PAGES_DB", "downradar_bench_pages")
SERVER = "postgres://postgres@127.0.0.1:5432"


def ensure_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f"CREATE DATABASE {BENCH_DB}")


def load(reports: int, days: int) -> None:
    from django.db import connection

    started = time.monotonic()
    tables = ["reports_cityminute", "reports_serviceminute", "reports_problemminute"]
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE reports_cityminute, reports_serviceminute, reports_problemminute, "
            "reports_countryminute, reports_report"
        )
        # A bulk load is faster into bare tables: drop the unique keys and secondary
        # indexes, load, and build them again at the end (exactly as the migrations made them).
        cur.execute("SET work_mem = '512MB'")
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute(
            """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = ANY(%s::regclass[]) AND contype = 'u'
            """,
            [tables],
        )
        constraints = cur.fetchall()
        for table, name, _ in constraints:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cur.execute(
            """
            SELECT indexname, indexdef FROM pg_indexes
            WHERE tablename = ANY(%s) AND indexname NOT LIKE '%%_pkey'
            """,
            [tables],
        )
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        # Synthetic services next to the catalogue, and 2,000 cities around Italy.
        cur.execute(
            """
            INSERT INTO outages_service (slug, name, category, home_url, status_page_url, timezone,
                                         is_active, created_at, search_keys)
            SELECT 'bench-' || i, 'Bench service ' || i, 'Bench', '', '', 'Europe/Rome', true, now(),
                   'benchservice' || i || ' bench' || i
            FROM generate_series(1, 185) AS i
            ON CONFLICT (slug) DO NOTHING
            """
        )
        cur.execute(
            """
            INSERT INTO geo_city (name_en, name_it, region, country_code, latitude, longitude, timezone)
            SELECT 'Bench city ' || i, 'Città di prova ' || i, 'Bench', 'IT',
                   37 + random() * 9, 7 + random() * 11, 'Europe/Rome'
            FROM generate_series(1, 2000) AS i
            ON CONFLICT DO NOTHING
            """
        )
        cur.execute("SELECT array_agg(id ORDER BY slug <> 'chatgpt', id) FROM outages_service")
        service_ids = cur.fetchone()[0]
        cur.execute("SELECT array_agg(id ORDER BY id) FROM geo_city")
        city_ids = cur.fetchone()[0]
        # One row per report, grouped into (city, service, minute) cells: skewed so a few
        # services and cities carry most reports, as in life.
        cur.execute(
            """
            INSERT INTO reports_cityminute (service_id, city_id, minute, count)
            SELECT s, c, m, count(*) FROM (
                SELECT (%(services)s::bigint[])
                           [1 + floor(array_length(%(services)s::bigint[], 1) * random() ^ 3)::int] AS s,
                       (%(cities)s::bigint[])
                           [1 + floor(array_length(%(cities)s::bigint[], 1) * random() ^ 2)::int] AS c,
                       date_trunc('minute', now()) - make_interval(mins => floor(random() * %(minutes)s)::int) AS m
                FROM generate_series(1, %(reports)s)
            ) AS r
            GROUP BY m, s, c
            ORDER BY m  -- rows arrive in time order in life, so they lie in time order on disk
            """,
            {"services": service_ids, "cities": city_ids, "minutes": days * 1440, "reports": reports},
        )
        # The outage: ChatGPT in Milan, Rome, Naples and Bologna over the last hour.
        cur.execute(
            """
            INSERT INTO geo_city (name_en, name_it, region, country_code, latitude, longitude, timezone)
            VALUES ('Milan', 'Milano', 'Lombardy', 'IT', 45.46, 9.19, 'Europe/Rome'),
                   ('Rome', 'Roma', 'Lazio', 'IT', 41.89, 12.51, 'Europe/Rome'),
                   ('Naples', 'Napoli', 'Campania', 'IT', 40.85, 14.27, 'Europe/Rome'),
                   ('Bologna', 'Bologna', 'Emilia-Romagna', 'IT', 44.49, 11.34, 'Europe/Rome')
            ON CONFLICT DO NOTHING
            """
        )
        cur.execute(
            """
            INSERT INTO reports_cityminute (service_id, city_id, minute, count)
            SELECT %(chatgpt)s, city.id, date_trunc('minute', now()) - make_interval(mins => m), n
            FROM geo_city AS city
            JOIN (VALUES ('Milan', 40), ('Rome', 27), ('Naples', 14), ('Bologna', 10)) AS share(name, n)
              ON city.name_en = share.name AND city.region <> 'Bench'
            CROSS JOIN generate_series(0, 59) AS m
            """,
            {"chatgpt": service_ids[0]},
        )
        # Fold the outage rows into the random ones of the same cell (no unique key yet).
        cur.execute(
            """
            WITH dup AS (
                DELETE FROM reports_cityminute AS row
                WHERE row.minute >= date_trunc('minute', now()) - interval '60 minutes'
                  AND (row.service_id, row.city_id, row.minute) IN (
                      SELECT service_id, city_id, minute FROM reports_cityminute
                      WHERE minute >= date_trunc('minute', now()) - interval '60 minutes'
                      GROUP BY 1, 2, 3 HAVING count(*) > 1)
                RETURNING row.service_id, row.city_id, row.minute, row.count
            )
            INSERT INTO reports_cityminute (service_id, city_id, minute, count)
            SELECT service_id, city_id, minute, sum(count) FROM dup GROUP BY 1, 2, 3
            """
        )
        cur.execute(
            """
            INSERT INTO reports_serviceminute (service_id, minute, count)
            SELECT service_id, minute, sum(count) FROM reports_cityminute GROUP BY minute, service_id
            ORDER BY minute
            """
        )
        cur.execute(
            """
            INSERT INTO reports_problemminute (service_id, problem, minute, count)
            SELECT service_id, 'login', minute, ceil(count * 0.7) FROM reports_serviceminute
            UNION ALL
            SELECT service_id, 'app', minute, count - ceil(count * 0.7) FROM reports_serviceminute
            WHERE count - ceil(count * 0.7) > 0
            ORDER BY 3
            """
        )
        for table, name, definition in constraints:
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            # A partitioned table's index reads "ON ONLY parent": build it on every partition.
            cur.execute(definition.replace(" ON ONLY ", " ON "))
        cur.execute("RESET work_mem")
        cur.execute("SELECT sum(count), count(*) FROM reports_cityminute")
        total, rows = cur.fetchone()
    # As autovacuum would leave them: visibility map set (index-only scans), statistics fresh.
    with connection.cursor() as cur:
        connection.ensure_connection()
        cur.execute("VACUUM ANALYZE")
    print(f"loaded {total:,} reports as {rows:,} city-minute rows in {time.monotonic() - started:.0f} s")


def country_rows() -> None:
    """The per-country minute counts, as the aggregation writes them beside the city rows:
    summed from the city rows (every report here has a city). Idempotent."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM reports_countryminute)")
        if cur.fetchone()[0]:
            return
        started = time.monotonic()
        cur.execute(
            """
            INSERT INTO reports_countryminute (service_id, country_code, minute, count)
            SELECT row.service_id, city.country_code, row.minute, sum(row.count)
            FROM reports_cityminute AS row JOIN geo_city AS city ON city.id = row.city_id
            GROUP BY row.minute, row.service_id, city.country_code
            ORDER BY row.minute
            """
        )
        cur.execute("VACUUM ANALYZE reports_countryminute")
    print(f"summed the country minute rows in {time.monotonic() - started:.0f} s")


def page_rows() -> int:
    """What the pages show besides counts, as a running installation has them: ChatGPT's
    stored baseline (flat, at its average rate), the statuses, and an incident in progress.
    Idempotent. Returns the incident's id."""
    import numpy as np
    from django.db.models import Sum
    from django.utils import timezone

    from catalogue.models import Service
    from outages.models import Baseline, Incident, ServiceStatus
    from reports.models import ServiceMinute

    now = timezone.now()
    chatgpt = Service.objects.get(slug="chatgpt")
    total = ServiceMinute.objects.filter(service=chatgpt).aggregate(n=Sum("count"))["n"] or 0
    per_slot = total / (30 * 288)
    Baseline.objects.update_or_create(
        service=chatgpt,
        city=None,
        defaults={
            "bucket_minutes": 5,
            "timezone": "Europe/Rome",
            "expected": np.full((7, 288), per_slot, dtype="<f4").tobytes(),
            "alpha": 0.05,
            "beta": 0.0,
            "history_reports": total,
            "built_at": now,
        },
    )
    ServiceStatus.objects.update_or_create(
        service=chatgpt,
        scope="",
        defaults={"status": "outage", "count": 1365, "baseline": 240.0, "minute": now},
    )
    ServiceStatus.objects.update_or_create(
        service=chatgpt,
        scope="IT",
        defaults={"status": "outage", "evidence": "outage", "count": 1365, "baseline": 240.0, "minute": now},
    )
    incident = Incident.objects.filter(service=chatgpt).first() or Incident.objects.create(
        service=chatgpt,
        status=Incident.Status.CONFIRMED,
        started_at=now - dt.timedelta(minutes=55),
        last_spike_at=now,
        last_elevated_at=now,
        peak_at=now - dt.timedelta(minutes=15),
        peak_count=1365,
        problems=[{"code": "login", "count": 4000}, {"code": "app", "count": 1460}],
    )
    return incident.pk


def measure(url: str, n: int, *, forget: str | tuple[str, ...] | None = None) -> list[float]:
    """Times n GETs of url (after 3 warm-up ones). forget: cache key patterns deleted
    before every request ("*" for the whole cache), to time the cache misses."""
    from django.core.cache import cache
    from django.test import Client

    client = Client(HTTP_ACCEPT_LANGUAGE="it", HTTP_HOST="localhost")
    timings = []
    for index in range(n + 3):
        if forget == "*":
            cache.clear()
        elif forget:
            for pattern in (forget,) if isinstance(forget, str) else forget:
                cache.delete_pattern(pattern)
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (url, response.status_code)
        if index >= 3:  # warm-up: imports, connections, template loading
            timings.append(elapsed)
    return timings


def report(label: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    print(
        f"{label:<44} n={len(ordered):<4} p50 {statistics.median(ordered):6.1f} ms"
        f"   p95 {p95:6.1f} ms   max {ordered[-1]:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--reload", action="store_true", help="reload the counts even if present")
    parser.add_argument(
        "--country", default="", help="also time the home and service pages for this country (IT)"
    )
    parser.add_argument(
        "--load-only",
        action="store_true",
        help="load the counts and stop (the load needs no quiet machine: run it under a shared lock)",
    )
    args = parser.parse_args()

    ensure_database()
    os.environ["DATABASE_URL"] = f"{SERVER}/{BENCH_DB}"
    os.environ.setdefault("REDIS_URL", os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
    os.environ.update({"DEBUG": "false", "SECURE_SSL_REDIRECT": "false", "LOG_LEVEL": "WARNING"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(sum(count), 0) FROM reports_serviceminute")
        present = cur.fetchone()[0]
    if args.reload or present < args.reports:
        load(args.reports, args.days)
    else:
        print(f"using the {present:,} reports already counted in {BENCH_DB} (--reload to rebuild)")
    country_rows()
    if args.load_only:
        return
    country = f"?country={args.country}" if args.country else ""

    n = args.requests
    incident = page_rows()
    gc.freeze()  # as config/wsgi.py does after start-up
    cold = max(20, n // 2)
    print("warm: the shared answers are in the cache, as for everyone but the first each few seconds")
    report("service page /s/chatgpt/", measure("/s/chatgpt/", n))
    report("service data /s/chatgpt/data.json", measure("/s/chatgpt/data.json", n))
    report("map API, all services, 1 h", measure("/api/v1/map/?minutes=60", n))
    report("map API, all services, 24 h", measure("/api/v1/map/?minutes=1440", n))
    report("map API, chatgpt, 1 h", measure("/api/v1/map/?service=chatgpt&minutes=60", n))
    report(
        "map API, chatgpt, 24 h (service page map)", measure("/api/v1/map/?service=chatgpt&minutes=1440", n)
    )
    report("home /", measure("/", n))
    if country:
        report(f"service page /s/chatgpt/{country}", measure(f"/s/chatgpt/{country}", n))
        report(f"service data, {args.country}", measure(f"/s/chatgpt/data.json{country}", n))
        report(f"home /{country}", measure(f"/{country}", n))
    report("incident page", measure(f"/incidents/{incident}/", n))
    report("map page /map/", measure("/map/", n))
    print("cold: the shared answer missed (the map's slow-moving baselines still cached)")
    report("service page /s/chatgpt/", measure("/s/chatgpt/", cold, forget="*pages:service:*"))
    report(
        "service data /s/chatgpt/data.json", measure("/s/chatgpt/data.json", cold, forget="*pages:service:*")
    )
    report("map API, all services, 1 h", measure("/api/v1/map/?minutes=60", cold, forget="*map:response:*"))
    report(
        "map API, all services, 24 h", measure("/api/v1/map/?minutes=1440", cold, forget="*map:response:*")
    )
    report(
        "map API, chatgpt, 1 h",
        measure("/api/v1/map/?service=chatgpt&minutes=60", cold, forget="*map:response:*"),
    )
    report(
        "map API, chatgpt, 24 h",
        measure("/api/v1/map/?service=chatgpt&minutes=1440", cold, forget="*map:response:*"),
    )
    report("home /", measure("/", cold, forget="*pages:hours:*"))
    if country:
        report(
            f"service page /s/chatgpt/{country}",
            measure(f"/s/chatgpt/{country}", cold, forget="*pages:service:*"),
        )
        report(f"home /{country}", measure(f"/{country}", cold, forget="*pages:hours:*"))
    print("slot renewal: the shared answer and the map's block of closed slots missed (once per 10 min)")
    renew = ("*map:response:*", "*map:block:*")
    report("map API, all services, 1 h", measure("/api/v1/map/?minutes=60", cold, forget=renew))
    report("map API, all services, 24 h", measure("/api/v1/map/?minutes=1440", 10, forget=renew))
    report("map API, chatgpt, 24 h", measure("/api/v1/map/?service=chatgpt&minutes=1440", cold, forget=renew))
    print("coldest: the whole cache emptied before every request")
    report("service page /s/chatgpt/", measure("/s/chatgpt/", cold, forget="*"))
    if country:
        report(f"service page /s/chatgpt/{country}", measure(f"/s/chatgpt/{country}", cold, forget="*"))
    report("map API, all services, 1 h", measure("/api/v1/map/?minutes=60", cold, forget="*"))
    report("map API, chatgpt, 1 h", measure("/api/v1/map/?service=chatgpt&minutes=60", cold, forget="*"))
    report("map API, chatgpt, 24 h", measure("/api/v1/map/?service=chatgpt&minutes=1440", cold, forget="*"))
    report("map API, all services, 24 h", measure("/api/v1/map/?minutes=1440", 10, forget="*"))


if __name__ == "__main__":
    main()
