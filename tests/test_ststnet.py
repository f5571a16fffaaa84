"""The STSTNet family's inputs: borders, framing and names as the published files have them,
and exports read back as HTNet's and STSTNet's loaders read them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pandas
import pytest
import zarr

from mepipe.build import build
from mepipe.dataset.export import export
from mepipe.dataset.ststnet import (
    EYE_HEIGHT,
    EYE_SHARE,
    as_pandas_reads,
    border_mask,
    framing_box,
    nearest_fill,
    published_names,
    ststnet_image,
)
from mepipe.imaging import align
from mepipe.store import OK

FAST = "tvl1-fast"
FLOW = "trdi,midi,onset,apex,flow"


def _minmax(values: np.ndarray) -> np.ndarray:
    return np.round(255 * (values - values.min()) / (values.max() - values.min()))


def test_nearest_fill_takes_the_nearest_pixel_outside_the_mask():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(40, 40, 3)).astype(np.float32)
    mask = np.zeros((40, 40), bool)
    mask[:3], mask[:, :3], mask[20:30, 25:] = True, True, True
    filled = nearest_fill(values, mask)
    np.testing.assert_array_equal(filled[~mask], values[~mask])
    ys, xs = np.nonzero(~mask)
    for y, x in zip(*np.nonzero(mask)):
        source = np.flatnonzero((values[ys, xs] == filled[y, x]).all(axis=1))
        distance = np.hypot(ys - y, xs - x)
        assert len(source) == 1 and distance[source[0]] == pytest.approx(distance.min())


def test_border_mask_is_the_edge_band_and_the_pixels_whose_source_is_outside_the_frame():
    shifted = np.array([[1.0, 0, -2], [0, 1.0, 0]])  # output x = source x - 2: x >= 8 reads past a 10 px frame
    mask = border_mask(10, 1, shifted, (10, 10))
    expected = np.ones((10, 10), bool)
    expected[1:-1, 1:7] = False  # band of 1, and columns 8, 9 outside grown by 1
    np.testing.assert_array_equal(mask, expected)
    np.testing.assert_array_equal(border_mask(10, 2, None, None)[2:-2, 2:-2], False)


def _smooth_maps(size: int, band: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A flow and strain whose edge band already holds its nearest inner pixel's values."""
    rng = np.random.default_rng(seed)
    inner = cv2.GaussianBlur(rng.normal(size=(size - 2 * band, size - 2 * band, 3)).astype(np.float32), (0, 0), 3)
    maps = cv2.copyMakeBorder(inner, band, band, band, band, cv2.BORDER_REPLICATE)
    return maps[..., :2].copy(), np.abs(maps[..., 2])


def test_store_framing_is_the_resized_min_max_map():
    """u, v, strain as red, green, blue, each resized by area to 28 and min-max scaled alone."""
    flow, strain = _smooth_maps(56, 4)
    image = ststnet_image(flow, strain, framing="store")
    assert image.shape == (28, 28, 3) and image.dtype == np.uint8
    for channel, values in enumerate((flow[..., 0], flow[..., 1], strain)):
        small = cv2.resize(values, (28, 28), interpolation=cv2.INTER_AREA).astype(np.float64)
        np.testing.assert_allclose(image[..., channel], _minmax(small), atol=1)


def test_strain_at_the_borders_does_not_set_the_scale():
    flow, strain = _smooth_maps(56, 4, seed=1)  # the band: two 28 px pixels
    clean = ststnet_image(flow, strain, framing="store")
    spiked = strain.copy()
    spiked[0, 20] = spiked[30, 55] = 50 * strain.max()  # on the map's own edges
    np.testing.assert_array_equal(ststnet_image(flow, spiked, framing="store"), clean)
    # without the treatment the spike would set the scale, the rest of the map near 0
    plain = cv2.resize(spiked, (28, 28), interpolation=cv2.INTER_AREA)
    assert _minmax(plain)[1:-1, 1:-1].mean() < 0.2 * clean[1:-1, 1:-1, 2].mean()
    # a face near the frame's right edge: output columns 50.. read past it (grown by the band, 46..)
    transform, frame = np.array([[1.0, 0, -10], [0, 1.0, 0]]), (56, 60)
    flow_out, spiked_out = flow.copy(), spiked.copy()
    flow_out[:, 50:], spiked_out[:, 50:] = 40.0, 80 * strain.max()
    image = ststnet_image(flow_out, spiked_out, transform=transform, frame_size=frame, framing="store")
    flow_in, strain_in = flow.copy(), strain.copy()
    flow_in[:, 46:], strain_in[:, 46:] = flow[:, 45:46], strain[:, 45:46]  # the nearest pixel inside
    np.testing.assert_array_equal(image, ststnet_image(flow_in, strain_in, framing="store"))


