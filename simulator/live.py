"""A load generator: posts simulated reports to a running server, at a fixed rate or each
at its own time (the living demo's crowd).

Each report is `{"service": slug, "problem": code}` (and a `"comment"` for the few that carry
one, with their language in Accept-Language) to POST /api/v1/reports/ with its person's
address in X-Forwarded-For, for a server started with TRUSTED_PROXY_COUNT=1.
Standard library only (http.client, threads): keep-alive connections, one per worker.
Only for servers you run yourself, on this machine.
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

PATH = "/api/v1/reports/"


@dataclass
class LiveResult:
    statuses: Counter = field(default_factory=Counter)  # HTTP status -> count; 0 = no answer
    posted: int = 0  # requests sent that got an answer
    errors: int = 0  # connection errors and timeouts
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return self.posted / self.elapsed if self.elapsed else 0.0

    def summary(self) -> str:
        codes = ", ".join(f"{code}: {count}" for code, count in sorted(self.statuses.items()))
        return (
            f"posted {self.posted} reports in {self.elapsed:.1f} s ({self.rate:.0f}/s); "
            f"status codes: {codes or 'none'}; connection errors: {self.errors}"
        )


def _connection_class(scheme: str) -> type[http.client.HTTPConnection]:
    return http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection


def _http_url(url: str) -> tuple[SplitResult, str]:
    """The URL's parts and its host; a ValueError unless it is an http(s) URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return parts, parts.hostname


def server_wait(url: str, *, timeout: float) -> bool:
    """Wait until the server answers HTTP (honcho starts the crowd beside it, and gunicorn
    listens before its workers have loaded the app)."""
    parts, host = _http_url(url)
    connection_class = _connection_class(parts.scheme)
    deadline = time.monotonic() + timeout
    while True:
        connection = connection_class(host, parts.port, timeout=5)
        try:
            connection.request("GET", parts.path.rstrip("/") + "/healthz")
            connection.getresponse().read()
            return True
        except (OSError, http.client.HTTPException):
            if time.monotonic() >= deadline:
                return False
            time.sleep(1)
        finally:
            connection.close()


@dataclass(frozen=True, slots=True)
class Post:
    due: float  # seconds after the start of the run
    service: str
    problem: str
    client_ip: str
    comment: str = ""  # sent with the report, in `language` (its page's, Accept-Language)
    language: str = ""


def post_body(post: Post) -> dict[str, str]:
    """The JSON body of a report: its comment only when it has one."""
    body = {"service": post.service, "problem": post.problem}
    if post.comment:
        body["comment"] = post.comment
    return body


def live_post(
    *,
    url: str,
    services: Sequence[str],
    problems: Sequence[str],
    client_ips: Sequence[str],
    rate: float,
    duration: float,
    workers: int = 16,
    timeout: float = 10.0,
    progress: Callable[[LiveResult, int], None] | None = None,
) -> LiveResult:
    """Post report i at start + i / rate; send nothing once `duration` seconds have passed.

    A server slower than `rate` gets fewer than rate x duration reports, and the result
    says how many it got. Requests in flight at the deadline are waited for (`timeout`).
    """
    total = min(len(services), len(problems), len(client_ips))
    posts = (
        Post(index / rate, services[index], problems[index], client_ips[index]) for index in range(total)
    )
    return live_stream(
        url=url,
        posts=posts,
        duration=duration,
        workers=workers,
        timeout=timeout,
        progress=(lambda result: progress(result, total)) if progress else None,
    )


def live_stream(
    *,
    url: str,
    posts: Iterator[Post],
    duration: float | None = None,
    workers: int = 16,
    timeout: float = 10.0,
    progress: Callable[[LiveResult], None] | None = None,
) -> LiveResult:
    """Post each report at its `due` time (seconds after the start, in order) until the
    posts run out or `duration` seconds have passed (None: for ever).

    `progress` is called about once a second from the calling thread.
    """
    parts, host = _http_url(url)
    connection_class = _connection_class(parts.scheme)
    path = parts.path.rstrip("/") + PATH
    result = LiveResult()
    lock = threading.Lock()
    started = time.monotonic()
    deadline = math.inf if duration is None else started + duration

    def take() -> Post | None:
        with lock:
            return next(posts, None)

    def record(status: int) -> None:
        with lock:
            if status:
                result.posted += 1
                result.statuses[status] += 1
            else:
                result.errors += 1

    def work() -> None:
        connection = None
        while (post := take()) is not None:
            due = started + post.due
            if due >= deadline:
                return
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            if time.monotonic() >= deadline:
                return  # behind schedule and out of time: what was not sent stays unsent
            body = json.dumps(post_body(post))
            headers = {"Content-Type": "application/json", "X-Forwarded-For": post.client_ip}
            if post.language:
                headers["Accept-Language"] = post.language
            for attempt in range(2):
                reused = connection is not None
                try:
                    if connection is None:
                        connection = connection_class(host, parts.port, timeout=timeout)
                    connection.request("POST", path, body=body, headers=headers)
                    response = connection.getresponse()
                    response.read()
                    record(response.status)
                    if response.getheader("Connection", "").lower() == "close":
                        connection.close()
                        connection = None
                    break
                except (OSError, http.client.HTTPException) as exc:
                    if connection is not None:
                        connection.close()
                    connection = None
                    # A kept-alive connection the server had closed: send again on a new one.
                    # Anything else (a timeout above all) may have been taken: never resend it.
                    if attempt or not reused or isinstance(exc, TimeoutError):
                        record(0)
                        break
        if connection is not None:
            connection.close()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(max(1, workers))]
    for thread in threads:
        thread.start()
    while alive := [thread for thread in threads if thread.is_alive()]:
        alive[0].join(timeout=1.0)
        if progress:
            with lock:
                result.elapsed = time.monotonic() - started
            progress(result)
    result.elapsed = time.monotonic() - started
    return result
