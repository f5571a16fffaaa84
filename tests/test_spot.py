"""The spotting features and store, on small synthetic long videos of the packaged portrait."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import zarr

from mepipe.arrays import pairs
from mepipe.engine import spotting as engine
from mepipe.engine.spotting import SpotSettings, build_spotting
from mepipe.errors import UsageError
from mepipe.imaging import flow as flowlib
from mepipe.imaging import track as tracking
from mepipe.release.longvideo import Interval
from mepipe.store.spotting import labels, read_intervals
from tests.spotvideo import Event, write_video

#: small settings: a 48 px crop (the test face's box is ~105 px: decoded at half size)
SMALL = SpotSettings(method="tvl1-fast", crop=48, block=8, chunk=16, k=3)
ARRAYS = ("images", "region_motion", "face_motion", "head_motion", "valid", "unreadable", "face_lost")


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """40 frames: a brow raise (frames 10-20), a mouth movement (26-34)."""
    folder = tmp_path_factory.mktemp("spot") / "v1"
    return write_video(folder, 40, [Event(10, 15, 20, "surprise", 2.5), Event(26, 30, 34, "happiness", 2.5)])


def _intervals(name="v1"):
    return [
        Interval(name, "micro", 10, 20, apex=15, subject="s1", aus="AU1+2", emotion="surprise", row=3),
        Interval(name, "macro", 26, 34, apex=30, subject="s1", aus="AU12", emotion="happiness", row=4),
    ]


#: the features chunk_rows computes in these tests
FEATURES = ("validity", "regions", "mdmd", "motion")


def _chunk(*args, **kwargs):
    """The rows of :data:`FEATURES` for pairs ``start .. stop`` as attributes."""
    from types import SimpleNamespace

    return SimpleNamespace(**engine.chunk_rows(*args, FEATURES, **kwargs).arrays)


def _arrays(path):
    group = zarr.open_group(str(path), mode="r")["videos/v1"]
    return {name: group[name][:] for name in ARRAYS}


def test_main_direction_magnitude_takes_the_mean_of_the_most_common_direction():
    # 10 vectors to the right of length 2, 5 upwards of length 7, 3 to the left of length 9
    u = np.array([2.0] * 10 + [0.0] * 5 + [-9.0] * 3)
    v = np.array([0.0] * 10 + [-7.0] * 5 + [0.0] * 3)
    assert pairs.main_direction_magnitude(u, v) == pytest.approx(2.0)
    assert pairs.main_direction_magnitude(u[10:], v[10:]) == pytest.approx(7.0)


def test_decode_factor_keeps_the_face_box_at_least_the_crop_wide():
    assert [tracking.decode_factor(w, 128) for w in (100, 255, 256, 600, 1100)] == [1, 1, 2, 4, 8]


def test_segment_matrix_maps_the_box_onto_the_crop_from_any_decode_factor():
    segment = tracking.Segment(0, (100.0, 50.0, 300.0, 250.0), tuple((0.0, 0.0) for _ in range(68)))
    for factor in (1, 2, 4):
        matrix = segment.matrix(50, factor)
        # the box's outer corners (pixel boundaries), in the decoded frame's pixel coordinates
        corners = (np.array([[99.5, 49.5], [299.5, 249.5]]) + 0.5) / factor - 0.5
        mapped = corners @ matrix[:, :2].T + matrix[:, 2]
        np.testing.assert_allclose(mapped, [[-0.5, -0.5], [49.5, 49.5]], atol=1e-9)


def test_face_track_records_a_moved_face_and_a_lost_one(tmp_path):
    moving = write_video(tmp_path / "m", 50, jump=(31, 25.0, 0.0), hidden=(11, 21))
    track = tracking.face_track(moving.paths, 10, crop=48)
    assert track.factor == 2
    # numbers start at 1: the face is hidden at positions 10-19 and has jumped from 30 on
    assert track.checks == ((0, "first"), (10, "lost"), (20, "moved"), (30, "moved"), (40, "kept"))
    assert track.lost == ((10, 20),)
    assert [s.start for s in track.segments] == [0, 20, 30]
    jumped = track.segments[2].box[0] - track.segments[1].box[0]
    assert 20 < jumped < 30
    assert track.segment_at(15) is None and track.segment_at(35) is track.segments[2]
    assert tracking.FaceTrack.from_record(track.to_record()) == track


def test_features_peak_inside_the_expressions_and_in_their_regions(video):
    track = tracking.face_track(video.paths, 30, crop=48)
    chunk = _chunk(video.paths, track, 0, 40, 3, "tvl1", crop=48, block=8)
    assert chunk.valid[:37].all() and not chunk.valid[37:].any()
    brows = chunk.region_motion[:, pairs.REGIONS.index("left_brow")]
    mouth = chunk.region_motion[:, pairs.REGIONS.index("left_mouth")]
    numbers = np.asarray(video.numbers)
    # pair t spans frames t .. t + 3: it sees motion when it overlaps the expression
    still = (numbers + 3 < 10) | ((numbers > 20) & (numbers + 3 < 26)) | (numbers > 34)
    still &= chunk.valid
    rising_brows = (numbers >= 10) & (numbers + 3 <= 15)
    rising_mouth = (numbers >= 26) & (numbers + 3 <= 30)
    assert brows[rising_brows].mean() > 5 * brows[still].mean()
    assert mouth[rising_mouth].mean() > 3 * mouth[still].mean()
    assert brows[rising_brows].mean() > 3 * brows[rising_mouth].mean()
    # the image's top half holds the brows: it carries the brow raise; the bottom half the
    # mouth (SOFTNet's margins and eye hexagons, made for 128 px, cover much of a 48 px crop)
    top = np.abs(chunk.images[:, :21, :, :2]).mean(axis=(1, 2, 3))
    assert top[rising_brows].mean() > 1.3 * top[still].mean()
    bottom = np.abs(chunk.images[:, 21:, :, :2]).mean(axis=(1, 2, 3))
    assert bottom[rising_mouth].mean() > 3 * bottom[still].mean()


def test_moving_pairs_start_warm_and_still_pairs_and_blocks_start_cold(video):
    track = tracking.face_track(video.paths, 30, crop=48)
    # at this 48 px crop the still pairs' noise flow is ~0.04 px cold, 0.06-0.09 warm and
    # the moving pairs' up to 0.12: a threshold between them exercises every branch
    still = 0.075
    warm = _chunk(video.paths, track, 0, 24, 3, "tvl1", warm="moving", crop=48, block=8, still=still)
    cold = _chunk(video.paths, track, 0, 24, 3, "tvl1", warm="off", crop=48, block=8)
    # True is what stores made before schedules were named record: the moving schedule
    assert np.array_equal(
        _chunk(video.paths, track, 0, 8, 3, "tvl1", warm=True, crop=48, block=8, still=still).images, warm.images[:8]
    )
    same = np.array([np.array_equal(w, c) for w, c in zip(warm.images, cold.images)])
    assert same[[0, 8, 16]].all()  # a block's first pair is the method's own solve
    # a pair kept warm is moving: a still warm solve is solved again cold
    assert (warm.face_motion[~same] >= still).all()
    # the pair after a still one is solved cold directly
    after_still = same[:-1] & (warm.face_motion[:-1] < still)
    assert after_still.sum() >= 4 and same[1:][after_still].all()
    assert (~same).sum() >= 4
    # within a tenth of a pixel (the expression moves the brows by ~1 px here);
    # bench/spotting.py measures the agreement at the field's 128 px crop
    difference = np.hypot(*(warm.images[..., :2] - cold.images[..., :2]).transpose(3, 0, 1, 2)).mean(axis=(1, 2))
    assert difference.max() < 0.1, difference


def test_pair_features_subtract_the_head_motion_and_mask_the_eyes(video):
    track = tracking.face_track(video.paths, 30, crop=48)
    geometry = pairs.Geometry.of(track.segments[0], 48)
    flow = np.zeros((48, 48, 2), np.float32)
    flow[..., 0] = 0.7  # the whole face moves right: head motion only
    flow[10:14, 10:14, 1] = 3.0
    maps = pairs.pair_maps(flow, geometry)
    np.testing.assert_allclose(pairs.head_motion(flow, geometry), [0.7, 0.0], atol=1e-6)
    assert np.all(maps[geometry.eyes] == 0)
    np.testing.assert_allclose(maps[..., 0][~geometry.eyes], 0.0, atol=1e-6)
    np.testing.assert_allclose(maps[..., 2], np.where(geometry.eyes, 0, flowlib.strain(flow - [0.7, 0])))


def test_labels_mark_the_shortest_interval_by_the_releases_own_numbers():
    numbers = np.array([5, 6, 7, 9, 10, 11, 12])  # frame 8 missing on disk
    rows = [
        (0, Interval("v", "macro", 6, 12, apex=8, subject="s")),
        (1, Interval("v", "micro", 9, 10, apex=10, subject="s")),
    ]
    row, kind = labels(numbers, rows)
    assert row.tolist() == [-1, 0, 0, 1, 1, 0, 0]
    assert kind.tolist() == [0, 2, 2, 1, 1, 2, 2]


def test_store_is_the_same_for_any_chunk_size_and_number_of_workers(video, tmp_path):
    from distributed import Client, LocalCluster

    reference = tmp_path / "sync.zarr"
    build_spotting([video], _intervals(), reference, SMALL, scheduler="sync", progress=False)
    expected = _arrays(reference)
    assert expected["valid"][:37].all()
    for workers, chunk in ((1, 16), (2, 24)):
        out = tmp_path / f"w{workers}c{chunk}.zarr"
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            with Client(cluster) as client:
                settings = replace(SMALL, chunk=chunk)
                summary = build_spotting([video], _intervals(), out, settings, scheduler=client, progress=False)
        assert summary.ok and summary.computed == 40
        for name, values in _arrays(out).items():
            np.testing.assert_array_equal(values, expected[name], err_msg=f"{name}, {workers} workers, chunk {chunk}")


def test_an_interrupted_build_resumes_to_the_same_store(video, tmp_path, monkeypatch):
    whole = tmp_path / "whole.zarr"
    build_spotting([video], _intervals(), whole, SMALL, scheduler="sync", progress=False)
    out = tmp_path / "cut.zarr"
    real = engine.chunk_rows
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(args[2])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "chunk_rows", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_spotting([video], _intervals(), out, SMALL, scheduler="sync", progress=False)
    monkeypatch.setattr(engine, "chunk_rows", real)
    done = zarr.open_group(str(out), mode="r")["videos/v1/done"][:]
    # the chunk that finished is marked, whichever the scheduler ran first; nothing else
    first = calls[0] // 8
    assert np.flatnonzero(done).tolist() == list(range(first, min(first + 2, 5)))
    summary = build_spotting([video], _intervals(), out, SMALL, scheduler="sync", progress=False)
    assert summary.computed == 40 - min(16, 40 - calls[0])
    for name, values in _arrays(out).items():
        np.testing.assert_array_equal(values, _arrays(whole)[name], err_msg=name)
    with pytest.raises(UsageError, match="other settings .*k"):
        build_spotting([video], _intervals(), out, replace(SMALL, k=4), progress=False)
    # a store made before the still rule and the full-resolution cut resumes with neither
    # (a store of every pair cold records no still threshold: a warm one's is compared)
    group = zarr.open_group(str(out), mode="r+", use_consolidated=False)
    meta = dict(group.attrs["mepipe_spotting"])
    meta["settings"] = {k: v for k, v in meta["settings"].items() if k not in ("still", "cut")}
    group.attrs["mepipe_spotting"] = meta
    with pytest.raises(UsageError, match=r"other settings \(cut\)"):
        build_spotting([video], _intervals(), out, SMALL, scheduler="sync", progress=False)
    meta["settings"] = {**meta["settings"], "warm": True, "warm_parameters": {"useInitialFlow": True, **engine.WARM}}
    group.attrs["mepipe_spotting"] = meta
    with pytest.raises(UsageError, match=r"other settings \(cut, still\)"):
        build_spotting([video], _intervals(), out, SMALL, scheduler="sync", progress=False)


def test_store_keeps_the_releases_numbers_with_fps_and_missing_frames(tmp_path):
    video = write_video(tmp_path / "v", 40, [Event(10, 15, 20)], missing=(7,), fps=60.0, name="v1")
    out = tmp_path / "s.zarr"
    settings = replace(SMALL, fps=30.0, k=None)
    build_spotting([video], _intervals(), out, settings, scheduler="sync", progress=False)
    group = zarr.open_group(str(out), mode="r")
    v1 = group["videos/v1"]
    numbers = v1["numbers"][:]
    assert numbers.tolist() == list(video.numbers[::2])
    assert 7 not in numbers.tolist() and dict(v1.attrs)["missing"] == [7]
    assert dict(v1.attrs)["step"] == 2 and dict(v1.attrs)["fps"] == 30.0 and dict(v1.attrs)["k"] == 6
    micro, macro = (numbers >= 10) & (numbers <= 20), (numbers >= 26) & (numbers <= 34)
    assert v1["label_type"][:].tolist() == np.where(micro, 1, np.where(macro, 2, 0)).tolist()
    assert v1["label_interval"][:].tolist() == np.where(micro, 0, np.where(macro, 1, -1)).tolist()
    assert read_intervals(group) == _intervals()


def test_bad_input_is_named_and_a_faceless_video_is_recorded(video, tmp_path):
    # an interval of a video not on disk stays in the table (the sheet's counts), labelling nothing
    stray = [*_intervals(), Interval("nope", "micro", 1, 3, apex=2, subject="s", row=9)]
    summary = build_spotting([video], stray, tmp_path / "a.zarr", SMALL, scheduler="sync", progress=False)
    assert summary.unplaced == ["sheet row 9: video 'nope' is not in the release"]
    assert "interval not placed, sheet row 9: video 'nope'" in summary.format()
    table = zarr.open_group(str(tmp_path / "a.zarr"), mode="r")["intervals"]
    assert table["error"][:].tolist() == ["", "", "video 'nope' is not in the release"]
    assert read_intervals(zarr.open_group(str(tmp_path / "a.zarr"), mode="r"))[2].video == "nope"
    blank = write_video(tmp_path / "b", 12, hidden=(1, 13), name="blank")
    summary = build_spotting([video, blank], _intervals(), tmp_path / "b.zarr", SMALL, scheduler="sync", progress=False)
    assert summary.failed.keys() == {"blank"} and "no face found on the video's first frame" in summary.failed["blank"]
    group = zarr.open_group(str(tmp_path / "b.zarr"), mode="r")
    assert dict(group["videos/blank"].attrs)["status"] == "failed"
    assert group["videos/v1/valid"][:37].all()


class _Release:
    """A long-video recipe's interface (videos and intervals of a root) over one video."""

    task = "spotting"

    def __init__(self, video):
        self.video = video

    def videos(self, root):
        return [self.video]

    def intervals(self, root):
        return _intervals()

    def find_sheet(self, root):
        return Path(__file__)

    def digest(self, sheet):
        return "0" * 64


