"""``help(mepipe)`` is the way in: it names the public API, and ``import mepipe`` is light."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys

import mepipe

#: the names a new user looks for first; the front door lists them (and more)
MAIN = (
    "mepipe.build.build",
    "mepipe.release.registry.get_recipe",
    "mepipe.release.SheetRecipe",
    "mepipe.synth.synthesize",
    "mepipe.dataset.open_dataset",
    "mepipe.dataset.loso_splits",
    "mepipe.dataset.TorchDataset",
    "mepipe.dataset.export.export",
    "mepipe.train.train",
    "mepipe.imaging.rankpool.dynamic_images",
)


def listed() -> dict[str, str]:
    """The front door's entries: dotted name -> its one line."""
    return dict(re.findall(r"^    (mepipe(?:\.\w+)+) +(\S.*)$", mepipe.__doc__ or "", re.M))


def test_the_front_door_names_the_public_api_one_line_each():
    entries = listed()
    assert set(MAIN) <= set(entries), set(MAIN) - set(entries)
    for name in entries:
        module, _, attribute = name.rpartition(".")
        if attribute == "TorchDataset" or module.startswith("mepipe.train"):
            continue  # need torch, which a test run may lack; tests/test_docs.py resolves them when present
        assert callable(getattr(importlib.import_module(module), attribute)), name


def test_import_mepipe_imports_nothing_heavy():
    code = "import sys, json, mepipe; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout)
    ours = [name for name in loaded if name.startswith("mepipe")]
    assert ours == ["mepipe"]
    heavy = {"numpy", "zarr", "dask", "cv2", "dlib", "numba", "torch", "xarray", "click"}
    assert heavy.isdisjoint(name.split(".")[0] for name in loaded)
