"""The wheel holds every room: built from the checkout, installed outside it, imported there.

An editable install finds any package in the source tree, listed in ``setup.cfg`` or
not; only a wheel shows one that is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mepipe.release import recipe_names

from .test_imports import MODULES

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(m for m, path in MODULES.items() if path.name == "__init__.py")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    # built from a copy: setuptools leaves build/ and egg-info in the tree it builds
    source = work / "source"
    ignored = shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "*.zarr", "demo", "_build", "__pycache__")
    shutil.copytree(ROOT, source, ignore=ignored)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(work / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (work / "dist").glob("mepipe-*.whl")
    site = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    return site


def test_every_subpackage_imports_from_the_installed_wheel(installed, tmp_path):
    script = f"""
import importlib, json
from importlib import resources
found = {{}}
for name in {PACKAGES!r}:
    module = importlib.import_module(name)
    found[name] = module.__file__
from importlib import metadata
from mepipe.release import recipe_names
from mepipe.imaging.align import DETECTOR
data = resources.files("mepipe").joinpath("data")
registered = sorted(e.name for e in metadata.entry_points(group="mepipe.recipes"))
print(json.dumps({{"files": found, "recipes": recipe_names(), "registered": registered, "detector": str(DETECTOR),
                  "detector_exists": DETECTOR.is_file(),
                  "megc": data.joinpath("megc2019", "combined_3class_gt.csv").is_file()}}))
"""
    # run outside the checkout, with the installed copy first on the path
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report["files"]) == set(PACKAGES)
    outside = {name: f for name, f in report["files"].items() if not f.startswith(str(installed))}
    assert outside == {}
    # the installed copy finds the checkout's recipes, and its metadata registers them
    assert report["recipes"] == report["registered"] == recipe_names()
    assert report["detector"].startswith(str(installed)) and report["detector_exists"]
    assert report["megc"]


def test_the_command_runs_from_the_installed_wheel(installed, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mepipe", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "build" in result.stdout and "verify" in result.stdout


def _requirement_name(line: str) -> str:
    import re

    return re.split(r"[\[<>=!~; ]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_every_install_requirement_is_pinned_in_constraints():
    """CI installs with ``-c constraints.txt``: a runtime dependency without an ``==`` pin
    there moves with every upstream release (as OpenCV 5.1.0.95 did)."""
    import configparser

    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    required = {
        _requirement_name(line)
        for line in setup["options"]["install_requires"].splitlines()
        if line.strip() and not line.strip().startswith("#")
    }
    pinned = {
        _requirement_name(line)
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert len(required) >= 10
    assert required - pinned == set()
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text()