def test_build_command_dispatches_a_spotting_recipe_to_the_spotting_store(video, tmp_path, monkeypatch):
    from click.testing import CliRunner

    import mepipe.build
    import mepipe.cli.build
    from mepipe.cli import cli

    # a registered name, read as a long-video recipe over the test's one video
    monkeypatch.setattr(mepipe.build, "recipe_task", lambda name: "spotting")
    monkeypatch.setattr(mepipe.cli.build, "recipe_task", lambda name: "spotting")
    monkeypatch.setattr(mepipe.build, "get_recipe", lambda name, kind=None: _Release(video))
    out = tmp_path / "cli.zarr"
    args = [
        "build",
        "--dataset",
        "casme2",
        "--root",
        str(tmp_path),
        "--out",
        str(out),
        "--k",
        "3",
        "--scheduler",
        "sync",
    ]
    result = CliRunner().invoke(cli, [*args, "--quiet"])
    assert result.exit_code == 0, result.output
    assert "1 videos, 40 frames (40 computed now)" in result.output
    group = zarr.open_group(str(out), mode="r")
    assert dict(group.attrs)["mepipe_spotting"]["settings"]["k"] == 3
    assert group["videos/v1/valid"][:].sum() == 40 - 3


@pytest.fixture(scope="module")
def two_subjects(video, tmp_path_factory):
    """A store of three videos of two subjects: v1 and v2 (s1), v3 (s2, shorter, no expression)."""
    folder = tmp_path_factory.mktemp("two")
    v2 = write_video(folder / "v2", 40, [Event(10, 15, 20)], name="v2", seed=1)
    v3 = write_video(folder / "v3", 24, name="v3", subject="s2", seed=2)
    intervals = [*_intervals(), Interval("v2", "micro", 10, 20, apex=15, subject="s1", row=5)]
    out = folder / "three.zarr"
    build_spotting([video, v2, v3], intervals, out, SMALL, scheduler="sync", progress=False)
    return out


