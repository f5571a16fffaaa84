"""Spotting and scoring a real spotting store: ``mepipe spot STORE`` then
``mepipe spot-eval --truth STORE``, on small synthetic long videos of the packaged portrait."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr
from click.testing import CliRunner

from mepipe.cli import cli
from mepipe.engine.spotting import SpotSettings, build_spotting
from mepipe.errors import MepipeError
from mepipe.release.longvideo import Interval
from mepipe.spot.baseline import store_videos
from mepipe.spot.evaluate import evaluate, read_spans, truth_intervals
from tests.spotvideo import Event, write_video

SMALL = SpotSettings(crop=48, block=8, chunk=16, k=3)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two subjects, one 44-frame video each with a brow raise and a smile; a third video
    of subject s2 without any expression."""
    root = tmp_path_factory.mktemp("spotstore")
    videos, intervals = [], []
    for s, shift in (("s1", 0), ("s2", 4)):
        name = f"{s}_v1"
        events = [Event(8 + shift, 12 + shift, 16 + shift, "surprise", 3.0), Event(28, 32, 36, "happiness", 3.0)]
        videos.append(write_video(root / name, 44, events, name=name, subject=s, seed=len(videos)))
        intervals += [
            Interval(
                name,
                "micro",
                8 + shift,
                16 + shift,
                apex=12 + shift,
                subject=s,
                aus="AU1+2",
                emotion="surprise",
                row=2 + len(intervals),
            ),
            Interval(name, "micro", 28, 36, apex=32, subject=s, aus="AU12", emotion="positive", row=3 + len(intervals)),
        ]
    videos.append(write_video(root / "s2_quiet", 24, [], name="s2_quiet", subject="s2", seed=9))
    out = root / "spot.zarr"
    summary = build_spotting(videos, intervals, out, SMALL, scheduler="sync", progress=False)
    assert summary.ok, summary.format()
    return out


def test_store_videos_stand_for_the_pairs_middle_frames(store):
    videos, left_out = store_videos(store)
    assert left_out == {}
    assert [v.name for v in videos] == ["s1_v1", "s2_v1", "s2_quiet"]
    group = zarr.open_group(str(store), mode="r")["videos/s1_v1"]
    numbers = group["numbers"][:]
    # k = 3: row t stands for kept frame t + 1; the last row for the last frame
    assert videos[0].numbers.tolist() == [*numbers[1:].tolist(), int(numbers[-1])]
    # the cells feature's signed flow as 7 x 7 cell means (the region images are SOFTNet's
    # |u|, |v| since regions version 2): what the baseline sums
    stored = group["cell_flow"][:]
    assert videos[0].flow.shape == (len(numbers), 36, 2)
    np.testing.assert_array_equal(videos[0].flow, stored.astype(np.float64))
    valid = group["valid"][:]
    assert np.isfinite(stored[valid]).all() and (stored[valid] < 0).any()
    assert [(s.type, s.onset, s.offset) for s in videos[0].intervals] == [("micro", 8, 16), ("micro", 28, 36)]


def test_store_truth_holds_every_video_and_its_intervals(store):
    truth = truth_intervals(store)
    assert truth.videos == frozenset({"s1_v1", "s2_v1", "s2_quiet"})
    assert len(truth.spans) == 4 and {s.emotion for s in truth.spans} == {"surprise", "positive"}


def test_spot_then_score_the_store(store, tmp_path):
    pred, metrics = tmp_path / "p.csv", tmp_path / "m.json"
    runner = CliRunner()
    spotted = runner.invoke(cli, ["spot", str(store), "--out", str(pred), "--quiet"])
    assert spotted.exit_code == 0, spotted.output
    assert "fixed defaults (too few subjects)" in spotted.output
    spans = read_spans(pred)
    assert spans and {s.video for s in spans} <= {"s1_v1", "s2_v1", "s2_quiet"}
    scored = runner.invoke(cli, ["spot-eval", "--truth", str(store), "--pred", str(pred), "--out", str(metrics)])
    assert scored.exit_code == 0, scored.output
    record = json.loads(metrics.read_text())
    assert record["videos"] == 3
    assert record["micro"]["tp"] + record["micro"]["fn"] == 4
    assert record["overall"]["tp"] + record["overall"]["fp"] == len(spans)
    assert record["micro"]["tp"] >= 2, record  # the expressions are found on the store's own motion


def test_a_prediction_in_a_video_the_store_lacks_is_named(store, tmp_path):
    pred = tmp_path / "p.csv"
    pred.write_text("video,type,onset,offset\ns1_v1,micro,8,16\ns9_v1,micro,1,9\n")
    out = tmp_path / "m.json"
    result = CliRunner().invoke(cli, ["spot-eval", "--truth", str(store), "--pred", str(pred), "--out", str(out)])
    assert result.exit_code == 1
    assert f"{pred}: row 3: video 's9_v1' is not in the store {store}" in result.output
    assert not out.exists()
    with pytest.raises(MepipeError, match="not in the store"):
        evaluate(truth_intervals(store), read_spans(pred), str(pred))


def test_a_folder_that_is_not_a_spotting_store_is_named(tmp_path):
    (tmp_path / "plain").mkdir()
    zarr.open_group(str(tmp_path / "z.zarr"), mode="w")
    with pytest.raises(MepipeError, match=r"not a mepipe store \(no zarr group there\)"):
        truth_intervals(tmp_path / "plain")
    with pytest.raises(MepipeError, match="not a spotting store"):
        truth_intervals(tmp_path / "z.zarr")


def test_a_prediction_past_a_videos_last_frame_is_counted_and_scored(store, tmp_path):
    truth = truth_intervals(store)
    group = zarr.open_group(str(store), mode="r")
    assert truth.last_frames == {name: int(group[f"videos/{name}/numbers"][-1]) for name in truth.videos}
    last = truth.last_frames["s1_v1"]
    pred = tmp_path / "p.csv"
    pred.write_text(
        "video,type,onset,offset\n"
        "s1_v1,micro,8,16\n"  # a hit
        f"s1_v1,micro,28,{last + 1}\n"  # ends one frame past the end: still a hit (IoU 9/17)
        f"s1_v1,macro,{last - 2},{last}\n"  # ends on the last frame: inside
        f"s2_quiet,macro,{truth.last_frames['s2_quiet'] + 5},{truth.last_frames['s2_quiet'] + 9}\n"  # wholly after
    )
    out = tmp_path / "m.json"
    result = CliRunner().invoke(cli, ["spot-eval", "--truth", str(store), "--pred", str(pred), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"mepipe: {pred}: 2 predicted rows end past their video's last frame in {store}; scored as written\n"
    )
    record = json.loads(out.read_text())
    assert record["past_last_frame"] == 2
    assert (record["micro"]["tp"], record["micro"]["fp"], record["macro"]["fp"]) == (2, 0, 2)


def test_a_header_only_prediction_file_is_said_and_scores_every_interval_a_miss(store, tmp_path):
    pred = tmp_path / "p.csv"
    pred.write_text("video,type,onset,offset\n")
    out = tmp_path / "m.json"
    result = CliRunner().invoke(cli, ["spot-eval", "--truth", str(store), "--pred", str(pred), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"mepipe: {pred}: no predicted rows (a header only); every interval scored as a miss\n"
    record = json.loads(out.read_text())
    assert (record["micro"]["tp"], record["micro"]["fn"], record["past_last_frame"]) == (0, 4, 0)
