"""Surge benchmark: a long load at twice the ingest benchmark's rate, with duplicates and
malformed requests, while the Celery worker and beat run as in production.

    .venv/bin/python bench/surge.py [--duration 600] [--rate 664] [--connections 64]

Reuses bench/ingest.py's set-up (fresh PostgreSQL database, migrate, gunicorn with the
production settings and TRUSTED_PROXY_COUNT=1 on a free loopback port, wrk) and adds a
Celery worker and beat on the same database and Redis, so aggregation and detection run
under the load. Each request carries X-Request-Start, stamped as nginx does when it is
sent (the app sheds one that waited too long: 503 + Retry-After). wrk paces its requests to --rate per second (each thread keeps a schedule
in its delay() hook; when the server is slower, wrk waits for it and the rate offered
falls: the achieved rate is printed). The mix, per 100 requests of the measured run:

- 75 fresh reports for "chatgpt", each from a new public IPv4 address (201),
- 20 duplicates: an address that already reported "chatgpt" (200, stored, not counted),
- 5 malformed, in turn: broken JSON, no service, an unknown problem (400), an unknown
  service (404), GET (405), a body over 4 KiB (413), text/plain (415).

Prints: the rate offered and achieved, latency, answers by status and error code, 5xx and
socket errors, the 201s against the counted rows and the 200s against the uncounted ones,
the counts the worker aggregated against the counted rows, the RSS of every process
(gunicorn master and workers, Celery worker and beat, PostgreSQL backends, Redis, wrk)
sampled over the run, and a privacy scan: the client addresses used looked for in a
pg_dump of the database, the Redis keys and values, and the server and worker logs.
Exits 1 when a check fails (5xx, socket errors, 201s != counted rows, an address found).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import ingest
import psycopg
import redis
from ingest import ROOT, VENV_BIN, BenchError, Server

# The ingest benchmark's rate when the recorded 10-minute surge ran (docs/benchmarks.md,
# "Surge"); it has since reached 888/s, twice which is past this machine's capacity.
INGEST_RATE = 332
MALFORMED_OFFSET = 2_000_000_000  # malformed requests come from their own addresses

WRK_SCRIPT = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } surge_timespec;
int clock_gettime(int clk_id, surge_timespec *tp);
]]
local ts = ffi.new("surge_timespec")
local function now()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end
-- Like nginx's X-Request-Start: when the request left the "proxy" (wall clock).
local function stamp()
  ffi.C.clock_gettime(0, ts)
  return string.format("t=%d.%03d", tonumber(ts.tv_sec), math.floor(tonumber(ts.tv_nsec) / 1e6))
end

-- Must match address() in bench/surge.py.
local OCTETS = {}
local skip = {[10]=true, [100]=true, [127]=true, [169]=true, [172]=true, [192]=true,
              [198]=true, [203]=true}
for o = 1, 223 do if not skip[o] then OCTETS[#OCTETS + 1] = o end end
local function address(n)
  local lo = n % 65536
  local rest = math.floor(n / 65536)
  local host = 1 + rest % 254
  local hi = math.floor(rest / 254)
  local bc = (lo * 40503 + 12345) % 65536
  local a = OCTETS[(lo + 7 * hi) % #OCTETS + 1]
  return string.format("%d.%d.%d.%d", a, math.floor(bc / 256), bc % 256, host)
end

local MALFORMED_OFFSET = 2000000000
local MALFORMED = {"badjson", "noservice_field", "badproblem", "unknown_service", "get", "toolarge", "texttype"}
local BIG = string.rep("x", 5000)

local threads = {}
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  threads[#threads + 1] = thread
end

function init(args)
  service = args[1]
  seconds = tonumber(args[2])
  nthreads = tonumber(args[3])
  rate = tonumber(args[4])
  mix = args[5] == "mix"
  interval = nthreads / rate
  slot = 0
  seq, fresh, malformed = 0, 0, 0
  sent, answered = 0, 0
  started, last = 0, 0
  kinds = {}
  answers = {}
end

function delay()
  local t = now()
  if started == 0 then started = t end
  if t - started >= seconds then return 3600000 end
  if slot < t then slot = t end
  local wait = slot - t
  slot = slot + interval
  return math.floor(wait * 1000)
end

local function report(ip, body, ctype)
  return wrk.format("POST", "/api/v1/reports/",
    {["Content-Type"] = ctype or "application/json", ["X-Forwarded-For"] = ip,
     ["X-Request-Start"] = stamp()}, body)
end

function request()
  if started == 0 then started = now() end
  seq = seq + 1
  -- wrk builds thread 0's first request once to check it; that one is never sent.
  if not (id == 0 and seq == 1) then sent = sent + 1 end
  local r = seq % 100
  local kind
  if mix and r < 5 then
    malformed = malformed + 1
    kind = MALFORMED[malformed % #MALFORMED + 1]
  elseif mix and r < 25 and fresh > 20 then
    kind = "duplicate"
  else
    kind = "fresh"
  end
  kinds[kind] = (kinds[kind] or 0) + 1
  if kind == "fresh" then
    local ip = address(fresh * nthreads + id)
    fresh = fresh + 1
    return report(ip, string.format('{"service": "%s", "problem": "login"}', service))
  elseif kind == "duplicate" then
    local earlier = fresh - 1 - (seq % 17)
    return report(address(earlier * nthreads + id), string.format('{"service": "%s", "problem": "app"}', service))
  end
  local ip = address(MALFORMED_OFFSET + malformed * nthreads + id)
  if kind == "badjson" then return report(ip, '{"service": "chatgpt", "problem": ')
  elseif kind == "noservice_field" then return report(ip, '{"problem": "login"}')
  elseif kind == "badproblem" then return report(ip, '{"service": "chatgpt", "problem": "teapot"}')
  elseif kind == "unknown_service" then return report(ip, '{"service": "no-such-service"}')
  elseif kind == "get" then
    return wrk.format("GET", "/api/v1/reports/", {["X-Forwarded-For"] = ip, ["X-Request-Start"] = stamp()})
  elseif kind == "toolarge" then return report(ip, '{"service": "chatgpt", "pad": "' .. BIG .. '"}')
  else return report(ip, '{"service": "chatgpt"}', "text/plain") end
end

function response(status, headers, body)
  local t = now()
  answered = answered + 1
  local code = string.match(body or "", '"error"%s*:%s*"([^"]+)"') or ""
  local key = status .. " " .. code
  answers[key] = (answers[key] or 0) + 1
  last = t
  if t - started >= seconds and answered == sent then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total = {sent = 0, answered = 0}
  local first, final = math.huge, 0
  local by_answer, by_kind = {}, {}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(total) do total[key] = total[key] + thread:get(key) end
    local s, l = thread:get("started"), thread:get("last")
    if s > 0 and s < first then first = s end
    if l > final then final = l end
    for k, n in pairs(thread:get("answers")) do by_answer[k] = (by_answer[k] or 0) + n end
    for k, n in pairs(thread:get("kinds")) do by_kind[k] = (by_kind[k] or 0) + n end
  end
  local function encode(t)
    local parts = {}
    for k, n in pairs(t) do parts[#parts + 1] = string.format('"%s": %d', k, n) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  local e = summary.errors
  io.write(string.format(
    'SURGE_RESULT {"sent": %d, "answered": %d, "span_s": %.6f, "answers": %s, "kinds": %s, ' ..
    '"p50_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}}\n',
    total.sent, total.answered, math.max(final - first, 0), encode(by_answer), encode(by_kind),
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
    e.connect, e.read, e.write, e.timeout))
end
"""

