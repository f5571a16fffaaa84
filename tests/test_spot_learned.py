"""The learned spotter: SOFTNet as published, its training windows, leave-one-subject-out
that never trains on the test subject, predictions in the release's numbers, and
``mepipe spot --spotter softnet`` then ``mepipe spot-eval`` on a small store."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from mepipe.cli import cli
from mepipe.engine.spotting import SpotSettings, build_spotting
from mepipe.errors import UsageError
from mepipe.release.longvideo import Interval
from mepipe.spot.baseline import SpotVideo
from mepipe.spot.evaluate import evaluate, read_spans, truth_intervals
from tests.no_torch import WITHOUT_TORCH
from tests.spotvideo import Event, write_video

torch = pytest.importorskip("torch")

from mepipe.spot.learned import (  # noqa: E402
    LearnedSettings,
    StoreVideo,
    spot_learned,
    spot_scores,
    store_windows,
    training_windows,
)
from mepipe.train.models import build_model, get_model, model_names  # noqa: E402
from mepipe.train.models.softnet import as_published  # noqa: E402
from mepipe.train.spotting import train_spotter, window_scores  # noqa: E402

# one thread: the machine is shared
torch.set_num_threads(1)

SMALL = SpotSettings(crop=48, block=8, chunk=16, k=3)
FIRST = 101  # the release numbers its frames from 101: predictions must be in those numbers
FAST = LearnedSettings(epochs=2, batch=16)


# ---------------------------------------------------------------- the network


def test_softnet_has_the_published_layers_and_one_score_out():
    model = build_model("softnet", 1, task="spotting")
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    # the authors' Keras model: one 5x5 convolution per channel into 3, 5 and 8 maps,
    # max-pools to 14 then 7 px, dense 400, one linear output
    assert shapes == {
        "streams.0.weight": (3, 1, 5, 5),
        "streams.0.bias": (3,),
        "streams.1.weight": (5, 1, 5, 5),
        "streams.1.bias": (5,),
        "streams.2.weight": (8, 1, 5, 5),
        "streams.2.bias": (8,),
        "dense.weight": (400, 7 * 7 * 16),
        "dense.bias": (400,),
        "out.weight": (1, 400),
        "out.bias": (1,),
    }
    assert sum(p.numel() for p in model.parameters()) == 314_817  # Keras's model.summary() count
    assert model(torch.zeros(5, 3, 42, 42)).shape == (5, 1)
    assert all(not p.detach().any() for name, p in model.named_parameters() if name.endswith("bias"))


def test_each_stream_sees_only_its_own_channel():
    model = build_model("softnet", 1, task="spotting")
    x = torch.randn(2, 3, 42, 42)
    changed = x.clone()
    changed[:, 2] = torch.randn(2, 42, 42)  # strain only
    with torch.no_grad():
        maps = [conv(x[:, c : c + 1]) for c, conv in enumerate(model.streams)]
        after = [conv(changed[:, c : c + 1]) for c, conv in enumerate(model.streams)]
    assert torch.equal(maps[0], after[0]) and torch.equal(maps[1], after[1]) and not torch.equal(maps[2], after[2])


def test_the_input_is_abs_u_abs_v_strain_each_min_max_normalised_as_opencv_does():
    rng = np.random.default_rng(0)
    images = rng.normal(0, 1, (3, 42, 42, 3)).astype(np.float32)
    images[1, :, :, 1] = 0.25  # a flat channel
    got = as_published(torch.from_numpy(images)).numpy()
    for i in range(3):
        for c in range(3):
            channel = np.abs(images[i, :, :, c]) if c < 2 else images[i, :, :, c]
            expected = cv2.normalize(channel, None, alpha=0, beta=1, norm_type=cv2.NORM_MINMAX)
            np.testing.assert_allclose(got[i, c], expected, atol=1e-6)


def test_softnet_is_a_spotting_model_the_trainer_does_not_see():
    assert "softnet" in model_names("spotting") and "softnet" not in model_names()
    assert get_model("softnet", "spotting").task == "spotting"
    with pytest.raises(UsageError, match=r"unknown model 'softnet' \(a spotting model, for mepipe spot --spotter\)"):
        get_model("softnet")
    with pytest.raises(UsageError, match="unknown model 'ststnet'"):
        build_model("ststnet", 1, task="spotting")


# ---------------------------------------------------------------- training windows


def _windows(name: str, subject: str, labels: list[int], kind: str = "micro", seed: int = 0) -> StoreVideo:
    rng = np.random.default_rng(seed)
    images = rng.normal(0, 0.3, (len(labels), 42, 42, 3)).astype(np.float32)
    other = "macro" if kind == "micro" else "micro"
    numbers = np.arange(len(labels))
    return StoreVideo(
        SpotVideo(name, subject, 30.0, np.zeros((len(labels), 1, 2)), numbers),
        images,
        {kind: np.array(labels, dtype=np.int8), other: np.minimum(np.array(labels, dtype=np.int8), 0)},
    )


def test_training_windows_keep_half_the_negatives_and_augment_micro_positives():
    video = _windows("v", "s", [0] * 40 + [1] * 6 + [-1] * 4)
    rng = np.random.default_rng(1)
    x, y = training_windows([video], "micro", LearnedSettings(), rng)
    # 20 of the 40 negatives; 6 positives and 3 copies of each; the 4 unusable windows never
    assert (int((y == 0).sum()), int((y == 1).sum())) == (20, 24)
    positives = video.images[40:46]
    kept = {x[i].tobytes() for i in range(len(y))}
    assert all(image.tobytes() in kept for image in positives)
    assert all(image[:, ::-1].tobytes() in kept for image in positives)  # flipped left-right
    blurred = [cv2.GaussianBlur(image, (7, 7), 0) for image in positives]
    assert all(np.ascontiguousarray(b).tobytes() in kept for b in blurred)
    unusable = {image.tobytes() for image in video.images[46:]}
    assert not kept & unusable
    # macro windows are not augmented; without positives of the type, no positive
    _, macro = training_windows([video], "macro", LearnedSettings(), rng)
    assert not macro.any() and macro.size == 23  # half of the 46 usable negatives


def test_training_learns_a_planted_pattern():
    rng = np.random.default_rng(2)
    images = rng.normal(0, 0.2, (96, 42, 42, 3)).astype(np.float32)
    labels = (np.arange(96) % 3 == 0).astype(np.float32)
    images[labels == 1, 21:, 10:30] += 2.0  # the mouth moves in the positive windows
    model, losses = train_spotter(images, labels, epochs=8, batch=12, lr=0.05)
    assert losses[-1] < losses[0]
    fresh = rng.normal(0, 0.2, (20, 42, 42, 3)).astype(np.float32)
    fresh[:10, 21:, 10:30] += 2.0
    scores = window_scores(model, fresh)
    assert scores[:10].min() > scores[10:].max(), scores
    # a window whose images were not computed has no score
    fresh[5] = np.nan
    assert np.isnan(window_scores(model, fresh)[5])


def test_scores_become_intervals_of_the_expected_length_in_the_videos_numbers():
    numbers = np.arange(300) * 2 + 1000
    video = SpotVideo("v", "s", 30.0, np.zeros((300, 1, 2)), numbers)
    scores = np.zeros(300)
    scores[100:110] = 1.0  # a window run scored high around row 104.5
    scores[200:212] = 0.9
    lengths = {"micro": 0.3, "macro": 1.5}
    spans = spot_scores(video, scores, "micro", lengths, p=0.55)
    assert [(s.type, s.onset, s.offset) for s in spans] == [
        ("micro", 1000 + 2 * 100, 1000 + 2 * 108),
        ("micro", 1000 + 2 * 200, 1000 + 2 * 208),
    ]
    assert spot_scores(video, np.full(300, 0.3), "micro", lengths, 0.55) == []  # flat: nothing


# ---------------------------------------------------------------- on a store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Three subjects, one 48-frame video each with a brow raise and a smile (frames
    numbered from 101); subject s3 also has a video without any expression."""
    root = tmp_path_factory.mktemp("learned")
    videos, intervals = [], []
    for index, subject in enumerate(("s1", "s2", "s3")):
        name, shift = f"{subject}_v1", 2 * index
        a, b = FIRST + 8 + shift, FIRST + 30
        events = [Event(a, a + 4, a + 8, "surprise", 3.0), Event(b, b + 4, b + 8, "happiness", 3.0)]
        videos.append(write_video(root / name, 48, events, first=FIRST, name=name, subject=subject, seed=index))
        intervals += [
            Interval(name, "micro", a, a + 8, a + 4, subject, aus="AU1+2", emotion="surprise", row=2 + len(intervals)),
            Interval(
                name, "macro", b - 4, b + 12, b + 4, subject, aus="AU12", emotion="positive", row=3 + len(intervals)
            ),
        ]
    videos.append(write_video(root / "s3_quiet", 24, [], first=FIRST, name="s3_quiet", subject="s3", seed=9))
    out = root / "spot.zarr"
    summary = build_spotting(videos, intervals, out, SMALL, scheduler="sync", progress=False)
    assert summary.ok, summary.format()
    return out


