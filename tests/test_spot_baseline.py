"""The baseline spotter: its numeric pieces against plain references, planted bumps found,
and settings chosen without the test subject."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mepipe.release.longvideo import Interval
from mepipe.spot.baseline import (
    DEFAULTS,
    GRID,
    Settings,
    SpotVideo,
    _counts,
    choose_settings,
    expected_lengths,
    find_peaks,
    frame_score,
    peak_width,
    smooth,
    spot_loso,
    spot_video,
    threshold,
)
from mepipe.spot.evaluate import Counts, Truth, evaluate

FPS = 30.0
MICRO, MACRO = 9, 45  # planted lengths in frames: 0.3 s and 1.5 s


def _bump(length: int) -> np.ndarray:
    """A raised cosine over ``length`` frames: 0 at both ends, 1 in the middle."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(length) + 0.5) / length)


def _video(
    name: str,
    subject: str,
    bumps: list[tuple[int, str, float]],
    frames: int = 900,
    regions: int = 3,
    noise: float = 0.03,
    seed: int = 0,
    distractors: list[tuple[int, float]] = (),  # type: ignore[assignment]
) -> SpotVideo:
    """A synthetic long video: small noise, and a bump per (onset, type, amplitude) in one
    region, each an interval of the truth; distractors are micro-sized bumps the truth lacks."""
    rng = np.random.default_rng(seed)
    motion = np.abs(rng.normal(0, noise, (frames, regions)))
    intervals = []
    for i, (onset, kind, amplitude) in enumerate(bumps):
        length = MICRO if kind == "micro" else MACRO
        motion[onset : onset + length, i % regions] += amplitude * _bump(length)
        intervals.append(Interval(name, kind, onset, onset + length - 1))
    for j, (onset, amplitude) in enumerate(distractors):
        motion[onset : onset + MICRO, j % regions] += amplitude * _bump(MICRO)
    return SpotVideo(name, subject, FPS, motion, intervals=tuple(intervals))


def _f1(videos: list[SpotVideo], spans: list[Interval]) -> dict[str, float]:
    truth = Truth(tuple(s for v in videos for s in v.intervals), "synthetic")
    record = evaluate(truth, spans)
    return {
        "micro": record.total("micro").metrics()["f1"],
        "macro": record.total("macro").metrics()["f1"],
        "overall": record.total().metrics()["f1"],
    }


# ---------------------------------------------------------------- pieces


def test_frame_score_is_the_largest_region_and_nan_is_none():
    motion = np.array([[0.1, 0.5, 0.2], [np.nan, 0.3, 0.4], [0.0, 0.0, 0.0]])
    assert frame_score(motion).tolist() == [0.5, 0.4, 0.0]


@pytest.mark.parametrize("width", [1, 2, 3, 4, 7])
def test_smooth_is_a_centred_moving_average_with_repeated_ends(width):
    score = np.random.default_rng(width).random(20)
    left = (width - 1) // 2
    expected = [np.mean([score[min(max(i + d, 0), 19)] for d in range(-left, width - left)]) for i in range(score.size)]
    np.testing.assert_allclose(smooth(score, width), expected, rtol=1e-12)


def test_threshold_is_mean_plus_p_of_the_range_above_it():
    score = np.array([0.0, 0.0, 0.0, 4.0])  # mean 1, max 4
    assert threshold(score, 0.0) == 1.0
    assert threshold(score, 0.5) == 2.5
    assert threshold(score, 1.0) == 4.0


def test_peaks_are_local_maxima_above_the_level_at_least_k_apart():
    score = np.array([0, 3, 0, 0, 5, 0, 4, 0, 0, 0, 2, 0, 1, 1, 0], dtype=float)
    assert find_peaks(score, 1.5, 1).tolist() == [1, 4, 6, 10]
    # 6 is 2 from the higher 4: dropped at k=3; 1 is 3 from 4: kept
    assert find_peaks(score, 1.5, 3).tolist() == [1, 4, 10]
    assert find_peaks(score, 4.5, 1).tolist() == [4]
    # a plateau counts once, at its first frame
    assert find_peaks(score, 0.5, 1).tolist() == [1, 4, 6, 10, 12]


def test_peak_width_is_taken_at_half_height_above_the_base():
    score = np.array([0, 1, 2, 3, 4, 3, 2, 1, 0], dtype=float)
    assert peak_width(score, 4, 0.0) == 5  # half 2: frames 2..6
    assert peak_width(score, 4, 2.0) == 3  # half 3: frames 3..5
    assert peak_width(score, 4, -4.0) == 9  # half 0: everything


def test_expected_lengths_are_medians_in_seconds():
    videos = [
        SpotVideo(
            "a", "s1", 30.0, np.zeros((10, 1)), intervals=(Interval("a", "micro", 0, 8), Interval("a", "micro", 0, 14))
        ),
        SpotVideo("b", "s2", 200.0, np.zeros((10, 1)), intervals=(Interval("b", "micro", 0, 59),)),
    ]
    lengths = expected_lengths(videos)
    assert lengths["micro"] == pytest.approx(0.3)  # 0.3, 0.5 and 0.3 s
    assert lengths["macro"] == 1.5  # none: the default


# ---------------------------------------------------------------- planted bumps


PLANTED = [(60, "micro", 1.0), (200, "macro", 0.9), (380, "micro", 0.8), (520, "macro", 1.0), (760, "micro", 1.0)]