OCTETS = [o for o in range(1, 224) if o not in {10, 100, 127, 169, 172, 192, 198, 203}]


def address(n: int) -> str:
    """The n-th client address; the same function as address() in the Lua script."""
    lo = n % 65536
    rest = n // 65536
    host = 1 + rest % 254
    hi = rest // 254
    bc = (lo * 40503 + 12345) % 65536
    return f"{OCTETS[(lo + 7 * hi) % len(OCTETS)]}.{bc // 256}.{bc % 256}.{host}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=600, help="seconds of measured load")
    parser.add_argument("--rate", type=int, default=2 * INGEST_RATE, help="requests per second offered")
    parser.add_argument("--warmup", type=int, default=20, help="seconds of warm-up (other service)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=3, help="threads per gthread worker")
    parser.add_argument(
        "--http-parser",
        default="auto",
        choices=["auto", "fast", "python"],
        help="gunicorn's HTTP parser: auto takes the C one (gunicorn_h1c) when installed",
    )
    parser.add_argument("--sample", type=float, default=15.0, help="seconds between RSS samples")
    parser.add_argument("--database", default="downradar_bench_surge")
    args = parser.parse_args()

    wrk = ingest.ensure_wrk()
    load_before = os.getloadavg()
    started_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="bench-surge-") as tmp:
        workdir = Path(tmp)
        script = workdir / "surge.lua"
        script.write_text(WRK_SCRIPT)
        database_url = ingest.create_database(args.database)
        server = None
        background: list[subprocess.Popen] = []
        try:
            env = ingest.server_env(database_url, var_dir=workdir)
            ingest.migrate(env)
            redis.Redis.from_url(ingest.REDIS_URL).flushdb()
            server = Server(env=env, workdir=workdir, args=args)
            server.start()
            background = start_celery(env, workdir)
            sampler = RssSampler(server.pid, background, args.database, every=args.sample)
            print(f"warm-up: {args.warmup} s at {args.rate}/s for sora", flush=True)
            warm = run_wrk(wrk, script, server.url, args, service="sora", seconds=args.warmup, mix=False)
            sampler.start()
            print(f"surge: {args.duration} s at {args.rate}/s for chatgpt, started {started_at}", flush=True)
            result = run_wrk(
                wrk, script, server.url, args, service="chatgpt", seconds=args.duration, mix=True
            )
            sampler.stop()
            counted, uncounted = report_rows(database_url, "chatgpt")
            aggregated = wait_for_aggregation(database_url, "chatgpt", counted)
            incidents = incident_count(database_url, "chatgpt")
            logs = server.log.read_text(errors="replace") + "".join(
                (workdir / name).read_text(errors="replace") for name in ("worker.log", "beat.log")
            )
            privacy = privacy_scan(database_url, logs, sent=max(warm["sent"], result["sent"]) + 1000)
        finally:
            stop_all(background)
            if server is not None:
                server.stop()
            ingest.drop_database(args.database)
        server_errors = server.error_lines() if server else []

    print(f"warm-up answers  {dict(sorted(warm['answers'].items()))} (not counted below)")
    ok = print_results(args, result, counted, uncounted, aggregated, incidents, sampler, privacy)
    print(f"load average (1 min) {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    if server_errors:
        print(f"\nserver log: {len(server_errors)} error lines; the first ones:")
        print("\n".join(server_errors[:10]))
    return 0 if ok else 1


def start_celery(env: dict[str, str], workdir: Path) -> list[subprocess.Popen]:
    processes = []
    for name, command in (
        # As in the Procfile: one worker on every queue.
        (
            "worker",
            ["worker", "--loglevel", "INFO", "--concurrency", "2", "-Q", "ingest,notifications,detection"],
        ),
        ("beat", ["beat", "--loglevel", "INFO", "--schedule", str(workdir / "beat-schedule")]),
    ):
        with (workdir / f"{name}.log").open("w") as log:
            processes.append(
                subprocess.Popen(
                    [str(VENV_BIN / "celery"), "-A", "config", *command],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    deadline = time.monotonic() + 60
    while "ready." not in (workdir / "worker.log").read_text(errors="replace"):
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            stop_all(processes)
            raise BenchError(
                "the Celery worker did not start:\n" + (workdir / "worker.log").read_text()[-2000:]
            )
        time.sleep(0.2)
    return processes


def stop_all(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def run_wrk(wrk: str, script: Path, url: str, args, *, service: str, seconds: int, mix: bool) -> dict:
    grace = 10
    command = [
        wrk,
        "--threads",
        str(args.wrk_threads),
        "--connections",
        str(args.connections),
        "--duration",
        f"{seconds + grace}s",
        "--timeout",
        "10s",
        "--latency",
        "--script",
        str(script),
        url,
        "--",
        service,
        str(seconds),
        str(args.wrk_threads),
        str(args.rate),
        "mix" if mix else "plain",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + grace + 120)
    marker = next((x for x in completed.stdout.splitlines() if x.startswith("SURGE_RESULT ")), None)
    if completed.returncode != 0 or marker is None:
        raise BenchError(
            f"wrk failed ({completed.returncode}):\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}"
        )
    return json.loads(marker.removeprefix("SURGE_RESULT "))


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class RssSampler:
    """Every `every` seconds: the RSS of each process that serves the surge, by role."""

    def __init__(
        self, gunicorn_pid: int, celery: list[subprocess.Popen], database: str, *, every: float
    ) -> None:
        self.gunicorn_pid = gunicorn_pid
        self.celery = {"celery worker": celery[0].pid, "celery beat": celery[1].pid}
        self.database = database
        self.every = every
        self.samples: dict[str, list[tuple[float, int]]] = defaultdict(list)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        try:
            self.redis_pid = int(redis.Redis.from_url(ingest.REDIS_URL).info("server")["process_id"])
        except (redis.RedisError, KeyError, ValueError):
            self.redis_pid = 0

    def start(self) -> None:
        self.started = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every)
        self.sample()

    def sample(self) -> None:
        t = time.monotonic() - self.started
        roles = {"gunicorn master": [self.gunicorn_pid]}
        for i, pid in enumerate(sorted(ingest.children_of(self.gunicorn_pid))):
            roles[f"gunicorn worker {i + 1}"] = [pid]
        for role, pid in self.celery.items():
            roles[role] = [pid]
            for i, child in enumerate(sorted(ingest.children_of(pid))):
                roles[f"{role} child {i + 1}"] = [child]
        if self.redis_pid:
            roles["redis-server"] = [self.redis_pid]
        roles["wrk"] = [pid for pid in ingest.children_of(os.getpid()) if "wrk" in process_name(pid)]
        try:
            with psycopg.connect(ingest.PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
                roles["postgres backends (sum)"] = [
                    row[0]
                    for row in conn.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.database]
                    )
                ]
        except psycopg.Error:
            pass
        for role, pids in roles.items():
            if pids:
                self.samples[role].append((t, sum(rss_kib(pid) for pid in pids)))


def report_rows(database_url: str, slug: str) -> tuple[int, int]:
    with psycopg.connect(database_url, connect_timeout=3) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE counted), count(*) FILTER (WHERE NOT counted) "
            "FROM reports_report r JOIN outages_service s ON s.id = r.service_id WHERE s.slug = %s",
            [slug],
        ).fetchone()
    return row[0], row[1]


