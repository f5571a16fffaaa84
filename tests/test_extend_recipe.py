"""A dataset recipe in a separate package: the worked example of adding a dataset.

A lab with a release mepipe does not ship a recipe for writes one in its own package,
subclassing the public base :class:`mepipe.release.SheetRecipe`, and registers its
instance in the entry-point group ``mepipe.recipes`` of its package's metadata
(``setup.cfg``'s ``[options.entry_points]``, or ``[project.entry-points."mepipe.recipes"]``
in ``pyproject.toml``)::

    mepipe.recipes =
        labme = labme_recipes.labme:RECIPE

Nothing in mepipe is edited or forked: once the package is installed, every command and
function that takes a dataset name knows ``labme``. Here the package is "installed" the
way pip leaves one, written into a temporary folder put on ``sys.path``: its module, and
a ``labme_recipes-1.0.dist-info`` folder holding ``METADATA`` and ``entry_points.txt``
(no pip, no network). Then the whole path runs on the new dataset: ``synth`` writes a
release in its layout, ``samples`` (the command, in a fresh process that knows the
plug-in from its metadata alone) lists it, ``check`` validates it, ``build`` makes a
store, and :func:`mepipe.dataset.open_dataset` reads it back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

from mepipe.build import build
from mepipe.dataset import open_dataset
from mepipe.release import SheetRecipe, get_recipe, recipe_names
from mepipe.release.check import check_release, release_samples
from mepipe.synth import synthesize

#: the lab's recipe module: a release of gray 640x480 frames at 100 fps, one CSV sheet,
#: frames as ``frames/<participant>/<clip>/f0001.png``
LABME = '''
"""LabME: a lab's own micro-expression release."""

import re
from pathlib import PurePosixPath

from mepipe.release import SheetRecipe, SynthStyle


class LabMe(SheetRecipe):
    name = "labme"
    title = "LabME"
    color = "gray"
    resolution = (640, 480)
    fps = 100
    class_sets = {"3": ("negative", "positive", "surprise")}
    label_maps = {
        "3": {"anger": "negative", "disgust": "negative", "happiness": "positive", "surprise": "surprise"}
    }
    sheet_file = "labme.csv"
    sheet_globs = ("labme*.csv",)
    sheet_names = ("labme",)
    frames_dirs = ("frames",)
    layout = ("Participant", "Clip", "Onset", "Apex", "Offset", "Emotion", "AUs")
    columns = {
        "subject": ("Participant",),
        "clip": ("Clip",),
        "onset": ("Onset",),
        "apex": ("Apex",),
        "offset": ("Offset",),
        "emotion": ("Emotion",),
    }
    au_columns = ("AUs",)
    frame_pattern = re.compile(r"f(\\d{4})\\.png")
    synth_style = SynthStyle(subject="p{n}", clip="{subject}_{index}", onsets=(10, 60))

    def clip_dir(self, sample):
        return PurePosixPath(sample.subject, sample.clip)

    def frame_name(self, sample, number):
        return f"f{number:04d}.png"


RECIPE = LabMe()
'''


def write_distribution(
    site: Path,
    name: str,
    modules: Mapping[str, str],
    entry_points: Mapping[str, str],
    version: str = "1.0",
    group: str = "mepipe.recipes",
) -> Path:
    """Lay out an installed distribution in ``site`` as pip would: its files (``modules``:
    path -> text) and ``<name>-<version>.dist-info`` with ``METADATA`` and the entry-point
    group ``group`` of ``entry_points.txt`` (entry name -> ``module:object``)."""
    for path, text in modules.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text(textwrap.dedent(text))
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = [f"[{group}]", *(f"{entry} = {target}" for entry, target in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return site


def test_a_recipe_in_a_separate_package_runs_synth_to_open_dataset(installed: Path, tmp_path: Path) -> None:
    assert "labme" not in recipe_names()
    write_distribution(
        installed,
        "labme_recipes",
        {"labme_recipes/__init__.py": "", "labme_recipes/labme.py": LABME},
        {"labme": "labme_recipes.labme:RECIPE"},
    )
    assert "labme" in recipe_names() and "labme" in recipe_names("recognition")
    recipe = get_recipe("labme")
    assert isinstance(recipe, SheetRecipe) and type(recipe).__module__ == "labme_recipes.labme"
    assert recipe.task == "recognition"

    root = tmp_path / "release"
    made = synthesize("labme", root, subjects=2, clips_per_subject=2, scale=0.4, seed=11, progress=False)
    assert made.sheet == root / "labme.csv"
    assert [s.sample_id for s in made.samples] == ["p1/p1_1", "p1/p1_2", "p2/p2_1", "p2/p2_2"]
    assert sorted(p.relative_to(root).as_posix() for p in (root / "frames").glob("*/*/f*.png"))[0].startswith(
        "frames/p1/p1_1/f00"
    )

    # the command, as a user runs it once the package is installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), *sys.path])}
    listed = subprocess.run(
        [sys.executable, "-m", "mepipe", "samples", "--dataset", "labme", "--root", str(root), "--format", "csv"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()
    assert rows[0].startswith("sample_id,subject,clip,onset,apex,offset,emotion,label")
    assert [row.split(",")[0] for row in rows[1:]] == [s.sample_id for s in made.samples]
    assert release_samples(recipe, root, None, "raw") == list(made.samples)
    assert [s.label for s in release_samples(recipe, root, None, "3")] == [
        "negative",
        "positive",
        "surprise",
        "negative",
    ]

    checked = check_release(recipe, root, classes="3")
    assert checked.usable and checked.counts["ok"] == 4
    assert checked.sheet == made.sheet

    store = str(tmp_path / "labme.zarr")
    summary = build("labme", root, store, classes="3", size=32, progress=False, workers=1)
    assert (summary.total, summary.ok) == (4, 4)

    dataset = open_dataset(store)
    assert list(dataset["sample"].values) == [s.sample_id for s in made.samples]
    assert dataset["trdi"].shape == (4, 32, 32, 3)
    assert list(dataset["label"].values) == ["negative", "positive", "surprise", "negative"]
    assert list(dataset.attrs["class_names"]) == ["negative", "positive", "surprise"]
    assert dataset.attrs["mepipe"]["dataset"] == "labme"
