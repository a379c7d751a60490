"""Public pages under load: the service page and the map endpoint with 10 million reports
counted in PostgreSQL.

    .venv/bin/python bench/pages.py [--reports 10000000] [--days 30] [--requests 200] [--reload]

Creates (once) a separate database `downradar_bench_pages` on the local PostgreSQL, migrates
it, and writes the minute count rows of N reports straight in with SQL: spread over `--days`
and over the catalogue plus 185 synthetic services (skewed, a few big ones) and 2,000 cities
(skewed, coordinates around Italy), plus a ChatGPT outage in four cities during the last
hour. The per-report table is left empty: pages read the count tables only (and the
not-yet-aggregated reports through a partial index).

Then times repeated GETs through the Django test client (the whole middleware stack, with
production settings, Redis as the cache) and prints p50/p95/max per URL. The map's baselines
are cached for 10 minutes; "cold" rows clear the cache before every request.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BENCH_DB = "downradar_bench_pages"
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
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE reports_cityminute, reports_serviceminute, reports_problemminute, "
            "reports_countryminute, reports_report"
        )
        # Synthetic services next to the catalogue, and 2,000 cities around Italy.
        cur.execute(
            """
            INSERT INTO outages_service (slug, name, category, home_url, status_page_url, timezone,
                                         is_active, created_at)
            SELECT 'bench-' || i, 'Bench service ' || i, 'Bench', '', '', 'Europe/Rome', true, now()
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
            GROUP BY s, c, m
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
            ON CONFLICT (service_id, city_id, minute) DO UPDATE SET count = reports_cityminute.count + EXCLUDED.count
            """,
            {"chatgpt": service_ids[0]},
        )
        cur.execute(
            """
            INSERT INTO reports_serviceminute (service_id, minute, count)
            SELECT service_id, minute, sum(count) FROM reports_cityminute GROUP BY 1, 2
            """
        )
        cur.execute(
            """
            INSERT INTO reports_problemminute (service_id, problem, minute, count)
            SELECT service_id, 'login', minute, ceil(count * 0.7) FROM reports_serviceminute
            UNION ALL
            SELECT service_id, 'app', minute, count - ceil(count * 0.7) FROM reports_serviceminute
            WHERE count - ceil(count * 0.7) > 0
            """
        )
        cur.execute("ANALYZE")
        cur.execute("SELECT sum(count), count(*) FROM reports_cityminute")
        total, rows = cur.fetchone()
    print(f"loaded {total:,} reports as {rows:,} city-minute rows in {time.monotonic() - started:.0f} s")


def measure(url: str, n: int, *, cold: bool = False) -> list[float]:
    from django.core.cache import cache
    from django.test import Client

    client = Client(HTTP_ACCEPT_LANGUAGE="it", HTTP_HOST="localhost")
    timings = []
    for index in range(n + 3):
        if cold:
            cache.clear()
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
    args = parser.parse_args()

    ensure_database()
    os.environ["DATABASE_URL"] = f"{SERVER}/{BENCH_DB}"
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
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

    n = args.requests
    report("service page /s/chatgpt/", measure("/s/chatgpt/", n))
    report("service data /s/chatgpt/data.json", measure("/s/chatgpt/data.json", n))
    report("map API, all services, 1 h", measure("/api/v1/map/?minutes=60", n))
    report("map API, all services, 24 h", measure("/api/v1/map/?minutes=1440", n))
    report("map API, chatgpt, 1 h", measure("/api/v1/map/?service=chatgpt&minutes=60", n))
    report(
        "map API, all services, 1 h, cold cache",
        measure("/api/v1/map/?minutes=60", max(20, n // 5), cold=True),
    )
    report(
        "map API, all, 24 h, cold cache", measure("/api/v1/map/?minutes=1440", max(20, n // 10), cold=True)
    )
    report("home /", measure("/", max(20, n // 5)))
    report("map page /map/", measure("/map/", max(20, n // 5)))


if __name__ == "__main__":
    main()
