"""``--crop release|aligned`` and the face window, on a real face (mepipe/data/astronaut.png).

Two tiny CASME-II releases are written here from the packaged photograph: one laid out as
the release's ``Cropped`` folder (280x340 frames, the face filling the frame and the
detector's box reaching past it, as the registered crops are) and one as
``CASME2_RAW_selected`` (640x480, the face about CASME-II's size). Each is built in both
modes; the stores are checked against independent references (OpenCV's own resize, the
photograph's known landmarks carried by the known placement) and measured as
``mepipe report`` measures them.
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import zarr
from click.testing import CliRunner

from bench.crops import PHOTO_BOX, SCENES, photo, place
from mepipe.build import build
from mepipe.cli import cli
from mepipe.engine.config import BuildConfig
from mepipe.errors import MepipeError, UsageError
from mepipe.imaging import align
from mepipe.imaging.resize import resize_clip, resize_geometry
from mepipe.pipelines import get_recipe
from mepipe.release.crops import choose_crop
from mepipe.release.discover import FramesRoot, Release
from mepipe.release.recipe import Sample
from mepipe.report import quality
from mepipe.store import array

SIZE = 64
casme2 = get_recipe("casme2")
TIGHT, RAW = SCENES["tight crop 280x340"], SCENES["raw frame 640x480"]
#: clip -> (onset, apex, offset); EP02's face slides 8 % of the frame width by its apex
CLIPS = {"EP01": (10, 12, 14), "EP02": (20, 22, 24)}


def _placement(scene, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The photograph placed as ``scene`` (moved right by ``shift`` of the frame width):
    the RGB frame and the photograph's known landmarks in it."""
    (width, height), box_width, (x, y) = scene
    centre = (x + shift * width, y)
    image = place(photo(), (width, height), box_width, centre)
    truth = np.array(json.loads(_data("astronaut_landmarks.json").read_text())["points"], float)
    box_centre = np.array([(PHOTO_BOX[0] + PHOTO_BOX[2]) / 2, (PHOTO_BOX[1] + PHOTO_BOX[3]) / 2])
    return image, (truth - box_centre) * box_width / (PHOTO_BOX[2] - PHOTO_BOX[0]) + centre


def _data(name: str) -> Path:
    return Path(str(resources.files("mepipe").joinpath("data", name)))


