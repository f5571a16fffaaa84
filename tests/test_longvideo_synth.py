"""Synthetic long videos: the release's exact layout, read back by its recipe, with the motion planned."""

import csv
import hashlib
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import dlib
import pytest

from mepipe.release.longvideo import LongVideoRecipe
from mepipe.release.registry import get_recipe
from mepipe.synth.longvideo import MACRO_CAP, render_video, synthesize_long, videos_planned

DATA = Path(__file__).parent / "data/annotations"
_DETECTOR = dlib.get_frontal_face_detector()


@pytest.fixture(scope="module", params=["casme_sq", "samm_lv", "casme3_lv"])
def made(request, tmp_path_factory):
    recipe = get_recipe(request.param, LongVideoRecipe)
    root = tmp_path_factory.mktemp(recipe.name) / "release"
    return recipe, root, synthesize_long(recipe, root, subjects=2, scale=0.25, seed=3, progress=False)


def _sheet_fields(interval):
    return (
        interval.video,
        interval.subject,
        interval.type,
        interval.onset,
        interval.apex,
        interval.offset,
        interval.aus,
    )


def test_the_recipe_reads_back_the_sheet_it_wrote(made):
    recipe, root, report = made
    planned = [i for plan in report.plans for i in plan.intervals]
    read = recipe.intervals(root)
    assert recipe.find_sheet(root) == report.sheet
    assert [_sheet_fields(i) for i in read] == [_sheet_fields(i) for i in planned]
    assert [i.name for i in read] == [i.name for i in planned] and len({i.name for i in read}) == len(read)
    assert not [i for i in read if i.repairs or i.error]
    # the emotion goes into the sheet where the release codes one (CAS(ME)^3: its MEs;
    # SAMM-LV: its micro rows' in SAMM's clip sheet beside, read back as MEGC classes)
    coded = {"casme_sq": ("micro", "macro"), "samm_lv": ("micro",), "casme3_lv": ("micro",)}[recipe.name]
    megc = get_recipe("samm").label_maps["3"] if recipe.name == "samm_lv" else None
    expected = [(megc.get(i.emotion, "others") if megc else i.emotion) if i.type in coded else "" for i in planned]
    assert expected == [i.emotion for i in read]


def test_short_videos_with_two_of_each_at_the_sheets_lengths(made):
    recipe, _, report = made
    assert len(report.plans) == 4 and len({p.subject for p in report.plans}) == 2
    for plan in report.plans:
        assert len(plan.numbers) <= 600
        kinds = Counter(i.type for i in plan.intervals)
        assert kinds["micro"] >= 2 and kinds["macro"] >= 2
        ends = [(i.onset, i.offset) for i in plan.intervals]
        assert all(a[1] < b[0] for a, b in zip(ends, ends[1:]))  # in order, not overlapping
        assert plan.numbers[0] < ends[0][0] and ends[-1][1] < plan.numbers[-1]
        for interval in plan.intervals:
            low, high = recipe.durations[interval.type]
            cap = MACRO_CAP if interval.type == "macro" else high
            assert interval.length <= min(high, cap) and (interval.length >= low or interval.length == cap)
            assert interval.onset < interval.apex < interval.offset
            assert interval.emotion in recipe.emotions
        assert plan.blinks and plan.jerks and plan.drift


def test_videos_sit_where_the_recipe_finds_them(made):
    recipe, root, report = made
    found = recipe.videos(root)
    assert [(v.name, v.subject, v.numbers, v.paths) for v in found] == [
        (v.name, v.subject, v.numbers, v.paths) for v in videos_planned(recipe, root, report.plans)
    ]
    assert sum(len(v.numbers) for v in found) == report.frames
    if recipe.name == "casme3_lv":
        # the first 7 frames and two mid-video ones missing: a frame's number is not its position
        assert all(v.numbers[0] == 7 and len(v.missing()) == 2 and v.expected is None for v in found)
    else:
        assert all(v.numbers == tuple(range(1, 601)) and v.expected == 600 and not v.missing() for v in found)
    width, height = recipe.resolution
    image = cv2.imread(str(found[0].paths[0]), cv2.IMREAD_UNCHANGED)
    assert image.shape[:2] == (round(height * 0.25), round(width * 0.25))
    assert image.ndim == (2 if recipe.color == "gray" else 3)
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    assert len(_DETECTOR(gray, 1)) == 1


