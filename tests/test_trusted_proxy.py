"""Only the proxy may say who the client is: X-Forwarded-For from anyone else is ignored,
and gunicorn will not listen beyond loopback behind a proxy unless the proxies are named."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pytest

from geo.ip import client_ip_from_meta

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def test_a_direct_connection_cannot_choose_its_address_with_x_forwarded_for():
    meta = {"REMOTE_ADDR": "93.56.1.1", "HTTP_X_FORWARDED_FOR": "151.38.7.7"}

    assert str(client_ip_from_meta(meta, 1, LOOPBACK)) == "93.56.1.1"


def test_the_proxy_on_loopback_still_names_the_client():
    meta = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "forged, 151.38.7.7"}

    assert str(client_ip_from_meta(meta, 1, LOOPBACK)) == "151.38.7.7"


def test_a_trusted_peer_without_x_forwarded_for_is_the_client_itself():
    # A browser on the machine that runs `make run`: it connects from loopback, the
    # proxies' network, but it is no proxy and sends no header.
    assert str(client_ip_from_meta({"REMOTE_ADDR": "127.0.0.1"}, 1, LOOPBACK)) == "127.0.0.1"
    assert str(client_ip_from_meta({"REMOTE_ADDR": "::1", "HTTP_X_FORWARDED_FOR": " "}, 1, LOOPBACK)) == "::1"


@pytest.mark.django_db
def test_a_browser_on_loopback_reports_behind_make_runs_proxy_settings(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = [ipaddress.ip_network("127.0.0.1/32")]

    response = client.post(
        "/api/v1/reports/", {"service": "chatgpt"}, content_type="application/json", REMOTE_ADDR="127.0.0.1"
    )

    assert response.status_code == 201, response.content
    assert response.json()["counted"] is True


@pytest.mark.django_db
def test_reports_from_one_direct_client_share_its_dedupe_whatever_it_forges(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    answers = [
        client.post(
            "/api/v1/reports/",
            {"service": "chatgpt"},
            content_type="application/json",
            REMOTE_ADDR="93.56.1.1",
            HTTP_X_FORWARDED_FOR=f"151.38.{i}.7",
        ).json()["counted"]
        for i in range(5)
    ]

    assert answers == [True, False, False, False, False]


def _gunicorn(bind: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--bind", bind, "config.wsgi"],
        cwd=ROOT,
        env={**os.environ, "TRUSTED_PROXY_COUNT": "1", "GUNICORN_WORKERS": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow  # starts gunicorn processes
def test_gunicorn_refuses_an_open_bind_behind_a_proxy_unless_the_proxies_are_named():
    refused = _gunicorn("0.0.0.0:0", TRUSTED_PROXY_NETWORKS="")

    assert refused.returncode != 0
    assert "set TRUSTED_PROXY_NETWORKS" in refused.stderr + refused.stdout