def _release(root: Path, folder: str, scene, prefix: str, frames=None) -> Path:
    """A CASME-II release of :data:`CLIPS` under ``root``, its frames in ``folder``: the
    ``scene`` (EP02's sliding from its onset to its apex), or the given ``frames``."""
    samples = [
        Sample(f"sub01/{c}", "sub01", c, on, apex, off, "happiness", "happiness")
        for c, (on, apex, off) in CLIPS.items()
    ]
    casme2.write_sheet(samples, root / casme2.sheet_file)
    for clip, (onset, apex, offset) in CLIPS.items():
        clip_dir = root / folder / "sub01" / clip
        clip_dir.mkdir(parents=True)
        for n in range(onset, offset + 1):
            moved = 0.08 * min(n - onset, apex - onset) / (apex - onset) if clip == "EP02" else 0.0
            image = _placement(scene, moved)[0] if frames is None else frames
            cv2.imwrite(str(clip_dir / f"{prefix}{n}.jpg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return root


@pytest.fixture(scope="module")
def cropped(tmp_path_factory) -> Path:
    return _release(tmp_path_factory.mktemp("cropped"), "Cropped", TIGHT, "reg_img")


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    return _release(tmp_path_factory.mktemp("raw"), "CASME2_RAW_selected", RAW, "img")


@pytest.fixture(scope="module")
def stores(cropped, raw, tmp_path_factory) -> dict[tuple[str, ...], str]:
    """(release, crop) -> a store built with that crop (``default``: none given), and
    (release, crop, ``summary``) -> its build summary."""
    out = tmp_path_factory.mktemp("crop-stores")
    built: dict[tuple[str, ...], str] = {}
    for name, root in (("cropped", cropped), ("raw", raw)):
        for crop in ("default", "release", "aligned"):
            store = str(out / f"{name}-{crop}.zarr")
            summary = build(
                "casme2",
                root,
                store,
                size=SIZE,
                progress=False,
                scheduler="sync",
                crop=None if crop == "default" else crop,
            )
            assert summary.ok == len(CLIPS), summary.format()
            built[name, crop] = store
            built[name, crop, "summary"] = summary.format()
    return built


def _sample(store: str, index: int) -> dict[str, np.ndarray]:
    """Sample ``index``'s stored images and geometry."""
    group = zarr.open_group(store, mode="r")
    names = ("onset", "apex", "trdi", "repair", "transform", "frame_size", "landmarks", "detect_step")
    return {name: np.asarray(array(group, name)[index]) for name in names}


def _measures(store: str, index: int) -> quality.Measures:
    sample = _sample(store, index)
    return quality.measure(
        sample["onset"],
        sample["apex"],
        sample["trdi"],
        str(sample["repair"]),
        transform=sample["transform"],
        frame_size=sample["frame_size"],
        landmarks=sample["landmarks"],
        detect_step=str(sample["detect_step"]),
    )


def _config(store: str) -> dict[str, Any]:
    attrs: dict[str, Any] = dict(zarr.open_group(store, mode="r").attrs)
    return attrs["mepipe"]["config"]


def test_default_crop_follows_the_frames_root(stores):
    assert _config(stores["cropped", "default"])["crop"] == "release"
    assert _config(stores["raw", "default"])["crop"] == "aligned"
    assert _config(stores["raw", "release"])["crop"] == "release"
    summary = stores["cropped", "default", "summary"]
    assert "crop      release, stretched to 64x64 (Cropped: CASME-II's registered crops, kept as registered)" in summary
    assert (
        "crop      aligned, face window canonical (CASME2_RAW_selected: not a registered-crop folder of"
        in (stores["raw", "default", "summary"])
    )
    assert "(given by --crop)" in stores["raw", "release", "summary"]


def test_release_crop_of_a_tight_crop_is_the_frame_resized_whole(stores, cropped):
    group = zarr.open_group(stores["cropped", "release"], mode="r")
    matrix, _, _ = resize_geometry((340, 280), SIZE)
    for index, (clip, (onset, apex, _)) in enumerate(CLIPS.items()):
        np.testing.assert_array_equal(group["transform"][index], matrix)
        assert tuple(group["frame_size"][index]) == (340, 280)
        for name, number in (("onset", onset), ("apex", apex)):
            frame = cv2.imread(str(cropped / f"Cropped/sub01/{clip}/reg_img{number}.jpg"))
            expected = cv2.cvtColor(cv2.resize(frame, (SIZE, SIZE), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
            np.testing.assert_array_equal(group[name][index], expected, err_msg=f"{clip} {name}")
    # the face is found for the report (its box reaches past the frame: the padded step),
    # and the landmarks are the photograph's own, carried by the known placement
    assert str(group["detect_step"][0]) == "padded"
    truth = _placement(TIGHT)[1]
    error = np.hypot(*(group["landmarks"][0] - truth).T)
    assert np.median(error) < 0.03 * 280


def test_report_of_each_crop_of_a_tight_crop(stores):
    release, aligned = _measures(stores["cropped", "release"], 0), _measures(stores["cropped", "aligned"], 0)
    # a registered crop resized whole: no window past the frame, whatever the face
    assert release.window_outside == pytest.approx(0.0, abs=1e-6)
    assert aligned.window_outside > 0.5  # the canonical window around a face filling the frame
    assert "window-past-frame" not in {f.key for f in quality.flags(release)}
    assert "window-past-frame" in {f.key for f in quality.flags(aligned)}
    # the other flags: a static head measures well under the threshold, a sliding one over
    for store in (stores["cropped", "release"], stores["cropped", "aligned"]):
        still, sliding = _measures(store, 0), _measures(store, 1)
        assert still.head_motion < 1.0 < quality.HEAD_MOTION_PX < sliding.head_motion
        assert still.off_face is not None and sliding.off_face is not None


def test_raw_frames_in_both_crops(stores, raw):
    aligned, release = _measures(stores["raw", "aligned"], 0), _measures(stores["raw", "release"], 0)
    assert aligned.window_outside == release.window_outside == pytest.approx(0.0, abs=1e-6)
    group = zarr.open_group(stores["raw", "release"], mode="r")
    np.testing.assert_array_equal(group["transform"][0], resize_geometry((480, 640), SIZE)[0])
    assert str(group["detect_step"][0]) == "scaled"
    # aligned: the eyes of the photograph land where the canonical layout puts them
    group = zarr.open_group(stores["raw", "aligned"], mode="r")
    truth = _placement(RAW)[1]
    eyes = np.stack([truth[36:42].mean(axis=0), truth[42:48].mean(axis=0)])
    landed = align.to_output(eyes, group["transform"][0])
    assert np.abs(landed - align.canonical_points(SIZE)[:2]).max() < 0.02 * SIZE
    for store in (stores["raw", "aligned"], stores["raw", "release"]):
        still, sliding = _measures(store, 0), _measures(store, 1)
        assert still.head_motion < 1.0 < quality.HEAD_MOTION_PX < sliding.head_motion


def test_no_face_does_not_fail_a_registered_crop(tmp_path):
    blank = np.tile(np.linspace(60, 200, 280, dtype=np.uint8)[None, :, None], (340, 1, 3))
    root = _release(tmp_path / "release", "Cropped", TIGHT, "reg_img", frames=blank)
    store = str(tmp_path / "blank.zarr")
    summary = build("casme2", root, store, size=SIZE, progress=False, scheduler="sync")
    assert summary.ok == len(CLIPS) and summary.failed == 0
    group = zarr.open_group(store, mode="r")
    assert str(group["detect_step"][0]) == align.NO_FACE
    assert np.isnan(group["landmarks"][0]).all()
    measures = _measures(store, 0)
    assert measures.head_motion is None and measures.off_face is None
    assert ("fallback-detection", "no face found") in {(f.key, f.detail) for f in quality.flags(measures)}
    # aligned, the same frames fail, each with the file the face was looked for on
    summary = build("casme2", root, str(tmp_path / "aligned.zarr"), size=SIZE, progress=False, crop="aligned")
    assert summary.failed == len(CLIPS)
    assert all("reg_img" in error and "no face found" in error for _, error in summary.failures)


def test_resuming_with_another_crop_is_refused_in_one_line(stores, cropped, tmp_path):
    store = tmp_path / "resume.zarr"
    shutil.copytree(stores["cropped", "default"], store)
    again = build("casme2", cropped, str(store), size=SIZE, progress=False)
    assert again.skipped == len(CLIPS)
    with pytest.raises(MepipeError) as caught:
        build("casme2", cropped, str(store), size=SIZE, progress=False, crop="aligned")
    assert str(caught.value) == (
        f"{store} was built with another configuration (crop: 'release' vs 'aligned'); "
        "rerun with --overwrite to replace it, or choose another --out"
    )


def test_face_window_is_recorded_and_sets_the_face_share(raw, tmp_path):
    store = str(tmp_path / "meb.zarr")
    build("casme2", raw, store, size=SIZE, progress=False, face_window="meb")
    assert _config(store)["face_window"] == "meb" and _config(store)["crop"] == "aligned"
    group = zarr.open_group(store, mode="r")
    # the transform is the landmarks' similarity into the meb window, nothing else
    expected = align.similarity_from_landmarks(group["landmarks"][0].astype(np.float64), SIZE, 1 / 1.04)
    np.testing.assert_allclose(group["transform"][0], expected, atol=1e-4)
    # the detected box spans about the window's share of the output (0.96), not the
    # canonical 0.66
    image = _placement(RAW)[0]
    for window, share in (("canonical", 0.66), ("meb", 1 / 1.04), ("0.8", 0.8)):
        info = align.aligner(224, 640, align.window_fraction(window)).transform(image)
        left, _, right, _ = info["box"]
        measured = (right - left) * np.hypot(*info["matrix"][:, 0]) / 224
        assert measured == pytest.approx(share, rel=0.12), window
    assert BuildConfig("casme2", face_window=0.8).face_window == "0.8"


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(face_window="huge"), "--face-window: face window must be canonical, meb or a share"),
        (dict(face_window="3"), "--face-window: face window must be canonical, meb or a share"),
        (dict(crop="release", face_window="meb"), "--face-window applies to --crop aligned"),
        (dict(keep_aspect=True), "--keep-aspect applies to --crop release"),
        (dict(crop="centre"), "--crop must be one of release, aligned, not 'centre'"),
    ],
)
def test_bad_crop_options_are_one_line(options, message):
    with pytest.raises(UsageError, match=message):
        BuildConfig("casme2", **options)


def test_face_window_with_a_default_release_crop_is_refused(cropped, tmp_path):
    with pytest.raises(UsageError, match="--face-window applies to --crop aligned"):
        build("casme2", cropped, str(tmp_path / "x.zarr"), size=SIZE, progress=False, face_window="meb")


@pytest.mark.parametrize(
    "dataset, folder, crop",
    [
        ("casme2", "CASME2/Cropped", "release"),
        ("casme2", "CASME2/cropped_original", "release"),
        ("casme2", "Cropped-updated/Cropped", "release"),
        ("casme2", "CASME2/Cropped-updated", "release"),
        ("casme2", "CASME2/CASME2_RAW_selected", "aligned"),
        # copies of the registered crops under a lab's own names
        ("casme2", "lab/CASME2_Cropped", "release"),
        ("casme2", "lab/cropped_faces", "release"),
        ("casme2", "crops/CASME2_RAW_selected", "aligned"),
        ("casme2", "lab/CASME2_uncropped", "aligned"),
        ("smic", "lab/SMIC_cropped/HS", "release"),
        ("casme3", "lab/part_A_cropped", "release"),
        ("smic", "SMIC/SMIC_all_cropped/HS", "release"),
        ("smic", "SMIC/SMIC_all_raw/HS", "aligned"),
        ("casme3", "CASME3/ME_A_cropped", "release"),
        ("casme3", "CASME3/ME_A", "aligned"),
        ("samm", "SAMM/SAMM_CROP", "aligned"),
        ("samm", "SAMM/SAMM", "aligned"),
        ("mmew", "MMEW/Micro_Expression", "aligned"),
    ],
)
def test_default_crop_per_frames_root(dataset, folder, crop):
    frames = {"": FramesRoot(Path("/data") / folder, 1, 1)}
    release = Release(get_recipe(dataset), Path("/data"), Path("/data/sheet"), (), frames, "")
    assert choose_crop(release).mode == crop
    assert choose_crop(release, "aligned").mode == "aligned"


def test_a_composite_keeps_registered_crops_only_when_every_part_has_them():
    def composite(**folders):
        frames = {part: FramesRoot(Path("/data", folder), 1, 1) for part, folder in folders.items()}
        return Release(get_recipe("megc2019"), Path("/data"), Path("/data/list"), (), frames, "")

    cropped = dict(casme2="CASME2/Cropped", smic="SMIC/SMIC_all_cropped/HS")
    assert choose_crop(composite(**cropped)).mode == "release"
    mixed = choose_crop(composite(**cropped, samm="SAMM/SAMM"))
    assert mixed.mode == "aligned" and "SAMM ships no registered crops; one crop for all parts" in mixed.reason


def test_check_says_which_crop_a_build_uses(cropped, raw):
    for root, crop in ((cropped, "release"), (raw, "aligned")):
        result = CliRunner().invoke(cli, ["check", "--dataset", "casme2", "--root", str(root), "--quick"])
        assert result.exit_code == 0, result.output
        assert f"crop   a build uses --crop {crop} (" in result.output


def test_cli_build_records_crop_options(cropped, tmp_path):
    store = tmp_path / "cli.zarr"
    args = ["build", "--dataset", "casme2", "--root", str(cropped), "--out", str(store), "--size", "32"]
    result = CliRunner().invoke(cli, [*args, "--keep-aspect", "--quiet", "--scheduler", "sync"])
    assert result.exit_code == 0, result.output
    assert "crop      release, padded to 32x32 (" in result.output
    config = _config(str(store))
    assert (config["crop"], config["keep_aspect"], config["face_window"]) == ("release", True, "canonical")
    # padded: the window past the frame is the padding, 1 - 280/340 of the side
    measures = _measures(str(store), 0)
    assert measures.window_outside == pytest.approx(1 - round(280 / 340 * 32) / 32, abs=0.01)


def test_resize_geometry_is_the_resize_opencv_does():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (30, 20, 3), dtype=np.uint8)
    # growing: bilinear, as warpAffine with the recorded matrix (fixed-point rounding aside)
    resized, matrix = resize_clip(frame[None], 64)
    warped = cv2.warpAffine(frame, matrix, (64, 64), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    assert np.abs(resized[0].astype(int) - warped).max() <= 2
    # padded: the frame's corners land on the padded box's, the rest is 0
    padded, matrix = resize_clip(frame[None], 60, keep_aspect=True)
    corners = align.to_output(np.array([[-0.5, -0.5], [19.5, 29.5]]), matrix)
    np.testing.assert_allclose(corners, [[9.5, -0.5], [49.5, 59.5]])
    assert not padded[0, :, :10].any() and not padded[0, :, 50:].any() and padded[0, :, 10:50].any()
    # gray frames: one channel, or replicated
    gray = frame[..., 0]
    one, _ = resize_clip(gray[None], 16, gray=True)
    three, _ = resize_clip(gray[None], 16)
    np.testing.assert_array_equal(three[0], np.repeat(one[0], 3, axis=2))
    assert one[0].shape == (16, 16, 1)


def test_canonical_face_window_is_the_canonical_layout():
    assert align.window_fraction("canonical") is None
    np.testing.assert_array_equal(align.canonical_points(224, None), align.canonical_points(224))
    # face_box of landmarks in the canonical layout is the canonical predictor box
    truth = np.array(json.loads(_data("astronaut_landmarks.json").read_text())["points"], float)
    aligned = align.to_output(truth, align.similarity_from_landmarks(truth, 224))
    np.testing.assert_allclose(align.face_box(aligned, 224), (0.23, 0.23, 0.81, 0.81), atol=1e-9)


@pytest.mark.parametrize("scene", [TIGHT, RAW], ids=["tight-crop", "raw-frame"])
def test_report_places_landmarks_where_a_resized_frame_has_its_face(scene):
    # the report's head-motion landmarks come from the predictor given a box; resized
    # whole, the face is not where the canonical layout's box is, but where face_box says
    image, truth = _placement(scene)
    out, matrix = resize_clip(image[None], SIZE)
    expected = align.to_output(truth, matrix)
    iod = np.hypot(*(expected[42:48].mean(axis=0) - expected[36:42].mean(axis=0)))
    found = align.aligned_landmarks(out[0], align.face_box(expected, SIZE))
    canonical = align.aligned_landmarks(out[0])
    assert np.median(np.hypot(*(found - expected).T)) < 0.1 * iod
    assert np.median(np.hypot(*(canonical - expected).T)) > 0.2 * iod


def test_report_page_says_which_crop_and_flags_by_it(stores, tmp_path):
    from mepipe.report.page import write_report

    cases = {
        ("cropped", "release"): ("release: registered crops resized whole, stretched", False),
        ("cropped", "aligned"): ("aligned: face window canonical", True),
        ("raw", "aligned"): ("aligned: face window canonical", False),
    }
    for key, (words, past_frame) in cases.items():
        page = write_report(stores[key], tmp_path / "-".join(key), workers=1, progress=False).read_text()
        assert f"<tr><th>crop</th><td>{words}</td></tr>" in page
        assert ('<span class="flag" title="share of the output face window' in page) is past_frame, key


def test_flow_added_to_a_registered_crop_store_matches_a_build_with_it(stores, cropped, tmp_path):
    """Arrays added later are computed from frames resized as the images were, not warped."""
    store = tmp_path / "release.zarr"
    shutil.copytree(stores["cropped", "release"], store)
    arrays = "trdi,midi,onset,apex,flow"
    added = build(
        "casme2", cropped, str(store), size=SIZE, progress=False, scheduler="sync", arrays=arrays, flow="tvl1-fast"
    )
    assert added.added == len(CLIPS) and added.built == 0
    fresh = str(tmp_path / "fresh.zarr")
    build("casme2", cropped, fresh, size=SIZE, progress=False, scheduler="sync", arrays=arrays, flow="tvl1-fast")
    ours, theirs = zarr.open_group(str(store), mode="r"), zarr.open_group(fresh, mode="r")
    assert _config(str(store))["crop"] == "release"
    for name in ("trdi", "onset", "apex", "flow", "strain", "transform"):
        np.testing.assert_array_equal(ours[name][:], theirs[name][:], err_msg=name)
