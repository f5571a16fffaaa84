"""Every registered recipe, of either task, runs the whole path: synth -> samples ->
check -> build -> open.

The recipes are the registry's (:func:`mepipe.release.recipe_names`, every task): a
recipe added to ``pipelines/`` or installed as a plug-in is tested here without naming
it. Small: a clip recipe gets two subjects of one clip each (a composite: of each
member), frames scaled so the face is about :data:`FACE_PX` pixels wide, images of 32
pixels; a long-video recipe one subject of one short video at that face size, its
spotting store on a small crop.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mepipe.build import build
from mepipe.dataset import open_dataset, open_spotting
from mepipe.engine.spotting import SpotSettings
from mepipe.release import LongVideoRecipe, get_recipe, recipe_names, recipe_task
from mepipe.release.check import check_release, release_samples
from mepipe.release.longcheck import check_long_release, release_intervals
from mepipe.synth import synthesize
from mepipe.synth.longvideo import PER_TYPE, synthesize_long

#: the face width the synthetic frames are scaled to: the smallest the tests use elsewhere
FACE_PX = 80
#: frames of a synthetic long video, at least: a few seconds at 30 fps
VIDEO_FRAMES = 120
#: a quick spotting store: DIS flow on a small crop
SPOT_SETTINGS = SpotSettings(method="dis", crop=48, block=8, chunk=16)


def _scale(recipe) -> float:
    return round(min(1.0, FACE_PX / recipe.face_width), 2)


def video_frames(recipe: LongVideoRecipe) -> int:
    """Frames of a synthetic video of ``recipe``'s: :data:`VIDEO_FRAMES`, or what its
    :data:`~mepipe.synth.longvideo.PER_TYPE` micro- and macro-expressions of the sheet's
    lengths need (gaps take 30 %, as ``synth`` plans them)."""
    return max(VIDEO_FRAMES, math.ceil(2 * PER_TYPE * max(recipe.durations["micro"][1], 3) / 0.7))


@pytest.mark.parametrize("name", recipe_names())
def test_every_recipe_runs_synth_samples_check_build_open(name, tmp_path):
    if recipe_task(name) == "spotting":
        long_videos(name, tmp_path)
    else:
        clips(name, tmp_path)


def clips(name: str, tmp_path: Path) -> None:
    recipe = get_recipe(name)
    made = synthesize(
        name, tmp_path / "release", subjects=2, clips_per_subject=1, scale=_scale(recipe), seed=4, progress=False
    )
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


def long_videos(name: str, tmp_path: Path) -> None:
    recipe = get_recipe(name, LongVideoRecipe)
    root = tmp_path / "release"
    made = synthesize_long(
        recipe, root, subjects=1, videos=1, frames=video_frames(recipe), scale=_scale(recipe), seed=4, progress=False
    )
    assert made.sheet == recipe.find_sheet(root)

    # every interval synth made is read back, placed in its video
    intervals = release_intervals(recipe, root, None)
    assert intervals and not [i.error for i in intervals if i.error]
    assert {"micro", "macro"} <= {i.type for i in intervals}

    checked = check_long_release(recipe, root)
    assert checked.usable and checked.video_counts["broken"] == checked.counts["broken"] == 0
    assert [v.video for v in checked.videos] == [v.name for v in recipe.videos(root)]
    assert [i.name for i in checked.intervals] == [i.name for i in intervals]

    store = str(tmp_path / f"{name}.zarr")
    summary = build(name, root, store, settings=SPOT_SETTINGS, scheduler="sync", progress=False)
    assert summary.ok, summary.format()
    dataset = open_spotting(store)
    assert dataset.attrs["settings"]["method"] == "dis"
    assert list(dataset["video"].values) == [v.video for v in checked.videos]
    stored = dataset.attrs["intervals"]
    assert [(i.video, i.type, i.onset, i.offset) for i in stored] == [
        (i.video, i.type, i.onset, i.offset) for i in intervals
    ]


def test_the_build_api_page_names_every_built_in_recipe():
    # the API reference is made from build()'s docstring: a recipe added to pipelines/
    # is named there too
    from mepipe.release.registry import BUILT_IN

    built_in = [name for name in recipe_names() if get_recipe(name, object).__module__.startswith(BUILT_IN)]
    missing = [name for name in built_in if f"``{name}``" not in (build.__doc__ or "")]
    assert built_in and not missing