def _portrait_alignment(size: int, window: float | None) -> tuple[np.ndarray, np.ndarray]:
    points = np.array(
        json.loads((Path(align.__file__).parents[1] / "data" / "astronaut_landmarks.json").read_text())["points"]
    )
    return points.astype(np.float32), align.similarity_from_landmarks(points, size, window)


@pytest.mark.parametrize("window", [None, 0.8, 1 / 1.04], ids=["canonical", "0.8", "meb"])
def test_published_framing_puts_the_eyes_where_the_published_files_have_them(window):
    points, transform = _portrait_alignment(224, window)
    x0, y0, side = framing_box(points, transform, 224)
    out = align.to_output(points, transform)
    left, right = out[36:42].mean(axis=0), out[42:48].mean(axis=0)
    assert np.hypot(*(right - left)) / side == pytest.approx(EYE_SHARE, abs=0.01)
    middle = (left + right) / 2
    assert (middle[0] - x0) / side == pytest.approx(0.5, abs=0.01)
    assert (middle[1] - y0) / side == pytest.approx(EYE_HEIGHT, abs=0.01)
    assert 0 <= x0 and 0 <= y0 and x0 + side <= 224 and y0 + side <= 224
    assert framing_box(points, transform, 224, "store") is None
    assert framing_box(None, None, 224) is None


@pytest.mark.parametrize("column", [["006", "007"], ["sub01", "sub02"], ["006", "s01"], ["12", "-3"], ["1.5", "2"]])
def test_names_are_read_back_as_pandas_reads_them(tmp_path, column):
    path = tmp_path / "t.csv"
    path.write_text("sub,x\n" + "".join(f"{value},1\n" for value in column))
    assert as_pandas_reads(column) == [str(value) for value in pandas.read_csv(path)["sub"]]


def test_published_names_come_from_the_published_table():
    assert published_names("megc2019", "casme2/sub01", "EP02_01f") == (
        "casme2",
        "sub01",
        "EP02_01f",
        "sub01_EP02_01f.jpg",
    )
    assert published_names("megc2019", "smic/s01", "s01_ne_01") == ("smic", "s01", "s01_ne_01", "s01_s1_ne_01.jpg")
    assert published_names("samm", "006", "006_1_2") == ("samm", "006", "006_1_2", "006_006_1_2.jpg")
    assert published_names("casme2", "sub99", "EP00") == ("casme2", "sub99", "EP00", "sub99_EP00.jpg")


def read_as_htnet(out: Path) -> dict[str, tuple[int, np.ndarray, np.ndarray]]:
    """HTNet's loader: the table with pandas' default types, each row's map named
    ``str(sub) + '_' + filename_o + ' .png'`` in the whole set, its apex crop by ``imagename``;
    then the folds of ``three_norm_u_v_os`` by listing, every name a key of the whole set."""
    df = pandas.read_csv(out / "combined_3_class2_for_optical_flow.csv")
    whole = out / "STSNet_whole_norm_u_v_os"
    maps = {}
    for i in range(df.shape[0]):
        name = str(df["sub"][i]) + "_" + str(df["filename_o"][i]) + " .png"
        apex = cv2.imread(str(out / "combined_datasets_whole" / df["imagename"][i]))
        maps[name] = (int(df["label"][i]), cv2.imread(str(whole / name)), apex)
    assert sorted(os.listdir(whole)) == sorted(maps)
    main_path = out / "three_norm_u_v_os"
    for subject in os.listdir(main_path):
        for split in ("u_train", "u_test"):
            for label in os.listdir(main_path / subject / split):
                for name in os.listdir(main_path / subject / split / label):
                    assert maps[name][0] == int(label)
    return maps


