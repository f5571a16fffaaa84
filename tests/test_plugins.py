"""Array sets and models from another package, found through their entry points.

A package registers its sets and models when their modules are imported; it names those
modules in the entry-point groups ``mepipe.array_sets`` and ``mepipe.models`` so that the
commands, and a build's workers, import them too (:mod:`mepipe.release.plugins`). The
package is "installed" as in tests/test_extend_recipe.py: written into a folder on the
import path with its ``*.dist-info`` (no pip, no network).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zarr

from mepipe.arrays import IMAGES, registry, set_names
from mepipe.errors import UsageError
from mepipe.release import plugins

from .test_extend_recipe import write_distribution

ROOT = Path(__file__).resolve().parents[1]
#: the lab's module of one array set: the worked example's, registered on import
ARRAYS_MODULE = """
from mepipe.arrays import register
from tests.apex_difference import APEX_DIFFERENCE

register(APEX_DIFFERENCE)
"""
#: the lab's module of one model: a linear layer on the apex frame
MODEL_MODULE = """
from torch import nn

from mepipe.train.augment import standardise
from mepipe.train.models import ModelSpec, register_model


class ApexLinear(nn.Module):
    def __init__(self, n_classes):
        super().__init__()
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, n_classes))

    def forward(self, apex):
        return self.head(apex)


register_model(ModelSpec("apexlinear", ApexLinear, arrays=("apex",), inputs=("apex",), prepare=standardise))
"""


def install_arrays(site: Path) -> None:
    """The lab's array-set package, installed in ``site`` with its ``mepipe.array_sets`` entry."""
    write_distribution(
        site,
        "labme_arrays",
        {"labme_arrays/__init__.py": "", "labme_arrays/apex_difference.py": ARRAYS_MODULE},
        {"apex_difference": "labme_arrays.apex_difference"},
        group=plugins.ARRAYS,
    )


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registries and the plug-in record as they are, restored after the test."""
    monkeypatch.setattr(registry, "_SETS", dict(registry._SETS))
    monkeypatch.setattr(plugins, "_imported", set(plugins._imported))
    monkeypatch.setattr(plugins, "_seen", {})


def test_a_build_process_and_its_workers_find_a_plug_in_array_set(installed, casme2_release, tmp_path):
    install_arrays(installed)
    store = tmp_path / "with.zarr"
    command = [
        sys.executable, "-m", "mepipe", "build", "--dataset", "casme2", "--root", str(casme2_release),
        "--out", str(store), "--size", "32", "--workers", "2", "--quiet",
        "--arrays", ",".join((*IMAGES, "apex_difference")),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), str(ROOT), *sys.path])}
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    group = zarr.open_group(str(store), mode="r")
    reference = group["apex"][:].astype(np.float32) - group["onset"][:].astype(np.float32)
    np.testing.assert_array_equal(group["apex_difference"][:], reference)
    assert group.attrs["mepipe"]["config"]["arrays"] == [*IMAGES, "apex_difference"]


def test_a_plug_in_set_is_imported_once_on_the_first_lookup(installed, fresh):
    install_arrays(installed)
    assert "labme_arrays.apex_difference" not in sys.modules
    assert set_names()[-1] == "apex_difference"
    # a second lookup imports nothing again (importing twice would register twice: an error)
    assert set_names().count("apex_difference") == 1


def test_a_plug_in_model_trains_by_name(installed, fresh, monkeypatch):
    pytest.importorskip("torch")
    from mepipe.train.models import build_model, model_names
    from mepipe.train.models import registry as models

    monkeypatch.setattr(models, "_MODELS", dict(models._MODELS))
    write_distribution(
        installed,
        "labme_models",
        {"labme_models.py": MODEL_MODULE},
        {"apexlinear": "labme_models"},
        group=plugins.MODELS,
    )
    # the array registry's group is another: its lookups never import a model's module
    set_names()
    assert "labme_models" not in sys.modules
    assert "apexlinear" in model_names()
    assert build_model("apexlinear", 3).head[2].out_features == 3


def test_a_plug_in_that_fails_to_import_is_one_line(installed, fresh):
    write_distribution(
        installed,
        "broken_arrays",
        {"broken_arrays.py": "import not_a_module\n"},
        {"broken": "broken_arrays"},
        version="0.2",
        group=plugins.ARRAYS,
    )
    with pytest.raises(UsageError) as caught:
        set_names()
    assert str(caught.value) == (
        "plug-in broken = broken_arrays of group mepipe.array_sets (distribution broken_arrays 0.2) cannot be imported: "
        "ModuleNotFoundError: No module named 'not_a_module'"
    )