def test_open_spotting_is_a_named_padded_view_of_the_store(two_subjects):
    from mepipe.dataset import open_spotting

    view = open_spotting(str(two_subjects))
    assert view.region_motion.dims == ("video", "frame", "region")
    assert view.images.dims == ("video", "frame", "y", "x", "channel")
    assert list(view.video.values) == ["v1", "v2", "v3"] and list(view.subject.values) == ["s1", "s1", "s2"]
    assert list(view.region.values) == list(pairs.REGIONS) and view.sizes["frame"] == 40
    stored = zarr.open_group(str(two_subjects), mode="r")["videos/v3"]
    np.testing.assert_array_equal(view.region_motion.sel(video="v3").values[:24], stored["region_motion"][:])
    assert np.isnan(view.region_motion.sel(video="v3").values[24:]).all()
    assert view.number.sel(video="v3").values.tolist() == list(range(1, 25)) + [-1] * 16
    assert not view.valid.sel(video="v3").values[24:].any() and len(view.attrs["intervals"]) == 3


def test_loso_splits_hold_out_every_video_of_one_subject(two_subjects):
    from mepipe.dataset import loso_splits

    folds = [(s, train.tolist(), test.tolist()) for s, train, test in loso_splits(str(two_subjects))]
    assert folds == [("s1", [2], [0, 1]), ("s2", [0, 1], [2])]


