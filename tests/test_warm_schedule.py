"""The TV-L1 warm-start schedule of a spotting build: ``off`` (every pair at the method's
own parameters), ``still`` (a still pair after a still pair starts from its flow) or
``moving`` (the schedule stores recording ``warm: true`` were made by); a new store records
its schedule, a rerun that leaves it unset takes the store's, an explicitly other one is
refused in one line."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import zarr

from mepipe.engine import spotting as engine
from mepipe.engine.spotting import SpotSettings, build_spotting, stored_warm
from mepipe.errors import UsageError
from mepipe.imaging import track as tracking
from mepipe.store.spotting import open_spotting_store, spotting_record
from tests.spotvideo import Event, write_video

SMALL = SpotSettings(method="tvl1-fast", crop=48, block=8, chunk=16, k=3)
FEATURES = ("validity", "regions", "motion")


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    folder = tmp_path_factory.mktemp("warm") / "v1"
    return write_video(folder, 24, [Event(8, 11, 14, "surprise", 2.5)])


def _chunk(video, track, **kwargs):
    return SimpleNamespace(
        **engine.chunk_rows(video.paths, track, 0, 24, 3, "tvl1", FEATURES, crop=48, block=8, **kwargs).arrays
    )


def test_settings_record_the_schedule_and_a_new_store_gets_the_default():
    assert SpotSettings().schedule == engine.DEFAULT_WARM
    recorded = {name: SpotSettings(warm=name).recorded() for name in engine.WARM_SCHEDULES}
    assert recorded["off"]["warm"] == "off" and recorded["off"]["warm_parameters"] is None
    assert recorded["off"]["still"] is None
    assert recorded["moving"]["warm_parameters"] == {"useInitialFlow": True, **engine.WARM}
    assert recorded["still"]["warm_parameters"] == {"useInitialFlow": True, **engine.STILL_WARM}
    assert recorded["still"]["still"] == recorded["moving"]["still"] == engine.STILL
    # what stores made before schedules were named record
    assert SpotSettings(warm=True).recorded() == recorded["moving"]  # type: ignore[arg-type]
    assert SpotSettings(warm=False).recorded() == recorded["off"]  # type: ignore[arg-type]
    # a method other than TV-L1 is never warm-started
    assert SpotSettings(method="dis", warm="still").recorded()["warm"] == "off"
    with pytest.raises(UsageError, match="warm must be one of off, still, moving, not 'sometimes'"):
        SpotSettings(warm="sometimes").check()


def test_still_pairs_after_still_pairs_start_warm_and_the_rest_is_the_cold_solve(video):
    track = tracking.face_track(video.paths, 30, crop=48)
    # at this 48 px crop still pairs' noise flow is ~0.04 px, moving ones' up to 0.12
    still = 0.075
    warm = _chunk(video, track, warm="still", still=still)
    cold = _chunk(video, track, warm="off", still=still)
    same = np.array([np.array_equal(w, c, equal_nan=True) for w, c in zip(warm.images, cold.images)])
    assert same[[0, 8, 16]].all()  # a block's first pair is the method's own solve
    # a pair that differs is still, and comes after a still pair of its block
    differs = np.flatnonzero(~same)
    assert len(differs) >= 4
    assert (warm.face_motion[differs] < still).all()
    assert all(i % 8 and warm.face_motion[i - 1] < still for i in differs)
    # a pair whose warm solve comes out moving is solved again cold (the pairs that differ
    # are those still by their warm solve: above, near the threshold a cold-moving pair too)
    moving = warm.face_motion >= still  # NaN (no pair) is neither
    assert same[moving].all() and moving.sum() >= 2
    # the still pairs' noise flow stays noise of the same size
    quiet = cold.face_motion < still
    assert quiet.sum() >= 8
    assert 0.7 < warm.face_motion[quiet].mean() / cold.face_motion[quiet].mean() < 1.3


def _as_made_with_warm_true(out):
    """The store as mepipe wrote it before schedules were named: ``warm: true``."""
    root = zarr.open_group(str(out), mode="r+", use_consolidated=False)
    meta = dict(root.attrs["mepipe_spotting"])
    assert meta["settings"]["warm"] == "moving"
    meta["settings"] = {**meta["settings"], "warm": True}
    root.attrs["mepipe_spotting"] = meta


def test_a_plain_rerun_resumes_an_old_warm_store_with_its_schedule_and_refuses_another(video, tmp_path):
    out = tmp_path / "old.zarr"
    moving = replace(SMALL, method="tvl1", warm="moving")
    build_spotting([video], [], out, moving, features=list(FEATURES), scheduler="sync", progress=False)
    made = zarr.open_group(str(out), mode="r")["videos/v1/images"][:]
    _as_made_with_warm_true(out)
    assert stored_warm(out) == "moving" and stored_warm(tmp_path / "none.zarr") is None
    # a block computed again by a plain rerun is the moving schedule's, as it was
    root = zarr.open_group(str(out), mode="r+", use_consolidated=False)
    root["videos/v1/done"][1] = False
    root["videos/v1/images"][8:16] = np.nan
    plain = replace(SMALL, method="tvl1")  # warm left unset
    summary = build_spotting([video], [], out, plain, scheduler="sync", progress=False)
    assert summary.ok and summary.computed == 16
    np.testing.assert_array_equal(zarr.open_group(str(out), mode="r")["videos/v1/images"][:], made)
    assert spotting_record(open_spotting_store(out)).settings["warm"] is True  # the record is kept
    assert build_spotting([video], [], out, moving, scheduler="sync", progress=False).computed == 0
    with pytest.raises(UsageError) as caught:
        build_spotting([video], [], out, replace(plain, warm="off"), scheduler="sync", progress=False)
    message = str(caught.value)
    assert "(its warm starts: moving, this build's: off; leave warm unset to resume)" in message
    assert "\n" not in message
    # --overwrite: a new store, of the default schedule
    build_spotting([video], [], out, plain, scheduler="sync", progress=False, overwrite=True)
    assert stored_warm(out) == engine.DEFAULT_WARM


def test_a_new_store_records_the_default_and_a_plain_rerun_keeps_it(video, tmp_path):
    out = tmp_path / "new.zarr"
    build_spotting([video], [], out, SMALL, features=["validity", "motion"], scheduler="sync", progress=False)
    assert spotting_record(open_spotting_store(out)).settings["warm"] == "off"  # tvl1-fast: TV-L1
    assert stored_warm(out) == "off"
    assert build_spotting([video], [], out, SMALL, scheduler="sync", progress=False).computed == 0
