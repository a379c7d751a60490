"""Detection speed: one live pass and a full baseline rebuild on a large database.

    .venv/bin/python -m bench.detection_speed            # prepare (once) + measure
    .venv/bin/python -m bench.detection_speed --fresh    # drop and regenerate the data

A separate PostgreSQL database (BENCH_DATABASE_URL, default downradar_bench on localhost)
gets 1,000 active services, 5,000 cities and 10 million reports over 28 days, written
straight into the minute count tables with SQL (no HTTP, no Report rows). The last hour has
reports for every service, ten national outages and ten single-city outages.

Each measurement runs in its own child process, so its peak memory (ru_maxrss) is that of
a worker doing only that job. Figures and the machine go in docs/benchmarks.md,
"Detection speed".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time

BENCH_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/downradar_bench"
)
NOW = dt.datetime(2026, 3, 10, 20, 0, tzinfo=dt.UTC)
HISTORY_DAYS = 28
SERVICES = 1000
CITIES = 5000
REPORTS = 10_000_000
OUTAGES = 10  # national: the busiest services get +50 reports a minute for 15 minutes
REGIONAL = 10  # one city of each of the next services gets +12 a minute


def _setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_DATABASE_URL
    os.environ.setdefault("DEBUG", "false")
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _psql(sql: str, database: str = "postgres") -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
    )


def prepare(fresh: bool) -> None:
    name = BENCH_DATABASE_URL.rsplit("/", 1)[1]
    exists = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname='{name}'",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if exists and not fresh:
        print(f"using existing database {name} (--fresh to regenerate)")
        return
    if exists:
        _psql(f"DROP DATABASE {name}")
    _psql(f"CREATE DATABASE {name}")
    env = {**os.environ, "DATABASE_URL": BENCH_DATABASE_URL, "DEBUG": "false"}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], env=env, check=True)
    started = time.monotonic()
    _setup_django()
    from django.db import connection

    start = NOW - dt.timedelta(days=HISTORY_DAYS)
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '256MB'")  # the GROUP BYs below sort in memory
        # Skip the per-row foreign key triggers: ids come from the rows inserted just above.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE outages_service SET is_active = false")
        cursor.execute(
            "INSERT INTO outages_service (slug, name, category, home_url, status_page_url, timezone, "
            "is_active, created_at, search_keys) SELECT 'bench-' || lpad(i::text, 4, '0'), 'Bench ' || i, "
            "'Bench', '', '', 'Europe/Rome', true, %s, 'bench ' || i || ' bench ' || lpad(i::text, 4, '0') "
            "FROM generate_series(1, %s) i",
            [start, SERVICES],
        )
        cursor.execute("SELECT min(id) FROM outages_service WHERE slug LIKE 'bench-%%'")
        first_service = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO geo_city (name_en, name_it, region, country_code, latitude, longitude, timezone) "
            "SELECT 'City ' || i, '', '', 'IT', 36 + random() * 11, 7 + random() * 11, 'Europe/Rome' "
            "FROM generate_series(1, %s) i",
            [CITIES],
        )
        cursor.execute("SELECT min(id) FROM geo_city")
        first_city = cursor.fetchone()[0]
        # Popularity is skewed (index = n * u^3): a few services and cities get most reports.
        # Reports fall between 06:00 and 24:00 UTC on every day of the history.
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_report AS SELECT "
            "  %(s0)s + floor(%(ns)s * power(random(), 3))::int AS service_id, "
            "  %(c0)s + floor(%(nc)s * power(random(), 3))::int AS city_id, "
            "  %(start)s::timestamptz + make_interval(mins => floor(random() * %(days)s)::int * 1440 "
            "      + 360 + floor(random() * 1080)::int) AS minute, "
            "  (ARRAY['app','login','website','connection','other'])[1 + floor(random() * 5)::int] AS problem "
            "FROM generate_series(1, %(n)s)",
            {
                "s0": first_service,
                "ns": SERVICES,
                "c0": first_city,
                "nc": CITIES,
                "start": start,
                "days": HISTORY_DAYS,
                "n": REPORTS,
            },
        )
        # The last 90 minutes: every service has some reports (so all 1,000 are active) ...
        cursor.execute(
            "INSERT INTO bench_report SELECT s, %(c0)s + floor(%(nc)s * power(random(), 3))::int, "
            "  %(now)s::timestamptz - make_interval(mins => 1 + floor(random() * 90)::int), 'other' "
            "FROM generate_series(%(s0)s, %(s0)s + %(ns)s - 1) s, generate_series(1, 9)",
            {"s0": first_service, "ns": SERVICES, "c0": first_city, "nc": CITIES, "now": NOW},
        )
        # ... national outages on the busiest services, regional ones on the next.
        cursor.execute(
            "INSERT INTO bench_report SELECT s, %(c0)s + floor(%(nc)s * power(random(), 3))::int, "
            "  %(now)s::timestamptz - make_interval(mins => m), 'login' "
            "FROM generate_series(%(s0)s, %(s0)s + %(k)s - 1) s, generate_series(1, 15) m, generate_series(1, 50)",
            {"s0": first_service, "k": OUTAGES, "c0": first_city, "nc": CITIES, "now": NOW},
        )
        cursor.execute(
            "INSERT INTO bench_report SELECT s, %(c0)s + 100 + s %% 50, "
            "  %(now)s::timestamptz - make_interval(mins => m), 'app' "
            "FROM generate_series(%(s1)s, %(s1)s + %(k)s - 1) s, generate_series(1, 15) m, generate_series(1, 12)",
            {"s1": first_service + OUTAGES, "k": REGIONAL, "c0": first_city, "now": NOW},
        )
        for table, keys in (
            ("reports_serviceminute", "service_id, minute"),
            ("reports_cityminute", "service_id, city_id, minute"),
            ("reports_problemminute", "service_id, problem, minute"),
        ):
            cursor.execute(
                f"INSERT INTO {table} ({keys}, count) SELECT {keys}, count(*) FROM bench_report GROUP BY {keys}"
            )
        cursor.execute("SELECT count(*) FROM bench_report")
        total = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_report")
        # Live counts arrive in time order, so a window's rows sit together on disk; the
        # GROUP BY above wrote them in key order instead. Put them back in time order.
        cursor.execute("CLUSTER reports_cityminute USING reports_cityminute_minute")
    connection.close()
    _psql("VACUUM ANALYZE", name)
    print(f"generated {total:,} reports in {time.monotonic() - started:.0f} s")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_rebuild() -> dict:
    _setup_django()
    from outages.baselines import baselines_rebuild

    started = time.monotonic()
    stored = baselines_rebuild(now=NOW)
    return {"seconds": time.monotonic() - started, "series": stored, "peak_mb": _peak_mb()}


def run_detect(active: int) -> dict:
    _setup_django()
    from django.db import connection

    from catalogue.models import Service
    from outages.detection_pass import detection_run
    from outages.models import DetectionWatermark, Incident, IncidentCity, ServiceStatus

    services = Service.objects.filter(slug__startswith="bench-").order_by("slug")
    keep = list(services.values_list("pk", flat=True)[:active])
    services.update(is_active=False)
    Service.objects.filter(pk__in=keep).update(is_active=True)
    IncidentCity.objects.all().delete()
    Incident.objects.all().delete()
    ServiceStatus.objects.all().delete()
    passes = []
    for minute in (2, 1):  # the first pass in a fresh worker reads every profile; the next hits its cache
        DetectionWatermark.objects.update_or_create(
            name="detection", defaults={"processed_through": NOW - dt.timedelta(minutes=minute + 1)}
        )
        started = time.monotonic()
        result = detection_run(now=NOW - dt.timedelta(minutes=minute - 1, seconds=-10))
        passes.append(time.monotonic() - started)
    opened = Incident.objects.count()
    regional = Incident.objects.filter(max_score__lt=6).count()
    IncidentCity.objects.all().delete()
    Incident.objects.all().delete()
    catchup_mark = NOW - dt.timedelta(minutes=11)
    DetectionWatermark.objects.filter(name="detection").update(processed_through=catchup_mark)
    started = time.monotonic()
    catchup = detection_run(now=NOW + dt.timedelta(seconds=10))
    catchup_seconds = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM reports_cityminute WHERE minute >= %s", [NOW - dt.timedelta(hours=1)]
        )
        city_rows = cursor.fetchone()[0]
    services.update(is_active=True)
    return {
        "active": active,
        "services": result.services,
        "cold_seconds": passes[0],
        "warm_seconds": passes[1],
        "catchup_minutes": catchup.minutes,
        "catchup_seconds": catchup_seconds,
        "incidents": opened,
        "regional": regional,
        "city_rows_last_hour": city_rows,
        "peak_mb": _peak_mb(),
    }


def _child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.detection_speed", *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fresh", action="store_true", help="regenerate the bench database")
    parser.add_argument("--child", choices=["rebuild", "detect"], help=argparse.SUPPRESS)
    parser.add_argument("--active", type=int, default=SERVICES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "rebuild":
        print(json.dumps(run_rebuild()))
        return
    if args.child == "detect":
        print(json.dumps(run_detect(args.active)))
        return
    prepare(args.fresh)
    rebuild = _child("--child", "rebuild")
    print(
        f"baseline rebuild: {rebuild['series']:,} series in {rebuild['seconds']:.1f} s, "
        f"peak RSS {rebuild['peak_mb']:.0f} MB"
    )
    for active in (250, 500, SERVICES):
        found = _child("--child", "detect", "--active", str(active))
        print(
            f"detection pass, {found['active']} active services: first pass in a fresh worker "
            f"{found['cold_seconds']:.2f} s, next minute {found['warm_seconds']:.2f} s, "
            f"{found['catchup_minutes']} missed minutes caught up in {found['catchup_seconds']:.2f} s; "
            f"{found['incidents']} incidents ({found['regional']} regional only); "
            f"peak RSS {found['peak_mb']:.0f} MB"
        )
    print(f"city-minute rows in the last hour: {found['city_rows_last_hour']:,}")


if __name__ == "__main__":
    main()
