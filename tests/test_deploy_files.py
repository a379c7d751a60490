"""deploy/ cannot run here (no Docker engine); validate everything that can be."""

from __future__ import annotations

import shutil
import subprocess
import sys
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


def test_env_example_documents_every_setting_the_code_reads():
    import re

    settings_source = (ROOT / "config" / "settings.py").read_text()
    read = set(
        re.findall(r'env(?:_int|_bool|_secret|\.str|\.list|\.db_url)\(\s*"([A-Z_]+)"', settings_source)
    )
    documented = set(re.findall(r"^([A-Z_]+)=", (DEPLOY / ".env.example").read_text(), re.MULTILINE))
    assert read - documented == set()


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