def test_window_labels_are_positive_when_the_window_overlaps_an_interval():
    from mepipe.dataset import window_labels

    numbers = np.array([1, 2, 3, 5, 6, 7, 8, 9])  # frame 4 missing
    valid = np.ones(8, dtype=bool)
    valid[1] = False
    labels = window_labels(numbers, 2, [Interval("v", "micro", 7, 8, apex=7, subject="s")], valid)
    # windows: 1-3, 2-5 (invalid), 3-6, 5-7, 6-8, 7-9; the last two have no i + k
    assert labels.tolist() == [0, -1, 0, 1, 1, 1, -1, -1]


def test_spot_windows_serve_the_stored_images_with_pseudo_labels(two_subjects):
    pytest.importorskip("torch")
    from mepipe.dataset import loso_splits
    from mepipe.dataset.torch_view import SpotWindows

    _, train, _ = next(loso_splits(str(two_subjects)))
    windows = SpotWindows(str(two_subjects), train)
    assert len(windows) == 24 - 3  # v3's valid windows
    assert windows.labels.tolist() == [0] * 21  # v3 has no expression
    every = SpotWindows(str(two_subjects), types=("micro",))
    item = every[12]
    stored = zarr.open_group(str(two_subjects), mode="r")["videos/v1"]
    np.testing.assert_array_equal(item["images"].numpy(), stored["images"][12].transpose(2, 0, 1))
    # v1's frame 13 window spans 13-16, inside the micro-expression 10-20
    assert (item["video"], item["frame"], item["label"]) == ("v1", 13, 1)
    assert every[0]["label"] == 0 and every.labels.sum() > 0


