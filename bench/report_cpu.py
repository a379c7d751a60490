"""CPU of one report, in-process: Django's WSGI handler called directly, one request at a time.

    .venv/bin/python bench/report_cpu.py [--reports 5000] [--passes 3] [--profile 40]

bench/ingest.py measures the whole box under load, where the machine's own speed moves
reports/s by 10% from run to run. This measures the code alone and is steady: the web
worker's CPU per report and per /healthz (this process's CPU time: the whole middleware
stack, the view, the Redis and PostgreSQL client work), and the PostgreSQL backend's CPU per
report (read from /proc). No HTTP server and no thread hand-off, so the worker figures are
about 0.5 ms (reports) and 0.3 ms (/healthz) below what gunicorn spends per request.

Same set-up as bench/ingest.py: a fresh database (downradar_bench_report_cpu, dropped on the
way out), Redis db 12 emptied (BENCH_REDIS_URL), production settings (DEBUG off, TRUSTED_PROXY_COUNT=1), reports
for "chatgpt" from distinct public addresses in X-Forwarded-For (host 1-254 in 1,024 /24
networks), after a warm-up from the same networks that creates their cities (a few repeats
of an address within the dedupe window answer 200 instead of 201). --profile N
prints cProfile's N most expensive functions (by own time) over one more pass.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path

import ingest
import redis
from ingest import NETWORKS, REDIS_URL, ROOT, BenchError

PUBLIC_FIRST_OCTETS = [
    octet for octet in range(1, 224) if octet not in {10, 100, 127, 169, 172, 192, 198, 203}
]
BODY = b'{"service": "chatgpt", "problem": "login"}'


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=5000, help="reports (and /healthz calls) per pass")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="print the top N of a cProfile pass"
    )
    parser.add_argument("--database", default="downradar_bench_report_cpu")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-report-cpu-") as tmp:
        database_url = ingest.create_database(args.database)
        try:
            env = ingest.server_env(database_url, var_dir=Path(tmp))
            env["REPORT_RATE_LIMIT"] = "1000000/m"
            ingest.migrate(env)
            redis.Redis.from_url(REDIS_URL).flushdb()
            os.environ.update(env)
            measure(args)
        finally:
            from django.db import connections

            connections.close_all()
            ingest.drop_database(args.database)
    return 0


def measure(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    from django.db import connection

    from config.wsgi import application

    rng = random.Random(20261125)
    networks = [
        f"{rng.choice(PUBLIC_FIRST_OCTETS)}.{rng.randrange(256)}.{rng.randrange(256)}"
        for _ in range(NETWORKS)
    ]
    statuses: dict[str, int] = {}

    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        statuses[status] = statuses.get(status, 0) + 1

    def call(method: str, path: str) -> None:
        body = BODY if method == "POST" else b""
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_X_FORWARDED_FOR": f"{rng.choice(networks)}.{rng.randrange(1, 255)}",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        response = application(environ, start_response)
        b"".join(response)
        response.close()

    def backend_cpu() -> float:
        return ingest.process_cpu_seconds(connection.connection.info.backend_pid)

    print("warm-up: 8 reports per network, then 1,000 /healthz", flush=True)
    for _ in range(8 * NETWORKS):
        call("POST", "/api/v1/reports/")
    for _ in range(1000):
        call("GET", "/healthz")
    statuses.clear()

    n = args.reports
    for number in range(1, args.passes + 1):
        started, backend_started = time.process_time(), backend_cpu()
        for _ in range(n):
            call("POST", "/api/v1/reports/")
        report_ms = (time.process_time() - started) / n * 1e3
        backend_ms = (backend_cpu() - backend_started) / n * 1e3
        started = time.process_time()
        for _ in range(n):
            call("GET", "/healthz")
        healthz_ms = (time.process_time() - started) / n * 1e3
        print(
            f"pass {number}: report {report_ms:.3f} ms worker + {backend_ms:.3f} ms PostgreSQL backend;"
            f" /healthz {healthz_ms:.3f} ms worker  ({n} each)",
            flush=True,
        )
    unexpected = {
        status: count for status, count in statuses.items() if status not in {"201 Created", "200 OK"}
    }
    print(f"answers: {statuses}")
    if unexpected:
        raise BenchError(f"unexpected answers: {unexpected}")

    if args.profile:
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for _ in range(n):
            call("POST", "/api/v1/reports/")
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench/report_cpu.py: {exc}", file=sys.stderr)
        sys.exit(2)
