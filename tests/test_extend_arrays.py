"""The worked change "add an array set" (``docs/extending.md``): the set
``apex_difference`` is one module, ``tests/apex_difference.py``, and one
:func:`mepipe.arrays.register` call; nothing in ``mepipe`` names it. A store built with it
holds its array, checksum and provenance; it is added to a finished store without
touching what that holds; ``mepipe verify``, :func:`mepipe.dataset.open_dataset` and
``mepipe report`` show it like a built-in set."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import zarr

from mepipe.arrays import IMAGES, register, registry, set_names
from mepipe.build import build
from mepipe.dataset import open_dataset
from mepipe.engine.config import BuildConfig
from mepipe.errors import MepipeError
from mepipe.report.page import write_report
from mepipe.store.verify import verify_store
from tests.apex_difference import APEX_DIFFERENCE, FORMULA

WITH = ",".join((*IMAGES, "apex_difference"))


@pytest.fixture
def registered(monkeypatch):
    """The set registered for one test: the registry's own table restored after it."""
    monkeypatch.setattr(registry, "_SETS", dict(registry._SETS))
    register(APEX_DIFFERENCE)


def digests(store: str | Path) -> dict[str, str]:
    """sha256 of every file of the images of a store."""
    root = Path(store)
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for name in IMAGES
        for p in sorted((root / name).rglob("*"))
        if p.is_file()
    }


def test_registering_adds_a_name_every_part_accepts(registered):
    assert set_names()[-1] == "apex_difference"
    assert BuildConfig("casme2", arrays=WITH).arrays == (*IMAGES, "apex_difference")
    with pytest.raises(MepipeError, match="names already taken: apex_difference by the set 'apex_difference'"):
        register(APEX_DIFFERENCE)


def test_not_registered_it_is_an_unknown_name():
    assert "apex_difference" not in set_names()
    with pytest.raises(MepipeError, match="unknown 'apex_difference'"):
        BuildConfig("casme2", arrays=WITH)


def test_a_store_with_the_new_set(registered, casme2_release, tmp_path):
    store = str(tmp_path / "with.zarr")
    summary = build("casme2", casme2_release, store, size=32, progress=False, workers=2, arrays=WITH)
    assert summary.ok == summary.total
    group = zarr.open_group(store, mode="r")
    stored = group["apex_difference"]
    n = group["sample_id"].shape[0]
    assert (str(stored.dtype), stored.shape, stored.chunks) == ("float32", (n, 32, 32, 3), (1, 32, 32, 3))
    assert tuple(stored.metadata.dimension_names) == ("sample", "y", "x", "channel")
    # the independent reference: the store's own aligned apex and onset
    reference = group["apex"][:].astype(np.float32) - group["onset"][:].astype(np.float32)
    np.testing.assert_array_equal(stored[:], reference)
    assert all(group["checksum_apex_difference"][:])
    assert group.attrs["mepipe"]["apex_difference"] == {"formula": FORMULA}
    assert verify_store(store).ok

    ds = open_dataset(store)
    assert ds["apex_difference"].dims == ("sample", "y", "x", "channel")
    np.testing.assert_array_equal(ds["apex_difference"].values, reference)

    page = write_report(store, tmp_path / "report", progress=False).read_text()
    assert "<th>MIDI</th><th>apex_difference</th>" in page
    assert len(list((tmp_path / "report" / "thumbs").glob("*_apex_difference.jpg"))) == n
    assert 'title="|apex - onset|, brightest = ' in page


def test_added_to_a_finished_store(registered, casme2_release, casme2_store, tmp_path):
    store = str(tmp_path / "added.zarr")
    shutil.copytree(casme2_store, store)
    before = digests(store)
    summary = build("casme2", casme2_release, store, size=64, progress=False, workers=2, arrays=WITH)
    assert (summary.added, summary.added_sets, summary.built) == (summary.total, ("apex_difference",), 0)
    # the images the store held are as they were, byte for byte
    assert digests(store) == before
    group = zarr.open_group(store, mode="r")
    reference = group["apex"][:].astype(np.float32) - group["onset"][:].astype(np.float32)
    np.testing.assert_array_equal(group["apex_difference"][:], reference)
    attrs = group.attrs["mepipe"]
    assert attrs["config"]["arrays"] == [*IMAGES, "apex_difference"] and "apex_difference" in attrs["added"]
    assert verify_store(store).ok