def aggregated_count(database_url: str, slug: str) -> int:
    with psycopg.connect(database_url, connect_timeout=3) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(count), 0) FROM reports_serviceminute m "
            "JOIN outages_service s ON s.id = m.service_id WHERE s.slug = %s",
            [slug],
        ).fetchone()
    return int(row[0])


def wait_for_aggregation(database_url: str, slug: str, counted: int, *, timeout: float = 120) -> int:
    """The worker's per-minute counts once beat's aggregation has caught up (or the timeout)."""
    deadline = time.monotonic() + timeout
    total = aggregated_count(database_url, slug)
    while total < counted and time.monotonic() < deadline:
        time.sleep(2)
        total = aggregated_count(database_url, slug)
    time.sleep(12)  # one more aggregation run: a double count would show now
    return aggregated_count(database_url, slug)


def incident_count(database_url: str, slug: str) -> int:
    with psycopg.connect(database_url, connect_timeout=3) as conn:
        return conn.execute(
            "SELECT count(*) FROM outages_incident i JOIN outages_service s ON s.id = i.service_id "
            "WHERE s.slug = %s",
            [slug],
        ).fetchone()[0]


IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")


def privacy_scan(database_url: str, logs: str, *, sent: int) -> dict[str, int]:
    """How many of the client addresses used appear in the database, Redis and the logs."""
    used = {address(n) for n in range(sent)} | {address(MALFORMED_OFFSET + n) for n in range(sent)}
    # The scan itself must be able to find one: an address inside other text.
    if len(set(IPV4.findall(f'"ip": "{address(7)}",')) & used) != 1:
        raise BenchError("the privacy scan cannot find an address it should")
    dump = subprocess.run(
        ["pg_dump", "--data-only", database_url.replace("postgres://", "postgresql://")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    client = redis.Redis.from_url(ingest.REDIS_URL)
    parts = []
    for key in client.scan_iter("*"):
        parts.append(key.decode(errors="replace"))
        kind = client.type(key)
        if kind == b"string":
            parts.append((client.get(key) or b"").decode(errors="replace"))
        elif kind == b"list":
            parts.extend(item.decode(errors="replace") for item in client.lrange(key, 0, -1))
        elif kind == b"hash":
            parts.extend(value.decode(errors="replace") for value in client.hvals(key))
    cached = "\n".join(parts)
    found = {}
    for name, text in (("database dump", dump), ("redis", cached), ("logs", logs)):
        found[name] = len(set(IPV4.findall(text)) & used)
    found["bytes scanned"] = len(dump) + len(cached) + len(logs)
    found["addresses used"] = len(used)
    return found


def print_results(args, result, counted, uncounted, aggregated, incidents, sampler, privacy) -> bool:
    answers: dict[str, int] = result["answers"]
    by_status: dict[int, int] = defaultdict(int)
    for key, n in answers.items():
        by_status[int(key.split()[0])] += n
    five_xx = sum(n for status, n in by_status.items() if status >= 500)
    shed = answers.get("503 overloaded", 0)  # load shed: 503 + Retry-After, asked to retry
    socket_errors = sum(result["errors"].values())
    unanswered = result["sent"] - result["answered"]
    achieved = result["answered"] / result["span_s"] if result["span_s"] else 0.0
    print()
    print(
        f"server: gunicorn {args.workers} x {args.worker_class} ({args.threads} threads), Celery worker"
        f" (2 processes) and beat; wrk {args.wrk_threads} threads, {args.connections} connections"
    )
    print(f"rate             offered {args.rate}/s, achieved {achieved:.1f}/s")
    print(
        f"                 ({result['answered']} answered of {result['sent']} sent in {result['span_s']:.1f} s)"
    )
    print(
        f"latency p50/p99  {result['p50_ms']:.1f} / {result['p99_ms']:.1f} ms (max {result['max_ms']:.0f} ms)"
    )
    print(f"sent by kind     {dict(sorted(result['kinds'].items()))}")
    print(f"answers          {dict(sorted(by_status.items()))}")
    print(
        "4xx by code      " + ", ".join(f"{k}: {n}" for k, n in sorted(answers.items()) if k.startswith("4"))
    )
    print(f"5xx              {five_xx} (of which load shed, 503 overloaded: {shed})")
    print(f"socket errors    {socket_errors} {result['errors']}; unanswered {unanswered}")
    print(
        f"201s vs counted rows    {by_status.get(201, 0)} vs {counted}; "
        f"200s vs uncounted rows {by_status.get(200, 0)} vs {uncounted}"
    )
    print(f"aggregated counts       {aggregated} (counted rows {counted}); incidents opened: {incidents}")
    print("RSS (MiB)        first sample / max / last, over the run:")
    flat = True
    for role, series in sorted(sampler.samples.items()):
        values = [kib / 1024 for _, kib in series]
        # Growth over the second half of the run: a leak keeps climbing, a warm cache does not.
        half = values[len(values) // 2]
        growth = (values[-1] - half) / half if half else 0.0
        if role.startswith(("gunicorn", "celery")) and growth > 0.10:
            flat = False
        print(
            f"  {role:26s} {values[0]:8.1f} / {max(values):8.1f} / {values[-1]:8.1f}"
            f"   second half {growth:+.1%}  ({len(values)} samples)"
        )
    print(f"privacy scan     {privacy}")
    checks = {
        "zero 5xx": five_xx == 0,
        "no 5xx but load shedding's 503": five_xx == shed,
        "zero socket errors or unanswered": socket_errors == 0 and unanswered == 0,
        "201s == counted rows": by_status.get(201, 0) == counted,
        "200s == uncounted rows": by_status.get(200, 0) == uncounted,
        "aggregated once": aggregated == counted,
        "memory flat (app processes grow < 10% over the second half)": flat,
        "no client address stored or logged": not any(privacy[k] for k in ("database dump", "redis", "logs")),
    }
    for name, passed in checks.items():
        print(f"  {'ok  ' if passed else 'FAIL'} {name}")
    return all(checks.values())


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench/surge.py: {exc}", file=sys.stderr)
        sys.exit(2)
