"""Every UI string has an Italian translation, including strings added since the .po files
were last updated: makemessages runs on a copy of the tracked sources."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def msgfmt_statistics(po: Path) -> str:
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", os.devnull, str(po)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stderr.strip()


@pytest.mark.slow
def test_every_ui_string_is_translated_to_italian(tmp_path):
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    copy = tmp_path / "src"
    for name in tracked.stdout.splitlines():
        if name.startswith(("bench/", "tests/", "docs/", "deploy/")) or not (ROOT / name).is_file():
            continue
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    env = {
        **os.environ,
        "DEBUG": "true",
        "VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "it", "--no-obsolete", "-v0"],
        cwd=copy,
        env=env,
        check=True,
    )

    statistics = msgfmt_statistics(copy / "locale" / "it" / "LC_MESSAGES" / "django.po")

    assert "untranslated" not in statistics and "fuzzy" not in statistics, statistics
