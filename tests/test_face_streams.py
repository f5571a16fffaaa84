"""The face stream of a spotting store (issue 36, item 2): the ``face`` feature, its windows
as a PyTorch Dataset, and ``mepipe features`` with a tiny TorchScript backbone made here,
its ActionFormer annotations read back by a loader of that layout written here.

On a small synthetic CAS(ME)^2 release (two subjects of one short video each), DIS flow on
a 48 px crop (the face stream keeps its own 128 px side).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import zarr
from click.testing import CliRunner

from mepipe.arrays.face import FACE_SIDE
from mepipe.build import build
from mepipe.cli import cli
from mepipe.dataset import FaceWindows, face_windows, loso_splits, open_spotting
from mepipe.dataset.windows import IMAGENET_MEAN, IMAGENET_STD, window_overlap, window_starts
from mepipe.engine.spotting import SpotSettings
from mepipe.errors import UsageError
from mepipe.store.spotting import open_spotting_store, spotting_record
from tests.spotvideo import SMALL_SPOTTING

SMALL = SMALL_SPOTTING
FEATURES = "validity,regions,mdmd,motion,cells"


@pytest.fixture(scope="module")
def release(casme_sq_release) -> Path:
    return casme_sq_release


@pytest.fixture(scope="module")
def store(casme_sq_store) -> Path:
    return casme_sq_store


@pytest.fixture(scope="module")
def with_face(release, store, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("face_store") / "casme_sq.zarr"
    summary = build(
        "casme_sq", release, str(out), arrays=f"{FEATURES},face", settings=SMALL, scheduler="sync", progress=False
    )
    assert summary.ok, summary.format()
    return out


def test_the_face_stream_is_each_kept_frame_s_face_and_costs_the_other_features_nothing(release, store, with_face):
    record = spotting_record(open_spotting_store(with_face))
    assert (
        record.features == ["validity", "regions", "mdmd", "motion", "cells", "face"]
        and record.feature_versions["face"] == 1
    )
    built, plain = (zarr.open_group(str(s), mode="r")["videos/s15_0101"] for s in (with_face, store))
    for name in ("images", "region_motion", "valid"):  # the flow features are bit for bit the same
        np.testing.assert_array_equal(built[name][:], plain[name][:], err_msg=name)
    face = built["face"]
    assert face.shape == (96, FACE_SIDE, FACE_SIDE, 3) and face.dtype == np.uint8 and face.chunks[0] == SMALL.block
    values = face[:]
    assert (values.reshape(96, -1).std(axis=1) > 10).all()  # a picture on every row, no fill
    # the colour crop is the gray crop's face: its luminance follows the flow's crop, resized
    import cv2

    gray = cv2.cvtColor(values[0], cv2.COLOR_RGB2GRAY).astype(float)
    from mepipe.imaging.track import FaceTrack, decode

    track = FaceTrack.from_record(dict(built.attrs)["track"])
    segment = track.segment_at(0)
    assert segment is not None
    numbers = built["numbers"][:]
    path = release / "rawpic" / "s15" / "15_0101disgustingteeth" / f"img{numbers[0]:03d}.jpg"
    reference = segment.cut(decode(path), FACE_SIDE).astype(float)
    assert numbers[0] >= 0 and np.corrcoef(gray.ravel(), reference.ravel())[0, 1] > 0.9
    assert "face" in open_spotting(str(with_face)).data_vars


def test_face_is_added_to_a_finished_store_alone_and_resampled_by_fps(release, store, tmp_path):
    out = tmp_path / "added.zarr"
    build("casme_sq", release, str(out), settings=SMALL, scheduler="sync", progress=False)
    summary = build(
        "casme_sq", release, str(out), arrays=f"{FEATURES},face_gray", settings=SMALL, scheduler="sync", progress=False
    )
    assert summary.added == ("face_gray",)
    group = zarr.open_group(str(out), mode="r")["videos/s16_0101"]
    assert group["face_gray"].shape == (96, FACE_SIDE, FACE_SIDE) and group["done_face_gray"][:].all()
    half = tmp_path / "half.zarr"
    settings = SpotSettings(method="dis", crop=48, block=8, chunk=16, fps=15)
    build("casme_sq", release, str(half), arrays="validity,face", settings=settings, scheduler="sync", progress=False)
    halved = zarr.open_group(str(half), mode="r")["videos/s16_0101"]
    assert halved["face"].shape[0] == 48 and "images" not in halved
    np.testing.assert_array_equal(halved["numbers"][:], group["numbers"][::2])


def test_window_index_and_labels():
    assert window_starts(10, 4, 3).tolist() == [0, 3, 6]
    assert window_starts(2, 4, 3).tolist() == [0]
    from mepipe.release.longvideo import Interval

    intervals = [Interval("v", "micro", onset=10, offset=13), Interval("v", "macro", onset=20, offset=29)]
    numbers = np.arange(1, 41)  # numbers start at 1, as releases do
    overlap, label = window_overlap(numbers, window_starts(40, 8, 4), 8, intervals)
    # window 1 holds frames 5..12: 10, 11, 12 are micro
    assert overlap[1].tolist() == [3 / 8, 0.0] and label[1].tolist() == [1, 0]
    assert label[:, 1].tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 0]
    with pytest.raises(UsageError, match="at least 1"):
        window_starts(10, 0, 1)


def test_face_windows_serve_normalised_clips(with_face, store):
    index = face_windows(str(with_face), length=8, stride=4)
    assert index.array == "face" and len(index) == 2 * 23
    data = FaceWindows(str(with_face), length=8, stride=4, size=64)
    item = data[3]
    assert item["frames"].shape == (3, 8, 64, 64) and item["frames"].dtype == torch.float32
    assert item["label"].shape == (2,) and item["overlap"].dtype == torch.float32
    raw = zarr.open_group(str(with_face), mode="r")[f"videos/{item['video']}/face"][item["start"]]
    plain = FaceWindows(str(with_face), length=8, stride=4)[3]["frames"][:, 0]
    expected = (torch.from_numpy(raw).float().permute(2, 0, 1) / 255 - torch.tensor(IMAGENET_MEAN).view(3, 1, 1)) / (
        torch.tensor(IMAGENET_STD).view(3, 1, 1)
    )
    torch.testing.assert_close(plain, expected)
    loader = torch.utils.data.DataLoader(data, batch_size=4, num_workers=0)
    assert next(iter(loader))["frames"].shape == (4, 3, 8, 64, 64)
    with pytest.raises(UsageError, match="holds no face stream"):
        face_windows(str(store))


class Tiny(torch.nn.Module):
    """A backbone of the layout: float (B, C, T, H, W) -> (B, 5)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv3d(3, 5, kernel_size=(2, 4, 4), stride=(2, 4, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).mean(dim=(2, 3, 4))


def load_actionformer(path: Path, features: Path, subset: str) -> list[dict]:
    """ActionFormer's reading of a database JSON: the videos of one subset, each with its
    feature array and its segments in feature-grid units (a ~20-line loader of the layout)."""
    with open(path) as handle:
        database = json.load(handle)["database"]
    about = json.loads((features.parent / "features.json").read_text())
    stride, frames = about["stride"], about["length"]
    items = []
    for name, video in database.items():
        if video["subset"] != subset:
            continue
        feats = np.load(features / f"{name}.npy").astype(np.float32)
        segments = np.array([a["segment"] for a in video["annotations"]], dtype=np.float32).reshape(-1, 2)
        labels = np.array([a["label_id"] for a in video["annotations"]], dtype=np.int64)
        fps, duration = video["fps"], video["duration"]
        # ActionFormer: seconds -> feature index, (t * fps - 0.5 * num_frames) / feat_stride
        grid = (segments * fps - 0.5 * frames) / stride
        items.append({"id": name, "feats": feats.T, "segments": grid, "labels": labels, "duration": duration})
    return items


def test_mepipe_features_writes_actionformer_s_layout(with_face, tmp_path):
    backbone = tmp_path / "tiny.pt"
    torch.manual_seed(0)
    torch.jit.save(torch.jit.trace(Tiny().eval(), torch.zeros(1, 3, 8, 128, 128)), str(backbone))
    out = tmp_path / "feats"
    result = CliRunner().invoke(
        cli,
        ["features", str(with_face), "--backbone", str(backbone), "--out", str(out), "--length", "8", "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert "2 videos, 192 frames, 46 windows -> features of 5" in result.output
    assert "2 LOSO folds" in result.output
    feats = np.load(out / "features" / "s15_0101.npy")
    assert feats.shape == (23, 5) and feats.dtype == np.float32
    # row i is the backbone on window i as FaceWindows serves it
    clip = FaceWindows(str(with_face), length=8, stride=4)[2]["frames"]
    np.testing.assert_allclose(feats[2], torch.jit.load(str(backbone))(clip[None])[0].detach().numpy(), rtol=1e-5)
    folds = {subject: {str(n) for n in test} for subject, _, test in loso_splits(str(with_face))}
    names = [str(v) for v in open_spotting(str(with_face)).video.values]
    assert sorted(p.name for p in (out / "annotations").iterdir()) == [f"loso_{s}.json" for s in sorted(folds)]
    for subject in folds:
        validation = load_actionformer(out / "annotations" / f"loso_{subject}.json", out / "features", "validation")
        training = load_actionformer(out / "annotations" / f"loso_{subject}.json", out / "features", "training")
        assert [v["id"] for v in validation] == [n for n in names if n.startswith(subject)]
        assert len(validation) + len(training) == 2
        for video in validation + training:
            assert video["feats"].shape == (5, 23) and video["duration"] == pytest.approx(96 / 30)
            assert len(video["segments"]) == len(video["labels"]) > 0 and set(video["labels"]) <= {0, 1}
    about = json.loads((out / "features.json").read_text())
    assert about["length"] == 8 and about["stride"] == 4 and about["dim"] == 5 and about["array"] == "face"


def test_mepipe_features_says_what_is_wrong_in_one_line(with_face, store, tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    for args, message in (
        ([str(with_face), "--backbone", str(junk)], "is not a TorchScript archive (torch.jit.save) nor"),
        ([str(store), "--backbone", str(junk)], "holds no face stream"),
        ([str(with_face), "--backbone", str(tmp_path / "none.pt")], "no such file"),
        ([str(with_face), "--backbone", str(junk), "--model", "nothing"], "no registered model"),
    ):
        result = CliRunner().invoke(cli, ["features", *args, "--out", str(tmp_path / "o"), "--quiet"])
        assert result.exit_code != 0 and message in result.output, (args, result.output)
