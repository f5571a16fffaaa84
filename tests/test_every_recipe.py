"""Every registered recognition recipe runs the whole path: synth -> samples -> check ->
build -> open_dataset.

The recipes are the registry's (:func:`mepipe.release.recipe_names` with
``task="recognition"``): a recipe added to ``pipelines/`` or installed as a plug-in is
tested here without naming it. Spotting recipes (long videos) are tested by their own
tests. Small: two subjects of one clip each (a composite: of each member), frames scaled
so the face is about :data:`FACE_PX` pixels wide, images of 32 pixels.
"""

from __future__ import annotations

import pytest

from mepipe.build import build
from mepipe.dataset import open_dataset
from mepipe.release import get_recipe, recipe_names
from mepipe.release.check import check_release, release_samples
from mepipe.synth import synthesize

#: the face width the synthetic frames are scaled to: the smallest the tests use elsewhere
FACE_PX = 80


@pytest.mark.parametrize("name", recipe_names("recognition"))
def test_every_recipe_runs_synth_samples_check_build_open_dataset(name, tmp_path):
    recipe = get_recipe(name)
    scale = round(min(1.0, FACE_PX / recipe.face_width), 2)
    made = synthesize(name, tmp_path / "release", subjects=2, clips_per_subject=1, scale=scale, seed=4, progress=False)
    made_ids = sorted(s.sample_id for s in made.samples)
    assert len(made_ids) == 2 * max(1, len(recipe.parts)) and len(set(made_ids)) == len(made_ids)

    # a composite lists every sample of its official list; those synth left out are errors
    listed = release_samples(recipe, made.root, None, "raw")
    ids = [s.sample_id for s in listed if not s.error]
    assert sorted(recipe.resolve(s)[1].sample_id for s in listed if not s.error) == made_ids
    assert len(listed) == len(ids) or recipe.parts

    checked = check_release(recipe, made.root)
    assert [r.sample_id for r in checked.results if r.status != "broken"] == ids
    assert checked.counts["broken"] == len(listed) - len(ids)

    store = str(tmp_path / f"{name}.zarr")
    summary = build(name, made.root, store, size=32, progress=False, workers=1)
    assert (summary.total, summary.ok) == (len(listed), len(ids))

    dataset = open_dataset(store)
    assert list(dataset["sample"].values) == ids
    assert dataset["trdi"].shape == dataset["midi"].shape == (len(ids), 32, 32, 3)
    assert dataset.attrs["mepipe"]["dataset"] == name
