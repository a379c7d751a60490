"""Email subscribes while the mail server is a blackhole (issue 23: 9 concurrent subscribes held
every gunicorn worker and /healthz and report intake timed out for about 40 seconds).

    .venv/bin/python bench/mail_blackhole.py [--subscribes 9] [--redis-url redis://127.0.0.1:6379/12]

A fresh PostgreSQL database (migrated), gunicorn with deploy/gunicorn.conf.py and the
production settings on a free loopback port (TRUSTED_PROXY_COUNT=1: each subscribe names its
own client in X-Forwarded-For), and EMAIL_URL at a server on loopback that accepts every
connection and never answers. After three warm-up rounds (a refused subscribe and /healthz
from as many threads), it sends --subscribes subscribes of one address to four services at
once, and times /healthz and one report sent while they run. No Celery worker runs: the
confirmation rows wait in the outbox, as they would for a worker stuck on the blackhole.

Prints each subscribe's status and seconds, /healthz's and the report's, the connections the
blackhole accepted (0: nothing was sent by a web worker) and the outbox's confirmation rows.
Exits 1 when a subscribe is not 202, /healthz is not 200 in 2 s, or a connection was made.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
from ingest import ROOT, VENV_BIN, create_database, drop_database, free_port, migrate, server_env

SERVICES = ("chatgpt", "whatsapp", "instagram", "facebook")
VICTIM = "victim@example.org"


class Blackhole:
    """Accepts connections and says nothing until the bench ends."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.accepted = 0
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.accepted += 1
            self.held.append(connection)

    def close(self) -> None:
        self.socket.close()
        for connection in self.held:
            connection.close()


def fetch(request: urllib.request.Request | str, *, timeout: float = 60) -> tuple[int | str, float, bytes]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status: int | str = response.status
            body = response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    except OSError as error:
        status, body = repr(error), b""
    return status, time.monotonic() - started, body


def form_post(base: str, slug: str, email: str, csrf: tuple[str, str], client: str) -> urllib.request.Request:
    cookie, token = csrf
    return urllib.request.Request(
        f"{base}/s/{slug}/subscribe/email/",
        data=f"csrfmiddlewaretoken={token}&email={email}".encode(),
        headers={
            "Cookie": f"csrftoken={cookie}",
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Forwarded-For": client,
        },
    )


def at_once(count: int, work) -> None:
    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribes", type=int, default=9)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
    args = parser.parse_args()

    hole = Blackhole()
    name = f"downradar_mail_bench_{int(time.time())}"
    database_url = create_database(name)
    workdir = Path(tempfile.mkdtemp(prefix="mail-blackhole-"))
    port = free_port()
    env = server_env(database_url, var_dir=workdir)
    env.update(
        REDIS_URL=args.redis_url,
        EMAIL_URL=f"smtp://127.0.0.1:{hole.port}",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEBHOOK_MAX_PER_CLIENT="1000",
    )
    web = None
    try:
        migrate(env)
        log = (workdir / "gunicorn.log").open("wb")
        web = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not isinstance(fetch(f"{base}/healthz", timeout=1)[0], int):
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)
        with urllib.request.urlopen(f"{base}/s/chatgpt/subscribe/", timeout=10) as page:
            cookie = re.search(r"csrftoken=([^;]+)", page.headers["Set-Cookie"])[1]
            token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.read())[1].decode()
        csrf = (cookie, token)

        def warm(i: int) -> None:
            fetch(form_post(base, SERVICES[i % 4], "not-an-address", csrf, f"203.0.113.{i + 1}"))
            fetch(f"{base}/healthz")

        for _ in range(3):
            at_once(args.subscribes, warm)

        answers: list[tuple[int | str, float]] = []

        def subscribe(i: int) -> None:
            client = f"198.51.100.{i + 1}"
            answers.append(fetch(form_post(base, SERVICES[i % 4], VICTIM, csrf, client))[:2])

        started = time.monotonic()
        threads = [threading.Thread(target=subscribe, args=(i,)) for i in range(args.subscribes)]
        for thread in threads:
            thread.start()
        time.sleep(0.05)
        health = fetch(f"{base}/healthz")[:2]
        report = urllib.request.Request(
            f"{base}/api/v1/reports/",
            data=json.dumps({"service": "chatgpt", "problem": "login"}).encode(),
            headers={"Content-Type": "application/json", "X-Forwarded-For": "192.0.2.7"},
        )
        reported = fetch(report)[:2]
        for thread in threads:
            thread.join()
        took = time.monotonic() - started
        with psycopg.connect(database_url) as conn:
            rows = conn.execute(
                "SELECT state, count(*) FROM outages_notification WHERE event = 'confirmation' GROUP BY 1"
            ).fetchall()
    finally:
        if web is not None:
            web.terminate()
            web.wait(30)
        hole.close()
        drop_database(name)

    print(f"subscribes: {sorted((status, round(seconds, 3)) for status, seconds in answers)}")
    print(f"all answered in {took:.3f} s")
    print(
        f"/healthz while they ran: {health[0]} in {health[1]:.3f} s; a report: {reported[0]} in {reported[1]:.3f} s"
    )
    print(f"connections the blackhole accepted: {hole.accepted}")
    print(f"confirmation rows in the outbox: {dict(rows)}")
    failed = any(status != 202 for status, _ in answers) or health[0] != 200 or health[1] > 2 or hole.accepted
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