def test_report_draws_each_video_with_its_intervals(two_subjects, tmp_path):
    import cv2
    from click.testing import CliRunner

    from mepipe.cli import cli

    result = CliRunner().invoke(cli, ["report", str(two_subjects), "--out", str(tmp_path / "page")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "page" / "index.html").read_text()
    assert all(f'src="{name}.png"' in page for name in ("v1", "v2", "v3"))
    picture = cv2.imread(str(tmp_path / "page" / "v1.png"))
    # curve, then one row of thumbnails for v1's two intervals
    assert picture.shape[1] == 1200 and picture.shape[0] > 260 + 84
    # the micro-expression's band is red-tinted, the macro's blue-tinted, in the curve
    band = picture[60:200]
    reddish = (band[..., 2].astype(int) - band[..., 0] > 20).any(axis=0)
    bluish = (band[..., 0].astype(int) - band[..., 2] > 20).any(axis=0)
    assert reddish.sum() > 50 and bluish.sum() > 50 and not (reddish & bluish).any()


def test_verify_finds_a_damaged_block_and_the_build_restores_only_it(video, tmp_path):
    from click.testing import CliRunner

    from mepipe.cli import cli

    out = tmp_path / "v.zarr"
    build_spotting([video], _intervals(), out, SMALL, scheduler="sync", progress=False)
    expected = _arrays(out)
    result = CliRunner().invoke(cli, ["verify", str(out)])
    assert result.exit_code == 0 and "5 blocks checked, 0 damaged" in result.output
    chunk = out / "videos" / "v1" / "region_motion" / "c" / "2" / "0"
    chunk.write_bytes(b"not a chunk")
    result = CliRunner().invoke(cli, ["verify", str(out)])
    assert result.exit_code == 1, result.output
    assert "damaged  v1 block 2: region_motion unreadable" in result.output
    summary = build_spotting([video], _intervals(), out, SMALL, scheduler="sync", progress=False)
    assert summary.computed == 16  # the chunk of 2 blocks holding block 2
    for name, values in _arrays(out).items():
        np.testing.assert_array_equal(values, expected[name], err_msg=name)
