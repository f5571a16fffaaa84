"""Synthetic releases: the rendering engine's numerics, then whole datasets read back by their recipes."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import cv2
import dlib
import numpy as np
import openpyxl
import pytest
from click.testing import CliRunner

from mepipe.cli import cli
from mepipe.errors import UsageError
from mepipe.pipelines import get_recipe
from mepipe.synth import class_emotions, faces, synthesize

# ---- temporal profile ------------------------------------------------------------------


@pytest.mark.parametrize("onset, apex, offset", [(10, 17, 40), (100, 101, 130), (5, 29, 30)])
def test_profile_rises_to_one_at_apex_and_falls_to_zero(onset, apex, offset):
    numbers = np.arange(onset - 3, offset + 4)
    strength = faces.temporal_profile(numbers, onset, apex, offset)
    at = dict(zip(numbers.tolist(), strength))
    assert at[onset] == 0 and at[offset] == 0 and at[apex] == 1
    assert all(at[n] == 0 for n in (onset - 3, onset - 1, offset + 1, offset + 3))
    rise = [at[n] for n in range(onset, apex + 1)]
    fall = [at[n] for n in range(apex, offset + 1)]
    assert all(b > a for a, b in itertools.pairwise(rise))
    assert all(b < a for a, b in itertools.pairwise(fall))


@pytest.mark.parametrize("rise, fall", [(0.5, 2.0), (2.0, 0.6)])
def test_profile_shapes_keep_each_side_monotone_at_their_own_speed(rise, fall):
    numbers = np.arange(10, 41)
    plain = faces.temporal_profile(numbers, 10, 20, 40)
    shaped = faces.temporal_profile(numbers, 10, 20, 40, rise, fall)
    assert shaped[0] == 0 and shaped[10] == 1 and shaped[-1] == 0
    assert np.all(np.diff(shaped[:11]) > 0) and np.all(np.diff(shaped[10:]) < 0)
    # an exponent below 1 rises (falls) early, above 1 late
    assert (shaped[5] > plain[5]) == (rise < 1) and (shaped[20] > plain[20]) == (fall < 1)


def test_profile_with_apex_on_onset_starts_at_the_peak():
    assert faces.temporal_profile(np.array([7, 8, 17]), 7, 7, 17).tolist() == [
        1.0,
        pytest.approx(0.975528, abs=1e-6),
        0.0,
    ]


# ---- displacement fields -----------------------------------------------------------------


def _straight_stage(size=(640, 480), face_width=280.0):
    """A subject looking straight at the camera: portrait axes are canvas axes."""
    look = faces.Look(
        size=1.0, angle=0.0, centre=(0.5, 0.5), brightness=0.0, gamma=1.0, mirror=False, backdrop=(180.0, 180.0, 180.0)
    )
    return faces.place(look, size, face_width, False, np.random.default_rng(0))


@pytest.fixture(scope="module")
def stage():
    return _straight_stage()


@pytest.mark.parametrize("emotion", sorted(faces.PATTERNS))
def test_field_peaks_at_the_requested_amplitude(stage, emotion):
    field = faces.displacement_field(stage, faces.pattern_for(emotion), 2.25)
    assert field.shape[:2] == stage.head.shape and field.dtype == np.float32
    assert np.linalg.norm(field, axis=2).max() == pytest.approx(2.25, rel=1e-5)


def test_apex_amplitudes_are_one_to_three_pixels_at_full_scale():
    for pattern in faces.PATTERNS.values():
        low, high = pattern.amplitude
        assert 1.0 <= low < high <= 3.0


def test_every_emotion_moves_the_face_differently(stage):
    fields = {e: faces.displacement_field(stage, faces.PATTERNS[e], 2.0).ravel() for e in faces.PATTERNS}
    for a, b in itertools.combinations(fields, 2):
        cosine = fields[a] @ fields[b] / (np.linalg.norm(fields[a]) * np.linalg.norm(fields[b]))
        assert cosine < 0.9, (a, b, cosine)


def _at(stage, field, landmarks):
    x, y = stage.points[list(landmarks)].mean(axis=0)
    return field[int(round(y)) - stage.roi[0].start, int(round(x)) - stage.roi[1].start]


def test_patterns_move_the_landmarks_the_action_units_say(stage):
    def field(emotion):
        return faces.displacement_field(stage, faces.PATTERNS[emotion], 2.0)

    happy, surprise, anger, sad = field("happiness"), field("surprise"), field("anger"), field("sadness")
    left_corner, right_corner = _at(stage, happy, (48,)), _at(stage, happy, (54,))
    assert left_corner[1] < -0.5 and right_corner[1] < -0.5  # corners up
    assert left_corner[0] < 0 < right_corner[0]  # and out
    assert _at(stage, surprise, (19,))[1] < -1 and _at(stage, surprise, (24,))[1] < -1
    inner_left, inner_right = _at(stage, anger, (21,)), _at(stage, anger, (22,))
    assert inner_left[1] > 0.5 and inner_right[1] > 0.5  # brows down
    assert inner_left[0] > 0 > inner_right[0]  # and together
    assert _at(stage, sad, (48,))[1] > 0.5 and _at(stage, sad, (21,))[1] < -0.5


def test_release_spellings_share_a_pattern():
    assert faces.pattern_for("Anger") is faces.PATTERNS["anger"]
    assert faces.pattern_for("Other") is faces.pattern_for("others") is faces.PATTERNS["others"]
    assert faces.pattern_for("happy") is faces.PATTERNS["happiness"]
    assert faces.pattern_for("sad") is faces.PATTERNS["sadness"]
    assert faces.pattern_for("bewilderment") is faces.PATTERNS["others"]


def test_a_clip_moves_only_the_subject_and_peaks_at_the_apex(stage):
    numbers = range(50, 71)
    frames = list(
        faces.expression_frames(
            stage,
            faces.PATTERNS["surprise"],
            2.0,
            numbers,
            (50, 58, 70),
            (0.0, 0.0),
            np.random.default_rng(1),
            sigma=0.0,
        )
    )
    assert np.array_equal(frames[0], stage.canvas) and np.array_equal(frames[-1], stage.canvas)
    change = [np.abs(f.astype(int) - stage.canvas).sum() for f in frames]
    assert int(np.argmax(change)) == 8
    moved = np.abs(frames[8].astype(int) - stage.canvas).max(axis=2) > 2
    rows, cols = np.nonzero(moved)
    brows = stage.points[17:27]
    assert rows.min() >= brows[:, 1].min() - 0.2 * stage.face_width
    assert rows.max() <= brows[:, 1].max() + 0.2 * stage.face_width


def test_noise_is_gaussian_with_sigma_two():
    rng = np.random.default_rng(3)
    bank = faces.noise_bank(rng, (240, 320, 3), 2.0, pad=16)
    window = faces.noise_frame(bank, (240, 320, 3), rng)
    assert bank.shape == (256, 336, 3) and window.shape == (240, 320, 3) and window.dtype == np.int16
    assert abs(float(bank.mean())) < 0.05 and float(bank.std()) == pytest.approx(2.0, rel=0.05)


# ---- whole datasets ----------------------------------------------------------------------

_DETECTOR = dlib.get_frontal_face_detector()


@pytest.fixture(scope="module", params=["casme2", "samm", "mmew", "dfme"])
def release(request, tmp_path_factory):
    name = request.param
    root = tmp_path_factory.mktemp(name) / "release"
    return name, synthesize(name, root, subjects=2, clips_per_subject=3, scale=0.5, seed=7, progress=False)


def test_recipe_reads_back_what_was_synthesised(release):
    name, report = release
    recipe = get_recipe(name)
    assert recipe.find_sheet(report.root) == report.sheet
    assert tuple(recipe.read(report.sheet)) == report.samples
    samples = report.samples
    assert len(samples) == 6 and len({s.sample_id for s in samples}) == 6 and not any(s.error for s in samples)
    default = next(iter(recipe.class_sets))
    assert [s.emotion for s in samples] == [
        class_emotions(recipe, default)[i % len(recipe.class_sets[default])] for i in range(6)
    ]
    for s in samples:
        assert s.onset < s.apex < s.offset and 12 <= s.offset - s.onset + 1 <= 30


def test_subjects_and_frame_numbers_follow_the_release(release):
    name, report = release
    subjects = sorted({s.subject for s in report.samples})
    onsets = [s.onset for s in report.samples]
    expected = {
        "casme2": ["sub01", "sub02"],
        "samm": ["006", "007"],
        "mmew": ["S01", "S02"],
        "dfme": ["sub0003", "sub0004"],
    }[name]
    assert subjects == expected
    if name == "samm":
        assert min(onsets) >= 1000
    if name == "mmew":
        assert set(onsets) == {1}


def test_frames_are_where_the_recipe_looks_with_the_release_size_and_colour(release):
    name, report = release
    recipe = get_recipe(name)
    width, height = recipe.resolution
    channels = 1 if recipe.color == "gray" else 3
    total = 0
    for sample in report.samples:
        folder = report.root / recipe.frame_dir(sample)
        names = sorted(p.name for p in folder.iterdir())
        numbers = sorted(recipe.frame_number(n) for n in names)
        assert numbers == list(range(sample.onset, sample.offset + 1))
        assert names == sorted(recipe.frame_name(sample, n) for n in numbers)
        total += len(names)
    assert total == report.frames
    first = report.samples[0]
    image = cv2.imread(
        str(report.root / recipe.frame_dir(first) / recipe.frame_name(first, first.onset)), cv2.IMREAD_UNCHANGED
    )
    assert image.shape[:2] == (height // 2, width // 2)
    assert (image.shape[2] if image.ndim == 3 else 1) == channels
    if channels == 3:
        assert np.abs(image[..., 0].astype(int) - image[..., 2]).mean() > 5  # really colour
    # in the release's format: DFME's frames are PNG
    path = report.root / recipe.frame_dir(first) / recipe.frame_name(first, first.onset)
    assert path.read_bytes()[:4] == (b"\x89PNG" if name == "dfme" else b"\xff\xd8\xff\xe0")


def test_dlib_finds_the_face_on_onset_frames(release):
    name, report = release
    recipe = get_recipe(name)
    for sample in report.samples[::3]:  # one clip per subject
        path = report.root / recipe.frame_dir(sample) / recipe.frame_name(sample, sample.onset)
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert len(_DETECTOR(image, 0)) == 1, path


def _frames(root: Path) -> dict[str, bytes]:
    # the frames and the motion side file
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.suffix in (".jpg", ".csv")}


def test_same_seed_same_bytes_whatever_the_threads_other_seed_differs(tmp_path):
    def run(folder, seed, workers):
        synthesize(
            "casme2",
            tmp_path / folder,
            subjects=2,
            clips_per_subject=2,
            scale=0.25,
            seed=seed,
            workers=workers,
            progress=False,
        )
        return _frames(tmp_path / folder)

    one, again, other = run("a", 5, 1), run("b", 5, 2), run("c", 6, 2)
    assert one and one == again
    recipe = get_recipe("casme2")
    assert recipe.read(tmp_path / "a" / recipe.sheet_file) == recipe.read(tmp_path / "b" / recipe.sheet_file)
    shared = one.keys() & other.keys()
    assert all(one[k] != other[k] for k in shared) and one.keys() != other.keys()


def test_like_sheet_reproduces_every_row_and_its_quirks(tmp_path):
    real = tmp_path / "CASME2-coding-20140508.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    for row in [
        (
            "Subject",
            "Filename",
            None,
            "OnsetFrame",
            "ApexFrame",
            "OffsetFrame",
            None,
            "Action Units",
            "Estimated Emotion",
        ),
        ("04", "EP12_01f", None, 261, "/", 274, None, "4+7+L10", "disgust"),
        ("01", "EP02_01f", None, 46, 50, 59, None, 12, "happiness"),
        ("02", "EP03_02", None, 80, 70, 75, None, "?", "others"),
    ]:
        sheet.append(row)
    book.save(real)
    report = synthesize("casme2", tmp_path / "out", like_sheet=real, scale=0.25, progress=False)
    recipe = get_recipe("casme2")
    assert report.samples == tuple(recipe.read(real))
    missing, happy, broken = report.samples
    assert (missing.sample_id, missing.apex, missing.offset) == ("sub04/EP12_01f", None, 274)
    assert "'/'" in missing.repair and "onset 80 after offset 75" in broken.error
    written = openpyxl.load_workbook(report.sheet).active
    assert [c.value for c in written[2]][:6] == ["04", "EP12_01f", None, 261, "/", 274]
    assert written.cell(3, 8).value == 12 and written.cell(4, 8).value == "?"
    assert report.frames == (274 - 261 + 1) + (59 - 46 + 1)
    assert not (report.root / recipe.frame_dir(broken)).exists()
    assert (report.root / recipe.frame_dir(missing) / "img274.jpg").is_file()


def test_made_up_samples_need_a_class_set_of_emotions(tmp_path):
    with pytest.raises(UsageError, match="megc2019.*no emotion maps to 'negative'"):
        synthesize("samm", tmp_path / "x", classes="megc2019", progress=False)
    assert class_emotions(get_recipe("samm"), "3") == ["disgust", "happiness", "surprise"]


# ---- command line ------------------------------------------------------------------------


def test_cli_writes_a_release(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "synth",
            "--dataset",
            "mmew",
            "--out",
            str(tmp_path / "m"),
            "--subjects",
            "1",
            "--clips-per-subject",
            "1",
            "--scale",
            "0.2",
            "--classes",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1 samples (0 without frames: sheet errors)" in result.stdout
    assert [s.label for s in get_recipe("mmew").read(tmp_path / "m" / "MMEW_Micro_Exp.xlsx", "3")] == ["negative"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dataset", "nope"], "Invalid value for '--dataset'"),
        (["--dataset", "casme2", "--scale", "0"], "--scale must be in [0.1, 2.0], got 0.0"),
        (["--dataset", "casme2", "--scale", "x"], "'x' is not a valid float"),
        (["--dataset", "casme2", "--classes", "7"], "unknown class set '7' for CASME-II"),
        (["--dataset", "casme2", "--classes", "raw"], "class set 'raw' has no fixed classes"),
        (["--dataset", "casme2", "--like-sheet", "missing.xlsx"], "--like-sheet missing.xlsx: no such file"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["synth", "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    assert result.stderr.startswith("mepipe: error:") and result.stderr.count("\n") == 1
    assert message in result.stderr


def test_cli_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["synth", "--dataset", "samm", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "is not an empty folder" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_blinks_and_jerks_make_motion_order_differ_from_time_order(casme2_release):
    # the synthetic expression rises steadily to the apex; without blinks, jerks and
    # uneven speeds, MIDI's reordering of onset..apex was mostly time order itself
    from mepipe.imaging.rankpool import motion_order
    from mepipe.release.frames import clip_frames, read_clip

    recipe = get_recipe("casme2")
    samples = recipe.read(recipe.find_sheet(casme2_release))
    with open(casme2_release / "synth_motion.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["sample_id"] for r in table] == [s.sample_id for s in samples]
    assert any(r["blinks"] for r in table) and any(r["jerks"] for r in table)
    differ = 0
    for sample in samples:
        found = clip_frames(sample, recipe, casme2_release / recipe.frames_dirs[0])
        by_number = dict(zip(found.numbers, found.paths))
        clip = read_clip([by_number[n] for n in range(found.numbers[0], found.apex + 1)], recipe.color)
        differ += not np.array_equal(motion_order(clip), np.arange(len(clip)))
    assert differ > len(samples) / 2
