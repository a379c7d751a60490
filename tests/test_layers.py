"""The import rules in pyproject.toml ([tool.importlinter]): apps layered simulator > outages >
reports > geo, the simulator and config imported by no production app, no cycles inside an app.
lint-imports checks them."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(*config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", *map(str, config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_import_contract_is_kept():
    result = _lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_import_against_the_layers_breaks_the_contract(tmp_path):
    # The same rules with outages put below geo: outages' imports of geo now go upwards.
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    lines = [
        "[tool.importlinter]",
        f"root_packages = {options['root_packages']!r}",
        "[[tool.importlinter.contracts]]",
        'name = "geo above outages"',
        'type = "layers"',
        'layers = ["geo", "outages"]',
    ]
    config = tmp_path / "pyproject.toml"
    config.write_text("\n".join(lines).replace("'", '"') + "\n")
    result = _lint(config)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "geo above outages BROKEN" in result.stdout
    assert "outages." in result.stdout and "-> geo." in result.stdout


def test_every_production_app_is_forbidden_to_import_the_simulator():
    # The contract names its sources one by one: an app added to INSTALLED_APPS later must be
    # added to it too, or it could come to depend on the simulator unseen.
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    [contract] = [c for c in options["contracts"] if c.get("forbidden_modules") == ["simulator"]]
    ours = {app for app in settings.INSTALLED_APPS if (ROOT / app / "__init__.py").exists()}
    assert "simulator" in ours
    assert set(contract["source_modules"]) == ours - {"simulator"}