@pytest.fixture(scope="module")
def found(store):
    return spot_learned(store, FAST)


def test_no_network_is_trained_on_its_test_subject(store, found):
    assert found.trained_on == {
        "s1": ("s2_v1", "s3_v1", "s3_quiet"),
        "s2": ("s1_v1", "s3_v1", "s3_quiet"),
        "s3": ("s1_v1", "s2_v1"),
    }
    # the test subject's windows replaced by anything else: its fold trains exactly as before
    videos, left_out = store_windows(store)
    rng = np.random.default_rng(4)
    changed = [
        dataclasses.replace(
            v,
            images=rng.normal(0, 5, v.images.shape).astype(np.float32),
            labels={kind: np.where(labels >= 0, 1 - labels, labels) for kind, labels in v.labels.items()},
        )
        if v.video.subject == "s3"
        else v
        for v in videos
    ]
    after = spot_learned(store, FAST, read=(changed, left_out))
    assert after.losses["s3"] == found.losses["s3"]
    # while the folds that train on s3 see the change
    assert after.losses["s1"] != found.losses["s1"]


def test_predictions_are_spans_in_the_releases_numbers_for_every_video(store, found):
    videos, _ = store_windows(store)
    assert set(found.scores) == {v.video.name for v in videos}
    assert {s.video for s in found.spans} == {v.video.name for v in videos}
    for v in videos:
        numbers = set(v.video.numbers.tolist())
        spans = [s for s in found.spans if s.video == v.video.name]
        assert all(s.type in ("micro", "macro") for s in spans)
        assert all(s.onset in numbers and s.offset in numbers and s.onset <= s.offset for s in spans)
        assert min(s.onset for s in spans) >= FIRST
    assert found.spans == sorted(
        found.spans, key=lambda s: ([v.video.name for v in videos].index(s.video), s.onset, s.type)
    )


