"""Report ingest benchmark: POST /api/v1/reports/ under load, against /healthz on the same server.

    .venv/bin/python bench/ingest.py [--duration 25] [--connections 32] [--workers 3 --threads 3]

Creates a fresh PostgreSQL database (default downradar_bench_ingest on 127.0.0.1:5432, user
postgres), migrates it, and starts gunicorn with the production settings (DEBUG off, Redis
cache, TRUSTED_PROXY_COUNT=1, no access log) on a free loopback port. wrk then posts reports
from distinct public IPv4 addresses in X-Forwarded-For, one address per request, so neither
dedupe nor the rate limit applies: every report must answer 201 and add one row.

Phases: a warm-up (other services, the same addresses: opens connections, loads the geo
databases, creates the cities) that is not reported, the measured report run (service "chatgpt"), then /healthz
with the same wrk settings. At the deadline the Lua script's connections go quiet (wrk's
delay() hook) and each wrk thread stops once every report it sent has been answered, so
no request is cut off mid-flight and the 201s it counted can be compared exactly with
the rows in reports_report. The CPU used by gunicorn, the PostgreSQL backends, Redis
and wrk during each run is read from /proc and printed per request.

Prints reports/s, p50/p99 latency, errors, 201s against rows, healthz req/s and the ratio;
exits 1 when 201s and rows differ, 2 when the set-up fails. Everything it starts (gunicorn,
the database) is stopped and dropped on the way out.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"

# Must match NETWORKS in the Lua script.
NETWORKS = 1024
WARMUP_SERVICES = ("sora", "whatsapp", "instagram", "facebook", "youtube", "gmail")

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
# Database 12: `make test` takes 15 and the ones below it for its workers (tests/redis_per_worker.py),
# and this bench flushes its database, so it must never share one with a test run.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")

# Runs inside wrk (LuaJIT). Thread-local counters are summed in done(), which runs in the
# main Lua state and can only read the threads' globals through thread:get().
WRK_SCRIPT = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- First octets whose whole /8 is global unicast (no private, shared, loopback,
-- link-local, documentation, benchmarking or multicast ranges inside).
local OCTETS = {}
local skip = {[10]=true, [100]=true, [127]=true, [169]=true, [172]=true, [192]=true,
              [198]=true, [203]=true}
for o = 1, 223 do if not skip[o] then OCTETS[#OCTETS + 1] = o end end
local PROBLEMS = {"app", "login", "website", "connection", "other"}

local threads = {}
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  threads[#threads + 1] = thread
end

function init(args)
  mode = args[1]                       -- "reports" or "healthz"
  service = args[2]
  seconds = tonumber(args[3])          -- how long to post reports
  nthreads = tonumber(args[4])
  healthz = wrk.format("GET", "/healthz")
  counter = 0
  sent, answered, created = 0, 0, 0
  started, last = 0, 0
  statuses = {}
end

-- Address number n -> a distinct public IPv4 address: host 1-254 in one of 1024 /24
-- networks spread over the public /8s (about 550 cities in the bundled database), so
-- the warm-up creates the cities and the measured run sees a warm server, as in
-- production. Distinct for n < 1024 * 254; past that, dedupe would answer 200.
local NETWORKS = 1024
local function address(n)
  local j = n % NETWORKS
  return string.format("%d.%d.%d.%d", OCTETS[j % #OCTETS + 1], (j * 97 + 13) % 256,
    (j * 31 + 7) % 256, 1 + math.floor(n / NETWORKS) % 254)
end

-- Past the deadline each connection goes quiet instead of sending more: the thread
-- stops once every report it sent is answered, so nothing is cut off mid-flight and
-- no filler requests blur the latency figures. (Called before every request.)
function delay()
  if mode == "reports" and started > 0 and now() - started >= seconds then
    return 3600000
  end
  return 0
end

function request()
  if started == 0 then started = now() end
  if mode == "healthz" then
    sent = sent + 1
    return healthz
  end
  local n = counter * nthreads + id
  counter = counter + 1
  -- wrk calls thread 0's request() once before the run to check the request parses;
  -- that one is never sent.
  if not (id == 0 and counter == 1) then sent = sent + 1 end
  local body = string.format('{"service": "%s", "problem": "%s"}', service,
    PROBLEMS[n % #PROBLEMS + 1])
  return wrk.format("POST", "/api/v1/reports/",
    {["Content-Type"] = "application/json", ["X-Forwarded-For"] = address(n)}, body)
end

function response(status, headers, body)
  local t = now()
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
  if status == 201 then created = created + 1 end
  last = t
  if mode == "reports" and t - started >= seconds and answered == sent then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local s = {sent = 0, answered = 0, created = 0}
  local first, final = math.huge, 0
  local by_status = {}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(s) do s[key] = s[key] + thread:get(key) end
    local started_at, last_at = thread:get("started"), thread:get("last")
    if started_at > 0 and started_at < first then first = started_at end
    if last_at > final then final = last_at end
    for code, n in pairs(thread:get("statuses")) do
      by_status[code] = (by_status[code] or 0) + n
    end
  end
  local codes = {}
  for code, n in pairs(by_status) do codes[#codes + 1] = string.format('"%d": %d', code, n) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"sent": %d, "answered": %d, "created": %d, "span_s": %.6f, ' ..
    '"statuses": {%s}, "wrk_requests": %d, "wrk_duration_s": %.6f, ' ..
    '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}}\n',
    s.sent, s.answered, s.created, math.max(final - first, 0),
    table.concat(codes, ", "), summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3,
    e.connect, e.read, e.write, e.timeout, e.status))
end
"""