def test_one_video_s_planted_bumps_are_found_with_their_types():
    video = _video("v", "s1", PLANTED)
    spans = spot_video(video, DEFAULTS, {"micro": MICRO / FPS, "macro": MACRO / FPS})
    assert [s.type for s in spans] == [kind for _, kind, _ in PLANTED]
    # centred on the peak: within a frame or two of the planted onset (noise moves the top)
    assert all(
        abs(s.onset - onset) <= 2 and s.length == (MICRO if kind == "micro" else MACRO)
        for s, (onset, kind, _) in zip(spans, PLANTED)
    )
    assert _f1([video], spans) == {"micro": 1.0, "macro": 1.0, "overall": 1.0}


def test_frame_numbers_are_the_video_s_own():
    video = dataclasses.replace(_video("v", "s1", PLANTED[:1]), numbers=np.arange(900) * 2 + 1000)
    (span,) = spot_video(video, DEFAULTS, {"micro": MICRO / FPS, "macro": MACRO / FPS})
    assert (span.onset, span.offset) == (1000 + 2 * 60, 1000 + 2 * 68)


def test_a_flat_or_empty_video_spots_nothing():
    for motion in (np.zeros((100, 3)), np.zeros((0, 3))):
        assert spot_video(SpotVideo("v", "s", FPS, motion), DEFAULTS, {"micro": 0.3, "macro": 1.5}) == []


def _subjects(count: int, seed: int = 0) -> list[SpotVideo]:
    rng = np.random.default_rng(seed)
    videos = []
    for s in range(count):
        for v in range(2):
            onsets = np.sort(rng.choice(np.arange(2, 16), 4, replace=False)) * 55
            bumps = [(int(o), "micro" if rng.random() < 0.5 else "macro", float(rng.uniform(0.6, 1.0))) for o in onsets]
            videos.append(_video(f"s{s}_v{v}", f"s{s}", bumps, seed=100 * s + v))
    return videos


def test_loso_finds_the_planted_expressions():
    videos = _subjects(4)
    found = spot_loso(videos)
    scores = _f1(videos, found.spans)
    assert scores["overall"] >= 0.9, scores
    assert scores["micro"] >= 0.8 and scores["macro"] >= 0.8, scores
    assert {v.name for v in videos} >= {s.video for s in found.spans}


def test_two_subjects_get_the_fixed_defaults():
    videos = _subjects(2)
    found = spot_loso(videos)
    assert found.settings == {"s0": DEFAULTS, "s1": DEFAULTS}
    assert _f1(videos, found.spans)["overall"] >= 0.5


# ---------------------------------------------------------------- honest selection


def _honesty_case() -> list[SpotVideo]:
    """Subjects s1..s3: true bumps of mixed strength, nothing else (a low p is best). Subject
    s0: strong true bumps among many weaker distractors (a high p is best on s0 alone)."""
    videos = []
    for s in (1, 2, 3):
        for v in range(2):
            bumps = [(100, "micro", 1.0), (300, "micro", 0.35), (500, "micro", 0.3), (700, "micro", 0.4)]
            videos.append(_video(f"s{s}_v{v}", f"s{s}", bumps, seed=10 * s + v))
    distractors = [(o, 0.45) for o in (40, 180, 240, 420, 600, 640, 820)]
    for v in range(2):
        bumps = [(100, "micro", 1.0), (300, "micro", 1.0), (500, "micro", 0.95), (700, "micro", 1.0)]
        videos.append(_video(f"s0_v{v}", "s0", bumps, seed=v, distractors=distractors))
    return videos


def _best_p_on(videos: list[SpotVideo], lengths: dict[str, float]) -> float:
    """The p that scores best on ``videos`` themselves (what a leak would pick)."""

    def f1(settings: Settings) -> float:
        spotted = {v.name: spot_video(v, settings, lengths) for v in videos}
        return float(_counts(videos, spotted).metrics()["f1"])

    return max(GRID, key=f1).p


def test_the_test_subject_never_picks_its_own_p():
    videos = _honesty_case()
    found = spot_loso(videos, min_subjects=3)
    chosen = found.settings["s0"]
    own = [v for v in videos if v.subject == "s0"]
    # s0's own data would choose a higher p than the one chosen for it from s1..s3
    assert _best_p_on(own, found.lengths_s["s0"]) > chosen.p
    assert chosen == choose_settings([v for v in videos if v.subject != "s0"], min_subjects=3)


def test_nothing_of_the_test_subject_changes_its_settings():
    videos = _honesty_case()
    before = spot_loso(videos, min_subjects=3)
    # s0's motion and intervals replaced by something else entirely
    rng = np.random.default_rng(5)
    changed = [
        dataclasses.replace(v, motion=rng.random(v.motion.shape) * 7, intervals=(Interval(v.name, "macro", 0, 400),))
        if v.subject == "s0"
        else v
        for v in videos
    ]
    after = spot_loso(changed, min_subjects=3)
    assert after.settings["s0"] == before.settings["s0"]
    assert after.lengths_s["s0"] == before.lengths_s["s0"]
    # while every other subject's settings may move: s0 is their training data
    assert set(after.settings) == {"s0", "s1", "s2", "s3"}


def test_counts_of_the_tuning_pool_agree_with_the_evaluator():
    videos = _subjects(3, seed=3)
    spotted = {v.name: spot_video(v, Settings(0.2, 1.0, 0.1), {"micro": 0.3, "macro": 1.5}) for v in videos}
    truth = Truth(tuple(s for v in videos for s in v.intervals), "synthetic")
    assert _counts(videos, spotted) == evaluate(truth, [s for spans in spotted.values() for s in spans]).total()
    assert _counts(videos, spotted) != Counts()