def test_a_store_of_one_subject_is_refused(tmp_path):
    video = write_video(tmp_path / "v", 20, [], name="v", subject="s1")
    build_spotting([video], [], tmp_path / "one.zarr", SMALL, scheduler="sync", progress=False)
    with pytest.raises(UsageError, match="trains on the other subjects; the store holds 1"):
        spot_learned(tmp_path / "one.zarr", FAST)


def test_spot_softnet_then_spot_eval(store, tmp_path):
    pred, out = tmp_path / "p.csv", tmp_path / "m.json"
    runner = CliRunner()
    spotted = runner.invoke(
        cli, ["spot", str(store), "--out", str(pred), "--spotter", "softnet", "--epochs", "2", "--quiet"]
    )
    assert spotted.exit_code == 0, spotted.output
    assert "4 videos of 3 subjects, softnet trained without each subject" in spotted.output
    spans = read_spans(pred)
    assert {s.video for s in spans} == {"s1_v1", "s2_v1", "s3_v1", "s3_quiet"}
    scored = runner.invoke(cli, ["spot-eval", "--truth", str(store), "--pred", str(pred), "--out", str(out)])
    assert scored.exit_code == 0, scored.output
    record = json.loads(out.read_text())
    assert record["videos"] == 4
    assert record["overall"]["tp"] + record["overall"]["fp"] == len(spans)
    assert record["micro"]["tp"] + record["micro"]["fn"] == 3 and record["macro"]["tp"] + record["macro"]["fn"] == 3
    evaluation = evaluate(truth_intervals(store), spans)
    assert record["overall"]["tp"] == evaluation.total().tp


def test_without_torch_the_learned_spotter_says_so_in_one_line(tmp_path):
    code = WITHOUT_TORCH + textwrap.dedent(f"""
        from mepipe.cli import main
        main(["spot", {str(tmp_path / "s.zarr")!r}, "--out", {str(tmp_path / "p.csv")!r}, "--spotter", "softnet"])
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr == "mepipe: error: mepipe spot --spotter softnet needs PyTorch: pip install 'mepipe[train]'\n"
    assert not (tmp_path / "p.csv").exists()