def read_as_ststnet(out: Path) -> dict[str, dict[str, tuple[str, int, np.ndarray]]]:
    """STSTNet's loader: per subject folder of ``norm_u_v_os``, u_train and u_test by label."""
    main_path = out / "norm_u_v_os"
    folds = {}
    for subject in os.listdir(main_path):
        seen = {}
        for split in ("u_train", "u_test"):
            for label in os.listdir(main_path / subject / split):
                for name in os.listdir(main_path / subject / split / label):
                    seen[name] = (split, int(label), cv2.imread(str(main_path / subject / split / label / name)))
        folds[subject] = seen
    return folds


def _check_both_loaders(out: Path, published_subjects: list[str]) -> None:
    maps = read_as_htnet(out)
    folds = read_as_ststnet(out)
    assert sorted(folds) == sorted(published_subjects)  # STSTNet_Weights/<subject>.pth
    path = out / "combined_3_class2_for_optical_flow.csv"
    written, loaded = pandas.read_csv(path, dtype=str), pandas.read_csv(path)
    subject_of = {f"{s}_{f} .png": sub for s, f, sub in zip(loaded["sub"], written["filename_o"], written["sub"])}
    for subject, seen in folds.items():
        assert sorted(seen) == sorted(maps)  # every sample once per fold
        for name, (split, _, image) in seen.items():
            assert split == ("u_test" if subject_of[name] == subject else "u_train")
            np.testing.assert_array_equal(image, maps[name][1])
    for _, image, apex in maps.values():
        assert image.shape == (28, 28, 3) and apex.shape == (224, 224, 3)
    # both folder names, the files once: a link, or the same files hard-linked
    htnet, ststnet = out / "three_norm_u_v_os", out / "norm_u_v_os"
    assert htnet.is_symlink() or all(
        os.path.samefile(path, htnet / path.relative_to(ststnet)) for path in ststnet.rglob("*.png")
    )
    whole = out / "STSNet_whole_norm_u_v_os"
    for path in ststnet.rglob("*.png"):
        assert os.path.samefile(path, whole / path.name) or path.read_bytes() == (whole / path.name).read_bytes()


def test_composite_export_is_named_as_the_published_table(tmp_path):
    from mepipe.synth import synthesize

    synthesize("megc2019", tmp_path / "megc", subjects=2, clips_per_subject=1, scale=0.4, seed=5, progress=False)
    store = str(tmp_path / "megc.zarr")
    build("megc2019", tmp_path / "megc", store, size=48, progress=False, workers=2, arrays=FLOW, flow=FAST)
    out = tmp_path / "ststnet"
    summary = export(store, out, "ststnet", progress=False)
    assert summary.exported == 6
    published = pandas.read_csv(
        Path(__file__).parents[1] / "mepipe/data/megc2019/combined_3_class2_for_optical_flow.csv"
    )
    ours = pandas.read_csv(out / "combined_3_class2_for_optical_flow.csv")
    for column in ("dataset", "sub", "filename_o", "label", "imagename"):
        merged = ours.merge(published, on=["dataset", "sub", "filename_o"], suffixes=("", "_published"))
        assert len(merged) == 6
        if column not in ("dataset", "sub", "filename_o"):
            assert (merged[column] == merged[f"{column}_published"]).all(), column
    assert sorted(set(ours["dataset"])) == ["casme2", "samm", "smic"]
    _check_both_loaders(out, [str(s) for s in ours["sub"].unique()])
    record = json.loads((out / "export.json").read_text())["ststnet"]
    assert record["framing"] == "published" and record["framed_by_landmarks"] == 6


def test_samm_only_export_is_found_by_htnets_loader(samm_release, tmp_path):
    """pandas reads SAMM's ``sub`` 006 as the integer 6: the file names follow what it reads."""
    store = str(tmp_path / "samm.zarr")
    build("samm", samm_release, store, size=48, progress=False, arrays=FLOW, flow=FAST)
    group = zarr.open_group(store, mode="r")
    assert set(group["status"][:]) == {OK}
    out = tmp_path / "ststnet"
    export(store, out, "ststnet", progress=False, framing="store")
    subjects = sorted({str(s) for s in group["subject"][:]})
    assert all(s.isdigit() and s.startswith("0") for s in subjects)
    _check_both_loaders(out, subjects)  # the folders keep 006: STSTNet's checkpoints are 006.pth
    assert json.loads((out / "export.json").read_text())["ststnet"]["framing"] == "store"
