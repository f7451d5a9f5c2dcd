"""The repository root is the package ``dynrec``: check that a built wheel really holds it.

The traps of this layout (DESIGN.md): ``packages = find:`` builds a wheel
without ``dynrec``; a subpackage missing from setup.cfg's explicit list is
silently left out; package data needs its own declaration; test files must
not ship.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import dynrec

ROOT = Path(__file__).resolve().parents[1]
NOT_PACKAGES = {"tests", "benchmarks", "build", "dist", "docs", ".venv", ".git"}


def _subpackages_on_disk() -> set[str]:
    found = set()
    for init in ROOT.rglob("__init__.py"):
        rel = init.parent.relative_to(ROOT)
        if rel.parts and (rel.parts[0] in NOT_PACKAGES or rel.parts[0].startswith(".")):
            continue
        found.add(".".join(("dynrec",) + rel.parts))
    return found


def _setup_cfg() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def test_every_subpackage_is_listed_in_setup_cfg():
    listed = set(_setup_cfg()["options"]["packages"].split())
    assert listed == _subpackages_on_disk()


def test_setup_cfg_uses_underscore_keys_only():
    for section in _setup_cfg().sections():
        for key in _setup_cfg()[section]:
            assert "-" not in key, f"[{section}] {key}: setuptools wants underscore keys"


def test_version_matches_setup_cfg():
    assert _setup_cfg()["metadata"]["version"] == dynrec.__version__


@pytest.mark.slow
def test_wheel_contains_every_subpackage_and_its_data(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, text=True,
    )
    (wheel,) = tmp_path.glob("dynrec-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in _subpackages_on_disk():
        path = package.replace(".", "/") + "/__init__.py"
        assert path in names, f"{package} missing from the wheel"
    assert "dynrec/cli.py" in names
    # Package data declared in setup.cfg must be inside, test code must not.
    data = [n for n in names if n.endswith((".mplstyle", ".toml", ".json"))]
    assert any(n.startswith("dynrec/plots/") and n.endswith(".mplstyle") for n in data)
    assert any(n.startswith("dynrec/experiments/presets/") and n.endswith(".toml") for n in data)
    assert any(n.startswith("dynrec/grammars/data/") for n in data)
    assert not any(n.startswith("dynrec/tests/") or n.endswith("conftest.py") for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "dynrec = dynrec.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "dynrec.cli", "--version"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"dynrec {dynrec.__version__}"