def test_events_list_expressions_blinks_and_jerks(made):
    recipe, root, report = made
    with open(report.sheet.parent / "synth_events.csv") as handle:
        rows = list(csv.DictReader(handle))
    kinds = Counter(r["kind"] for r in rows)
    plans = report.plans
    assert kinds["micro"] + kinds["macro"] == sum(len(p.intervals) for p in plans)
    assert kinds["blink"] == sum(len(p.blinks) for p in plans) and kinds["jerk"] == sum(len(p.jerks) for p in plans)
    assert {r["emotion"] for r in rows if r["kind"] in ("micro", "macro")} <= set(recipe.emotions)
    if recipe.name == "casme3_lv":
        # the release's own eye-blink sheet lists them too
        blinks = [(p.video, c - w, c + w) for p in plans for c, w, _ in p.blinks]
        assert recipe.read_blinks(report.sheet) == blinks


def test_an_expression_moves_its_frames_only_peaking_at_the_apex(made, tmp_path):
    recipe, root, report = made
    plan = report.plans[0]
    held = list(plan.intervals)  # as rendered: with the emotion SAMM-LV's sheet does not hold
    # one micro- and one macro-expression (each a whole video rendered again)
    for k in (next(k for k, i in enumerate(held) if i.type == kind) for kind in ("micro", "macro")):
        # the same video without its k-th expression: only that expression's frames change
        render_video(recipe, tmp_path / str(k), plan, held[:k] + held[k + 1 :], 0.25, seed=3)
        without = {p.name: p for p in (tmp_path / str(k)).rglob("*.jpg")}
        video = next(v for v in recipe.videos(root) if v.name == plan.video)
        change = {}
        for number, path in zip(video.numbers, video.paths):
            if path.read_bytes() != without[path.name].read_bytes():
                a, b = (cv2.imread(str(p), cv2.IMREAD_GRAYSCALE).astype(float) for p in (path, without[path.name]))
                change[number] = abs(a - b).mean()
        interval = held[k]
        assert set(change) <= set(range(interval.onset + 1, interval.offset)) and change
        # strength follows the profile: near its top at the apex, low a quarter of the way in
        early = interval.onset + (interval.apex - interval.onset) // 4
        assert change[interval.apex] >= 0.8 * max(change.values()) and change.get(early, 0) < change[interval.apex] / 2


def _digest(root):
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return hashlib.sha256(b"".join(p.relative_to(root).as_posix().encode() + p.read_bytes() for p in files)).hexdigest()


def test_same_seed_same_bytes(tmp_path):
    recipe = get_recipe("casme_sq", LongVideoRecipe)
    one, two, other = (tmp_path / n for n in ("one", "two", "other"))
    for root, seed, workers in ((one, 5, 1), (two, 5, 2), (other, 6, 2)):
        synthesize_long(
            recipe, root, subjects=1, videos=1, frames=200, scale=0.2, seed=seed, workers=workers, progress=False
        )
    assert _digest(one) == _digest(two) != _digest(other)


def test_like_sheet_reproduces_its_videos_at_full_length(tmp_path):
    recipe = get_recipe("casme_sq", LongVideoRecipe)
    report = synthesize_long(
        recipe,
        tmp_path / "r",
        subjects=1,
        videos=1,
        scale=0.1,
        like_sheet=DATA / "casme_sq/CASME_sq_gt.xlsx",
        progress=False,
    )
    (plan,) = report.plans
    real = [i for i in recipe.read_intervals(DATA / "casme_sq/CASME_sq_gt.xlsx") if i.video == plan.video]
    assert plan.video == "s15_0401"  # the sheet's first row: subject 1 (s15), anger1 (0401)
    listed = dict(line.split() for line in (DATA / "casme_sq/ME2.txt").read_text().splitlines())
    assert len(plan.numbers) == int(listed[plan.video])
    assert [_sheet_fields(i) for i in report.intervals] == [_sheet_fields(i) for i in real]
    assert recipe.videos(tmp_path / "r")[0].numbers[-1] == int(listed[plan.video])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dataset", "samm_lv", "--frames", "100"], "--frames 100 is too short for 2 micro- and 2 macro-expressions"),
        (["--dataset", "casme_sq", "--clips-per-subject", "3"], "--clips-per-subject and --classes apply to clip"),
        (["--dataset", "casme2", "--videos", "3"], "--videos and --frames apply to long-video datasets; casme2"),
        (["--dataset", "casme3_lv", "--scale", "5"], "--scale must be in [0.1, 2.0], got 5.0"),
    ],
)
def test_bad_synth_arguments_are_one_line(tmp_path, args, message):
    result = subprocess.run(
        [sys.executable, "-m", "mepipe", "synth", "--out", str(tmp_path / "x"), *args], capture_output=True, text=True
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr
    assert "Traceback" not in result.stderr