@dataclass(frozen=True)
class WrkResult:
    sent: int
    answered: int
    created: int
    span_s: float
    statuses: dict[str, int]
    wrk_requests: int
    wrk_duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by process kind

    @property
    def rate(self) -> float:
        return self.answered / self.span_s if self.span_s else 0.0

    @property
    def socket_errors(self) -> int:
        return sum(n for kind, n in self.errors.items() if kind != "status")

    @property
    def non_2xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if not code.startswith("2"))


class BenchError(Exception):
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=25, help="seconds of measured reports")
    parser.add_argument("--warmup", type=int, default=10, help="seconds per unreported warm-up round")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    # gthread keeps connections alive; sync closes each one and, since gunicorn 27, lingers
    # for the client's FIN. 3 x 3 measured best of 4 sync, 5 sync, 2 x 4 and 3 x 3 gthread.
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=3, help="threads per gthread worker")
    parser.add_argument(
        "--http-parser",
        default="auto",
        choices=["auto", "fast", "python"],
        help="gunicorn's HTTP parser: auto takes the C one (gunicorn_h1c) when installed",
    )
    parser.add_argument("--database", default="downradar_bench_ingest")
    args = parser.parse_args()
    if args.connections < args.wrk_threads:
        parser.error("--connections must be at least --wrk-threads")

    wrk = ensure_wrk()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        workdir = Path(tmp)
        script = workdir / "ingest.lua"
        script.write_text(WRK_SCRIPT)
        database_url = create_database(args.database)
        server = None
        try:
            env = server_env(database_url, var_dir=workdir)
            migrate(env)
            redis.Redis.from_url(REDIS_URL).flushdb()
            server = Server(env=env, workdir=workdir, args=args)
            server.start()

            meter = CpuMeter(gunicorn_pid=server.pid, database=args.database)

            def run(mode: str, service: str, seconds: int) -> WrkResult:
                before = meter.snapshot()
                result = run_wrk(wrk, script, server.url, args, mode=mode, service=service, seconds=seconds)
                after = meter.snapshot()
                result.cpu.update(meter.spent(before, after))
                return result

            # Each worker builds the gazetteer index (seconds of CPU) on its first new city,
            # so warm up in rounds, one service each (same addresses, no dedupe), until
            # every network has been seen twice.
            warmed = 0
            for service in WARMUP_SERVICES:
                print(f"warm-up: {args.warmup} s of reports for {service}", flush=True)
                warm = run("reports", service, args.warmup)
                warmed += warm.answered
                if warmed >= 2 * NETWORKS:
                    break
            run("healthz", "", 3)
            print(f"measuring: {args.duration} s of reports, then {args.duration} s of /healthz", flush=True)
            reports = run("reports", "chatgpt", args.duration)
            rows = report_rows(database_url, "chatgpt")
            health = run("healthz", "", args.duration)
            cities = city_rows(database_url)
        finally:
            if server is not None:
                server.stop()
            drop_database(args.database)
        server_errors = server.error_lines() if server else []

    print_results(args, reports, health, rows, warmed, cities)
    print(
        f"load average (1 min) {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after"
        " (anything else running shares the 2 cores)"
    )
    if server_errors:
        print(f"\nserver log: {len(server_errors)} error lines; the first ones:")
        print("\n".join(server_errors[:10]))
    if reports.created != rows:
        print("FAIL: the 201s counted by wrk and the rows in reports_report differ")
        return 1
    return 0


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
        wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("wrk is not installed and could not be installed: apt-get install wrk")
    return wrk


