"""Issue 35: SOFTNet's region images as its published code makes them (``regions``
version 2), stores of version 1 resumed with their own version, and a spotting store's
flow implementation taken on a rerun without ``--flow``.

The reference below is written from the recipe of SOFTNet's ``extraction_preprocess.py``
(genbing99/SoftNet-SpotME), step by step as it does it: the flow through polar
coordinates and back, the strain by pandas' shifted differences filled forward, the
nose patch's mean subtracted, the eye hexagons filled, the two regions resized.
"""

from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest
import zarr

from mepipe.arrays import pairs
from mepipe.arrays.perframe import get_feature
from mepipe.engine import spotting as engine
from mepipe.engine.spotting import SpotSettings, build_spotting, stored_method
from mepipe.errors import UsageError
from mepipe.imaging import flow as flowlib
from mepipe.imaging import track as tracking
from mepipe.spot.baseline import store_videos
from mepipe.store.spotting import feature_version, open_spotting_store, spotting_record
from tests.spotvideo import Event, write_video

SMALL = SpotSettings(method="dis", crop=48, block=8, chunk=16, k=3)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    folder = tmp_path_factory.mktemp("softnet") / "v1"
    return write_video(folder, 24, [Event(4, 8, 12, "surprise", 2.5), Event(12, 16, 20, "happiness", 2.5)])


def _softnet_reference(flow: np.ndarray, points: np.ndarray) -> np.ndarray:
    """SOFTNet's region image of one flow on its 128 px crop, by its recipe."""
    pd = pytest.importorskip("pandas")

    def compute_strain(u, v):
        u_x = u - pd.DataFrame(u).shift(-1, axis=1)
        v_y = v - pd.DataFrame(v).shift(-1, axis=0)
        u_y = u - pd.DataFrame(u).shift(-1, axis=0)
        v_x = v - pd.DataFrame(v).shift(-1, axis=1)
        return np.array(np.sqrt(u_x**2 + v_y**2 + 1 / 2 * (u_y + v_x) ** 2).ffill(axis=1).ffill(axis=0))

    x, y = points[:, 0], points[:, 1]
    left_eye = [
        (max(x[36] - 15, 0), y[36]),
        (x[37], max(y[37] - 15, 0)),
        (x[38], max(y[38] - 15, 0)),
        (min(x[39] + 15, 128), y[39]),
        (x[40], min(y[40] + 15, 128)),
        (x[41], min(y[41] + 15, 128)),
    ]
    right_eye = [
        (max(x[42] - 15, 0), y[42]),
        (x[43], max(y[43] - 15, 0)),
        (x[44], max(y[44] - 15, 0)),
        (min(x[45] + 15, 128), y[45]),
        (x[46], min(y[46] + 15, 128)),
        (x[47], min(y[47] + 15, 128)),
    ]
    x31, y32, _x33, y34 = max(x[17] - 12, 0), max(y[19] - 12, 0), min(x[21] + 12, 128), min(y[41] + 12, 128)
    _x41, y42, x43, y44 = max(x[22] - 12, 0), max(y[24] - 12, 0), min(x[26] + 12, 128), min(y[46] + 12, 128)
    x51, y52, x53, y54 = max(x[60] - 12, 0), max(y[50] - 12, 0), min(x[64] + 12, 128), min(y[57] + 12, 128)
    x61, y61 = x[28], y[28]

    magnitude, angle = cv2.cartToPolar(flow[..., 0], flow[..., 1])
    u, v = magnitude * np.cos(angle), magnitude * np.sin(angle)
    os = compute_strain(u, v)
    final = np.zeros((128, 128, 3))
    final[:, :, 0], final[:, :, 1], final[:, :, 2] = u, v, os
    final[:, :, 0] = abs(final[:, :, 0] - final[y61 - 5 : y61 + 6, x61 - 5 : x61 + 6, 0].mean())
    final[:, :, 1] = abs(final[:, :, 1] - final[y61 - 5 : y61 + 6, x61 - 5 : x61 + 6, 1].mean())
    final[:, :, 2] = final[:, :, 2] - final[y61 - 5 : y61 + 6, x61 - 5 : x61 + 6, 2].mean()
    cv2.fillPoly(final, [np.array(left_eye)], 0)
    cv2.fillPoly(final, [np.array(right_eye)], 0)
    image = np.zeros((42, 42, 3))
    image[:21] = cv2.resize(final[min(y32, y42) : max(y34, y44), x31:x43, :], (42, 21))
    image[21:42] = cv2.resize(final[y52:y54, x51:x53, :], (42, 21))
    return image


def test_region_images_are_softnets_code_s_on_its_128_px_crop(video):
    track = tracking.face_track(video.paths, 30)
    segment = track.segments[0]
    crops = [segment.cut(tracking.decode(p)) for p in video.paths]
    geometry = pairs.Geometry.of(segment, reference=lambda: crops[0])
    points = geometry.softnet_points()
    # the landmarks are found again on the first crop, near the track's
    assert np.abs(points[17:] - geometry.points[17:]).max() < 6
    correlations = []
    for i in (5, 9, 13, 17):  # pairs over the brow raise and the smile
        flow = flowlib.optical_flow(crops[i], crops[i + 3], "dis")
        ours = pairs.softnet_region_image(flow, points)
        reference = _softnet_reference(flow, points)
        np.testing.assert_allclose(ours, reference, atol=2e-4)
        correlations.append([np.corrcoef(ours[..., c].ravel(), reference[..., c].ravel())[0, 1] for c in range(3)])
    assert np.min(correlations) > 0.999


