"""deploy/ cannot run here (no Docker engine); validate everything that can be."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_compose_has_every_part_of_the_system(compose):
    assert set(compose["services"]) == {
        "web",
        "worker",
        "notifier",
        "detector",
        "beat",
        "db",
        "broker",
        "cache",
        "nginx",
    }
    broker = " ".join(compose["services"]["broker"]["command"])
    assert "--appendonly yes" in broker and "noeviction" in broker
    assert "--appendonly no" in " ".join(compose["services"]["cache"]["command"])


def test_compose_refers_only_to_files_that_exist(compose):
    build = compose["services"]["web"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    assert (context / build["dockerfile"]).is_file()
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{source} missing"
    assert (DEPLOY / ".env.example").is_file()  # copied to .env by the operator


def test_dockerfile_runs_as_a_non_root_user_and_builds_static_and_messages():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "USER downradar" in dockerfile
    assert "collectstatic" in dockerfile and "compilemessages" in dockerfile
    for copied in ["requirements.txt", "deploy/gunicorn.conf.py"]:
        assert (ROOT / copied).is_file()


# Where the code reads the environment: the settings (and modules they load) and gunicorn's.
ENV_READERS = [*sorted((ROOT / "config").glob("*.py")), DEPLOY / "gunicorn.conf.py"]


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _environment_reads(path: Path) -> tuple[set[str], list[str]]:
    """(names read, reads whose name is not a literal) in one file: env.str("X"), env("X"),
    env_int("X", ...) and the other env_* helpers (env_secret also reads X_FILE),
    os.environ.get("X"), os.environ["X"], os.getenv("X"). The env_* helpers' own bodies,
    which read the name they are given, are skipped."""
    names: set[str] = set()
    unnamed: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("env_"):
            return
        target: ast.AST | None = None
        name_node: ast.AST | None = None
        if isinstance(node, ast.Call):
            function = node.func
            reads = (
                (isinstance(function, ast.Name) and (function.id == "env" or function.id.startswith("env_")))
                or (isinstance(function, ast.Attribute) and ast.unparse(function.value) == "env")
                or ast.unparse(function) in {"os.environ.get", "os.getenv"}
            )
            if reads:
                target = node
                name_node = node.args[0] if node.args else None
                if ast.unparse(function) == "env_secret" and _literal(name_node):
                    names.add(f"{_literal(name_node)}_FILE")
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and ast.unparse(node.value) == "os.environ"
        ):
            target, name_node = node, node.slice
        if target is not None:
            name = _literal(name_node)
            if name is None:
                unnamed.append(f"{path.name}:{target.lineno}: {ast.unparse(target)}")
            else:
                names.add(name)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return names, unnamed


def test_env_example_documents_every_variable_the_code_reads():
    read: set[str] = set()
    unnamed: list[str] = []
    for path in ENV_READERS:
        names, not_literal = _environment_reads(path)
        read |= names
        unnamed += not_literal
    # A variable whose name is built at run time cannot be checked: name it literally.
    assert unnamed == []
    # The parser still sees the settings (a rewrite of the helpers must not blind it).
    assert {
        "DATABASE_URL",
        "SECRET_KEY",
        "SECRET_KEY_FILE",
        "TRUSTED_PROXY_NETWORKS",
        "GUNICORN_BIND",
    } <= read
    # Documented: NAME= in deploy/.env.example, set or commented out; a secret's NAME_FILE
    # named in its comment ("or SECRET_KEY_FILE=/run/secrets/...").
    example = (DEPLOY / ".env.example").read_text()
    documented = set(re.findall(r"\b([A-Z][A-Z0-9_]*)=", example)) | set(
        re.findall(r"\b([A-Z][A-Z0-9_]*_FILE)\b", example)
    )
    assert sorted(read - documented) == []


def test_the_env_parser_finds_each_kind_of_read():
    source = textwrap.dedent(
        """
        import os
        A = env.str("ONE", default="")
        B = env_int("TWO", 3)
        C = env_secret("THREE")
        D = os.environ.get("FOUR")
        E = os.environ["FIVE"]
        F = env.list(name)

        def env_bool(name, default):
            return env.str(name, default="")
        """
    )
    path = Path(tempfile.mkdtemp()) / "settings.py"
    path.write_text(source)

    names, unnamed = _environment_reads(path)

    assert names == {"ONE", "TWO", "THREE", "THREE_FILE", "FOUR", "FIVE"}
    assert unnamed == ["settings.py:8: env.list(name)"]


NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@pytest.mark.skipif(NGINX is None, reason="nginx not installed (make test installs it)")
def test_nginx_config_is_valid(tmp_path):
    # The upstream host only resolves inside compose; everything else is tested as is.
    config = (DEPLOY / "nginx.conf").read_text().replace("server web:8000;", "server 127.0.0.1:8000;")
    path = tmp_path / "nginx.conf"
    path.write_text(config)

    result = subprocess.run([NGINX, "-t", "-c", str(path)], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert "X-Forwarded-For $remote_addr" in config
    assert "$remote_addr" not in config.split("log_format", 1)[1].split(";", 1)[0]


def test_gunicorn_config_is_valid_and_logs_no_addresses():
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert "%(h)s" not in (DEPLOY / "gunicorn.conf.py").read_text()


@pytest.mark.parametrize(
    "unit",
    ["downradar-web", "downradar-worker", "downradar-notifier", "downradar-detector", "downradar-beat"],
)
def test_systemd_units_name_existing_entry_points(unit):
    text = (DEPLOY / "systemd" / f"{unit}.service").read_text()
    assert "User=downradar" in text
    assert "EnvironmentFile=/etc/downradar/env" in text
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    if "gunicorn" in exec_start:
        assert "deploy/gunicorn.conf.py" in exec_start


@pytest.mark.parametrize(
    "unit",
    ["downradar-web", "downradar-worker", "downradar-notifier", "downradar-detector", "downradar-beat"],
)
def test_systemd_restarts_every_unit_whatever_its_exit_and_never_gives_up(unit):
    text = (DEPLOY / "systemd" / f"{unit}.service").read_text()
    unit_section = text.split("[Service]")[0]

    assert re.search(r"^Restart=always$", text, re.MULTILINE)
    assert int(re.search(r"^RestartSec=(\d+)$", text, re.MULTILINE)[1]) >= 1
    # Without it, five failed starts in ten seconds (beat's setup_periodic_tasks while
    # PostgreSQL restarts) leave the unit stopped for good.
    assert re.search(r"^StartLimitIntervalSec=0$", unit_section, re.MULTILINE)


def test_compose_restarts_every_process_of_the_app(compose):
    for name in ("web", "worker", "notifier", "detector", "beat", "db", "broker", "cache", "nginx"):
        assert compose["services"][name]["restart"] in {"always", "unless-stopped"}, name


def test_every_way_of_running_beat_uses_the_scheduler_that_rides_out_a_database_restart(compose):
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULER == "config.beat:TolerantDatabaseScheduler"
    procfile_beat = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("beat:")
    )
    systemd_beat = (DEPLOY / "systemd" / "downradar-beat.service").read_text()
    compose_beat = " ".join(compose["services"]["beat"]["command"])
    for command in (procfile_beat, systemd_beat, compose_beat):
        assert "celery -A config beat" in command
        assert not re.search(r"(^|\s)(-S|--scheduler)\b", command)  # no scheduler of its own


def _queues(command: str) -> set[str]:
    words = command.split()
    return set(words[words.index("-Q") + 1].split(",")) if "-Q" in words else {"<default only>"}


def _routed_queues() -> set[str]:
    from django.conf import settings

    return {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} | {
        settings.CELERY_TASK_DEFAULT_QUEUE
    }


def test_every_task_queue_has_workers_in_compose_and_systemd(compose):
    routed = _routed_queues()
    assert routed == {"ingest", "notifications", "detection"}
    in_compose = [
        _queues(" ".join(service["command"]))
        for service in compose["services"].values()
        if "worker" in service.get("command", [])
    ]
    in_systemd = [
        _queues(line)
        for unit in (DEPLOY / "systemd").glob("*.service")
        for line in unit.read_text().splitlines()
        if line.startswith("ExecStart=") and " worker " in line
    ]
    for workers in (in_compose, in_systemd):
        assert set().union(*workers) == routed
        # Every queue has workers of its own: a notification backlog (slow webhooks) can
        # delay neither detection nor aggregation.
        assert sorted(workers, key=sorted) == [{"detection"}, {"ingest"}, {"notifications"}]


def test_make_run_s_single_worker_consumes_every_queue():
    worker = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("worker:"))
    assert _queues(worker) == _routed_queues()


def test_each_task_is_routed_to_its_queue():
    from config.celery import app

    def queue(task: str) -> str:
        return app.amqp.router.route({}, task)["queue"].name

    assert queue("reports.tasks.aggregate_pending") == "ingest"
    assert queue("reports.tasks.purge_expired") == "ingest"
    assert queue("outages.review.tasks.deliver_notifications") == "notifications"
    assert queue("outages.tasks.detect") == "detection"
    assert queue("outages.tasks.detect_shard") == "detection"


def test_nginx_never_passes_metrics_to_the_public():
    config = (DEPLOY / "nginx.conf").read_text()
    assert "location = /metrics" in config
    block = config.split("location = /metrics", 1)[1].split("}", 1)[0]
    assert "return 404" in block