def create_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_env(database_url: str, *, var_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "CELERY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        # Plain HTTP on loopback: no TLS to redirect to.
        SECURE_SSL_REDIRECT="false",
        # wrk plays the one reverse proxy that appends the client to X-Forwarded-For.
        TRUSTED_PROXY_COUNT="1",
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        # Every request comes from a new address; the budget only has to stay out of the way.
        REPORT_RATE_LIMIT="1000/m",
        SECRET_KEY=secrets.token_urlsafe(50),
        VAR_DIR=str(var_dir),
    )
    return env


def migrate(env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", "migrate", "--no-input", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise BenchError(f"migrate failed:\n{result.stderr[-2000:]}")


def http_parser_in_use(setting: str) -> str:
    """Which parser gunicorn's "auto" resolves to: the C one when gunicorn_h1c imports."""
    if setting != "auto":
        return setting
    try:
        import gunicorn_h1c  # noqa: F401
    except ImportError:
        return "python"
    return "fast"


class Server:
    """gunicorn in its own process group, stopped with SIGTERM (then SIGKILL) on exit."""

    def __init__(self, *, env: dict[str, str], workdir: Path, args: argparse.Namespace) -> None:
        self.env = env
        self.log = workdir / "gunicorn.log"
        self.args = args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [
            str(VENV_BIN / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.args.workers),
            "--worker-class",
            self.args.worker_class,
            "--threads",
            str(self.args.threads),
            "--http-parser",
            self.args.http_parser,
            "--backlog",
            "2048",
            # No access log: it would only cost time (and must never hold client addresses).
            "--error-logfile",
            str(self.log),
            "--log-level",
            "warning",
        ]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited at start-up:\n{self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise BenchError("gunicorn did not answer /healthz within 120 s")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def error_lines(self) -> list[str]:
        if not self.log.exists():
            return []
        return [line for line in self.log.read_text().splitlines() if "ERROR" in line or "Traceback" in line]


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """user + system CPU of one process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


class CpuMeter:
    """CPU seconds spent by gunicorn (master and workers), the PostgreSQL backends serving
    the bench database, Redis, and wrk: where a request's time goes, summed over a run.
    Redis is shared with anything else using it, so its figure is an upper bound."""

    def __init__(self, *, gunicorn_pid: int, database: str) -> None:
        self.gunicorn_pid = gunicorn_pid
        self.database = database
        try:
            self.redis_pid = int(redis.Redis.from_url(REDIS_URL).info("server")["process_id"])
        except (redis.RedisError, KeyError, ValueError):
            self.redis_pid = 0

    def snapshot(self) -> dict[str, dict[int, float]]:
        """CPU seconds so far by kind and process id."""
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            backends = [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.database]
                )
            ]
        workers = [self.gunicorn_pid, *children_of(self.gunicorn_pid)]
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {
            "gunicorn": {pid: process_cpu_seconds(pid) for pid in workers},
            "postgres": {pid: process_cpu_seconds(pid) for pid in backends},
            "redis": {self.redis_pid: process_cpu_seconds(self.redis_pid)} if self.redis_pid else {},
            # wrk is the only child reaped while a run is measured.
            "wrk": {0: children.ru_utime + children.ru_stime},
        }

    @staticmethod
    def spent(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
        # A process gone by the end (a database connection past CONN_MAX_AGE) took its
        # last figures with it: counted up to the start only, so a slight undercount.
        return {
            kind: sum(seconds - before[kind].get(pid, 0.0) for pid, seconds in after[kind].items())
            for kind in after
        }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_wrk(
    wrk: str, script: Path, url: str, args: argparse.Namespace, *, mode: str, service: str, seconds: int
) -> WrkResult:
    # Reports stop at `seconds`; wrk runs a little longer so every report sent is answered
    # (the script stops each thread early once its last report is in).
    grace = 5 if mode == "reports" else 0
    command = [
        wrk,
        "--threads",
        str(args.wrk_threads),
        "--connections",
        str(args.connections),
        "--duration",
        f"{seconds + grace}s",
        "--timeout",
        "5s",
        "--latency",
        "--script",
        str(script),
        url,
        "--",
        mode,
        service or "-",
        str(seconds),
        str(args.wrk_threads),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + grace + 60)
    marker = next((line for line in result.stdout.splitlines() if line.startswith("BENCH_RESULT ")), None)
    if result.returncode != 0 or marker is None:
        raise BenchError(
            f"wrk failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    data = json.loads(marker.removeprefix("BENCH_RESULT "))
    if mode == "healthz":
        # No deadline here: wrk's own count over its own run time.
        data["span_s"] = data["wrk_duration_s"]
        data["answered"] = data["wrk_requests"]
    return WrkResult(**data)


def report_rows(database_url: str, slug: str) -> int:
    with psycopg.connect(database_url, connect_timeout=3) as conn:
        row = conn.execute(
            "SELECT count(*) FROM reports_report r JOIN outages_service s ON s.id = r.service_id WHERE s.slug = %s",
            [slug],
        ).fetchone()
    return row[0]


def city_rows(database_url: str) -> int:
    with psycopg.connect(database_url, connect_timeout=3) as conn:
        return conn.execute("SELECT count(*) FROM geo_city").fetchone()[0]


def print_results(
    args: argparse.Namespace,
    reports: WrkResult,
    health: WrkResult,
    rows: int,
    warmed: int,
    cities: int,
) -> None:
    ratio = reports.rate / health.rate if health.rate else 0.0
    # Sent but never answered: dropped by the server with the connection (or still in
    # flight when wrk gave up). Counted as errors: the client got no answer.
    unanswered = reports.sent - reports.answered
    errors = reports.non_2xx + reports.socket_errors + unanswered
    print()
    print(
        f"server: gunicorn {args.workers} x {args.worker_class}"
        + (f" ({args.threads} threads)" if args.worker_class == "gthread" else "")
        + f", HTTP parser {args.http_parser} ({http_parser_in_use(args.http_parser)})"
        + f"; wrk {args.wrk_threads} threads, {args.connections} connections"
    )
    print(f"reports/s        {reports.rate:9.1f}   ({reports.answered} answered in {reports.span_s:.2f} s)")
    print(
        f"latency p50/p99  {reports.p50_ms:7.2f} ms / {reports.p99_ms:.2f} ms  (max {reports.max_ms:.1f} ms)"
    )
    print(
        f"errors           {errors:9d}   (non-2xx {reports.non_2xx}, socket {reports.socket_errors},"
        f" unanswered {unanswered}; wrk {reports.errors}); statuses {reports.statuses}"
    )
    print(
        f"201s vs rows     {reports.created} vs {rows}: "
        + ("equal" if reports.created == rows else f"DIFFER by {rows - reports.created}")
        + f"  (after {warmed} warm-up reports; {cities} cities)"
    )
    print(f"healthz req/s    {health.rate:9.1f}   (p50 {health.p50_ms:.2f} ms, p99 {health.p99_ms:.2f} ms)")
    print(f"reports/healthz  {ratio:9.2f}")
    for name, result in (("CPU per report ", reports), ("CPU per healthz", health)):
        count = max(result.wrk_requests, 1)
        parts = ", ".join(f"{kind} {seconds / count * 1e3:.3f}" for kind, seconds in result.cpu.items())
        print(f"{name}  ms: {parts}  (total {sum(result.cpu.values()) / count * 1e3:.3f})")
    met = reports.rate >= 1000 and ratio >= 0.5 and errors == 0 and reports.created == rows
    print(f"target (>= 1000 reports/s, >= 0.5 x healthz, 0 errors, 0 lost): {'met' if met else 'MISSED'}")


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through the finally blocks: gunicorn stopped, database dropped


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench/ingest.py: {exc}", file=sys.stderr)
        sys.exit(2)
