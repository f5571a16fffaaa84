"""Shared fixtures: small synthetic releases and a store built from one, made once per run."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def casme2_release(tmp_path_factory) -> Path:
    """A small synthetic CASME-II release (3 subjects x 3 clips, half scale)."""
    from mepipe.synth import synthesize

    root = tmp_path_factory.mktemp("casme2-release")
    synthesize("casme2", root, subjects=3, clips_per_subject=3, scale=0.5, seed=1, progress=False)
    return root


@pytest.fixture(scope="session")
def samm_release(tmp_path_factory) -> Path:
    """A small synthetic SAMM release (grayscale, 2 subjects x 2 clips, quarter scale)."""
    from mepipe.synth import synthesize

    root = tmp_path_factory.mktemp("samm-release")
    synthesize("samm", root, subjects=2, clips_per_subject=2, scale=0.25, seed=2, progress=False)
    return root


@pytest.fixture(scope="session")
def casme2_store(casme2_release, tmp_path_factory) -> str:
    """The CASME-II release built once with the threaded scheduler at size 64."""
    from mepipe.build import build

    store = str(tmp_path_factory.mktemp("stores") / "casme2.zarr")
    build("casme2", casme2_release, store, size=64, progress=False, workers=2)
    return store


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Put a distribution folder first on ``sys.path``; forget what was imported from it after."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    before = set(sys.modules)
    yield site
    for module in set(sys.modules) - before:
        if getattr(sys.modules[module], "__file__", None) and str(site) in sys.modules[module].__file__:
            del sys.modules[module]


@pytest.fixture(scope="session")
def casme_sq_release(tmp_path_factory) -> Path:
    """A small synthetic CAS(ME)^2 long-video release: two subjects of one 96-frame video."""
    from mepipe.release import LongVideoRecipe, get_recipe
    from mepipe.synth.longvideo import synthesize_long

    root = tmp_path_factory.mktemp("casme_sq") / "casme_sq"
    recipe = get_recipe("casme_sq", LongVideoRecipe)  # type: ignore[type-abstract]
    synthesize_long(recipe, root, subjects=2, videos=1, frames=96, scale=0.25, seed=5, progress=False)
    return root


@pytest.fixture(scope="session")
def casme_sq_store(casme_sq_release, tmp_path_factory) -> Path:
    """Its spotting store, built once with :data:`tests.spotvideo.SMALL_SPOTTING` (read only)."""
    from mepipe.build import build

    from .spotvideo import SMALL_SPOTTING

    out = tmp_path_factory.mktemp("casme_sq-store") / "casme_sq.zarr"
    summary = build("casme_sq", casme_sq_release, str(out), settings=SMALL_SPOTTING, scheduler="sync", progress=False)
    assert summary.ok, summary.format()
    return out
