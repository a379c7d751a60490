"""Private PostgreSQL, Redis, gunicorn and Celery processes for fault tests.

The fault tests stop and start the database and the cache under a running web server, so
they cannot use the shared instances `make test` points at: each process here runs on a
spare loopback port and is ended by the test that started it (by its own pid).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _terminate(process: subprocess.Popen, *, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _as_postgres(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class OwnPostgres:
    """A throwaway cluster (initdb once) that tests stop and start at will."""

    def __init__(self) -> None:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not candidates:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.bin = Path(candidates[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="downradar-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        subprocess.run(
            _as_postgres(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/downradar"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-o",
                    options,
                    "-w",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        # immediate: the outage is abrupt, like a crash or a failover.
        subprocess.run(
            _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )

    def running(self) -> bool:
        status = subprocess.run(
            _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "status"]), capture_output=True
        )
        return status.returncode == 0

    def start_if_stopped(self) -> None:
        if not self.running():
            self.start()

    def psql(self, sql: str, *, database: str = "downradar") -> str:
        result = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-XAtq",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class OwnRedis:
    """redis-server on a spare port, no persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def app_env(*, database_url: str, redis_url: str | None, var_dir: Path, **extra: str) -> dict[str, str]:
    """Production-like settings for a child process, pointed at the given services."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "TRUSTED_PROXY_COUNT", "REPORT_RATE_LIMIT"}
    }
    env.update(
        DATABASE_URL=database_url,
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        VAR_DIR=str(var_dir),
        SECRET_KEY="fault-tests-" + "k" * 40,
        DATABASE_CONNECT_TIMEOUT="1",
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


def django_run(code: str, env: dict[str, str], *, timeout: float = 120) -> object:
    """Run `code` in a Django process with `env`; it sets `result`, returned as JSON data."""
    script = (
        "import django, json\ndjango.setup()\nresult = None\n"
        + code
        + "\nprint('RESULT=' + json.dumps(result, default=str))\n"
    )
    completed = subprocess.run(
        [PYTHON, "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"child failed:\n{completed.stdout}\n{completed.stderr}")
    line = [x for x in completed.stdout.splitlines() if x.startswith("RESULT=")][-1]
    return json.loads(line.removeprefix("RESULT="))


def migrate(env: dict[str, str]) -> None:
    """The schema and beat's schedule, as a deployment sets them up before beat starts."""
    for command in (["migrate", "--no-input", "-v0"], ["setup_periodic_tasks"]):
        subprocess.run(
            [PYTHON, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=300,
            stdout=subprocess.DEVNULL,
        )


@dataclass
class Web:
    base: str
    process: subprocess.Popen
    log: Path
    pids: list[int] = field(default_factory=list)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def gunicorn(env: dict[str, str], log: Path, *, workers: int = 1, threads: int = 1) -> Iterator[Web]:
    """gunicorn on a spare port; its stdout and stderr (the app's log) go to `log`."""
    port = free_port()
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--timeout",
                "30",
                # As in production (deploy/gunicorn.conf.py): the C parser, failing if missing.
                "--http-parser",
                "fast",
            ],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=sink,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(
                        f"gunicorn did not start:\n{log.read_text(errors='replace')}"
                    ) from None
                time.sleep(0.1)
        yield Web(base=base, process=process, log=log)
    finally:
        _terminate(process)


def post_json(url: str, body: object, *, headers: dict[str, str] | None = None, timeout: float = 10):
    """(status, headers, parsed body or None, seconds taken)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, answer_headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, raw = error.code, dict(error.headers), error.read()
    elapsed = time.monotonic() - started
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    return status, answer_headers, parsed, elapsed


@contextlib.contextmanager
def celery_worker(env: dict[str, str], log: Path, *, queue: str) -> Iterator[subprocess.Popen]:
    """A real worker, one process (solo pool: the task runs in the pid we may SIGKILL)."""
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "solo",
                "-Q",
                queue,
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=sink,
        )
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text(errors="replace"):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"worker did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield process
    finally:
        _terminate(process)


@contextlib.contextmanager
def celery_beat(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A real beat on the database scheduler (the schedules in django-celery-beat's tables)."""
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(log.with_suffix(".schedule")),
            ],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=sink,
        )
    try:
        yield process
    finally:
        _terminate(process)