def test_the_strain_is_softnets_forward_difference_filled_forward():
    rng = np.random.default_rng(1)
    u, v = rng.normal(size=(2, 9, 7)).astype(np.float32)
    strain = pairs.softnet_strain(u, v)
    assert strain[3, 2] == pytest.approx(
        np.sqrt(
            (u[3, 2] - u[3, 3]) ** 2 + (v[3, 2] - v[4, 2]) ** 2 + 0.5 * (u[3, 2] - u[4, 2] + v[3, 2] - v[3, 3]) ** 2
        )
    )
    np.testing.assert_array_equal(strain[:-1, -1], strain[:-1, -2])
    np.testing.assert_array_equal(strain[-1], strain[-2])


def test_regions_is_version_2_and_keeps_version_1(video):
    feature = get_feature("regions")
    assert feature.version == 2 and feature.versions() == (2, 1)
    with pytest.raises(UsageError, match="regions version 7 is not computed by this mepipe"):
        feature.computer(7)
    track = tracking.face_track(video.paths, 30, crop=48)
    one = engine.chunk_rows(
        video.paths, track, 0, 16, 3, "dis", ["regions", "cells"], crop=48, block=8, versions={"regions": 1}
    )
    two = engine.chunk_rows(video.paths, track, 0, 16, 3, "dis", ["regions", "cells"], crop=48, block=8)
    # version 1: the signed flow the cells average; version 2: SOFTNet's |u|, |v|
    np.testing.assert_allclose(pairs.cell_flow(one.arrays["images"]), one.arrays["cell_flow"], atol=1e-6)
    np.testing.assert_array_equal(one.arrays["cell_flow"], two.arrays["cell_flow"])
    assert (one.arrays["images"][..., :2] < 0).any() and (two.arrays["images"][..., :2] >= 0).all()


def _as_made_before(out, *, versions: bool = True, implementation: bool = True) -> None:
    """Rewrite a store's record as mepipe wrote it before: no feature versions (regions
    version 1), or OpenCV's TV-L1 recorded as ``tvl1`` without an implementation."""
    root = zarr.open_group(str(out), mode="r+", use_consolidated=False)
    meta = dict(root.attrs["mepipe_spotting"])
    if not versions:
        meta["feature_versions"] = {}
    if not implementation:
        parameters = dict(meta["settings"]["flow_parameters"])
        del parameters[flowlib.IMPLEMENTATION]
        meta["settings"] = {**meta["settings"], "method": "tvl1", "flow_parameters": parameters}
    root.attrs["mepipe_spotting"] = json.loads(json.dumps(meta))


def test_a_store_of_regions_version_1_resumes_with_version_1(video, tmp_path):
    out = tmp_path / "old.zarr"
    build_spotting([video], [], out, SMALL, scheduler="sync", progress=False)
    _as_made_before(out, versions=False)
    assert feature_version(spotting_record(open_spotting_store(out)), "regions") == 1
    root = zarr.open_group(str(out), mode="r+", use_consolidated=False)
    root["videos/v1/done"][0] = False
    root["videos/v1/images"][:8] = np.nan
    summary = build_spotting([video], [], out, SMALL, scheduler="sync", progress=False)
    assert summary.ok and summary.computed == 16
    group = zarr.open_group(str(out), mode="r")["videos/v1"]
    # the block computed again holds version 1's images: the signed flow its cells average
    np.testing.assert_allclose(pairs.cell_flow(group["images"][:8]), group["cell_flow"][:8], atol=1e-6)
    # a version no longer computed is refused in one line
    root.attrs["mepipe_spotting"] = {**root.attrs["mepipe_spotting"], "feature_versions": {"regions": 9}}
    with pytest.raises(
        UsageError, match="the store's regions was computed by version 9, this mepipe computes version 2"
    ):
        build_spotting([video], [], out, SMALL, scheduler="sync", progress=False)


def test_the_baseline_needs_cells_beside_softnets_region_images(video, tmp_path):
    out = tmp_path / "regions.zarr"
    build_spotting([video], [], out, SMALL, features=["regions"], scheduler="sync", progress=False)
    with pytest.raises(UsageError, match="add the cells feature"):
        store_videos(out)
    assert len(store_videos(out, flow=False)[0]) == 1


def test_a_store_of_opencvs_tvl1_resumes_as_tvl1_opencv_and_refuses_another(video, tmp_path):
    out = tmp_path / "opencv.zarr"
    opencv = replace(SMALL, method="tvl1-opencv")
    build_spotting([video], [], out, opencv, features=["validity", "motion"], scheduler="sync", progress=False)
    assert stored_method(out) == "tvl1-opencv"
    # as made before mepipe had its own TV-L1: recorded as tvl1, no implementation
    _as_made_before(out, implementation=False)
    assert spotting_record(open_spotting_store(out)).settings["method"] == "tvl1"
    assert stored_method(out) == "tvl1-opencv"
    assert build_spotting([video], [], out, opencv, scheduler="sync", progress=False).computed == 0
    # a store made by another version of the same implementation resumes too
    root = zarr.open_group(str(out), mode="r+", use_consolidated=False)
    meta = dict(root.attrs["mepipe_spotting"])
    meta["settings"] = {**meta["settings"], "flow_parameters": flowlib.flow_parameters("tvl1-opencv")}
    meta["settings"]["flow_parameters"][flowlib.IMPLEMENTATION] = "opencv-contrib 4.0.0"
    root.attrs["mepipe_spotting"] = meta
    assert build_spotting([video], [], out, opencv, scheduler="sync", progress=False).computed == 0
    with pytest.raises(UsageError) as caught:
        build_spotting([video], [], out, replace(SMALL, method="tvl1"), scheduler="sync", progress=False)
    assert "other settings (method) (its flow: tvl1-opencv, this build's: tvl1)" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert stored_method(tmp_path / "none.zarr") is None
