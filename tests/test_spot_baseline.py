"""The baseline spotter: its numeric pieces against plain references, planted expressions
found with their types, and settings chosen without the test subject."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mepipe.arrays.pairs import cell_flow
from mepipe.release.longvideo import Interval
from mepipe.spot.baseline import (
    DEFAULTS,
    GRIDS,
    Settings,
    SpotVideo,
    choose_settings,
    count_spots,
    displacement,
    drift,
    expected_lengths,
    find_peaks,
    frame_score,
    pass_peaks,
    peak_rows,
    smooth,
    spot_loso,
    spot_video,
    threshold,
)
from mepipe.spot.evaluate import Counts, Truth, evaluate

FPS = 30.0
K = 6  # the store's pair interval at 30 fps: 0.2 s
MICRO, MACRO = 9, 45  # planted lengths in frames: 0.3 s and 1.5 s
CELLS = 4


def _bump(length: int) -> np.ndarray:
    """A raised cosine over ``length`` frames: 0 at both ends, 1 in the middle."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(length) + 0.5) / length)


def _video(
    name: str,
    subject: str,
    bumps: list[tuple[int, str, float]],
    frames: int = 900,
    noise: float = 0.02,
    seed: int = 0,
    distractors: list[tuple[int, float]] = (),  # type: ignore[assignment]
) -> SpotVideo:
    """A synthetic long video as the store holds it: per row ``t`` the flow from frame ``t``
    to ``t + K`` of a face whose cells move away and back, one cell per (onset, type,
    amplitude), each an interval of the truth; distractors are micro-sized movements the
    truth lacks. Rows stand for the pair's middle frame, as :func:`store_videos` numbers them."""
    rng = np.random.default_rng(seed)
    face = np.zeros((frames + K, CELLS, 2))
    intervals = []
    planted = [(onset, MICRO if kind == "micro" else MACRO, amplitude) for onset, kind, amplitude in bumps]
    planted += [(onset, MICRO, amplitude) for onset, amplitude in distractors]
    for i, (onset, length, amplitude) in enumerate(planted):
        direction = np.array([np.cos(i), np.sin(i)])
        face[onset : onset + length, i % CELLS] += amplitude * _bump(length)[:, None] * direction
    for onset, kind, _ in bumps:
        intervals.append(Interval(name, kind, onset, onset + (MICRO if kind == "micro" else MACRO) - 1))
    flow = face[K:] - face[:-K] + rng.normal(0, noise, (frames, CELLS, 2))
    return SpotVideo(name, subject, FPS, flow, numbers=np.arange(frames) + K // 2, intervals=tuple(intervals))


def _f1(videos: list[SpotVideo], spans: list[Interval]) -> dict[str, float]:
    truth = Truth(tuple(s for v in videos for s in v.intervals), "synthetic")
    record = evaluate(truth, spans)
    return {
        "micro": record.total("micro").metrics()["f1"],
        "macro": record.total("macro").metrics()["f1"],
        "overall": record.total().metrics()["f1"],
    }


LENGTHS = {"micro": MICRO / FPS, "macro": MACRO / FPS}

# ---------------------------------------------------------------- the score


def test_cell_flow_is_the_mean_of_each_block_nan_as_zero():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(3, 42, 42, 3))
    images[1, 0, 0, 0] = np.nan
    cells = cell_flow(images)
    assert cells.shape == (3, 36, 2)
    for row in range(6):
        for column in range(6):
            block = np.nan_to_num(images[:, 7 * row : 7 * row + 7, 7 * column : 7 * column + 7, :2])
            np.testing.assert_allclose(cells[:, 6 * row + column], block.sum(axis=(1, 2)) / 49, rtol=1e-12)
    with pytest.raises(ValueError, match="8-pixel cells do not tile 42x42"):
        cell_flow(images, 8)


def test_pair_flows_sum_to_k_frames_of_displacement():
    """Pairs t -> t + k of a face D: the running sum at t is D(t+1) + ... + D(t+k), less
    D(0) + ... + D(k-1)."""
    rng = np.random.default_rng(1)
    face = rng.normal(size=(50 + K, 3, 2))
    flow = face[K:] - face[:-K]
    expected = np.array([face[t + 1 : t + K + 1].sum(axis=0) - face[:K].sum(axis=0) for t in range(50)])
    np.testing.assert_allclose(displacement(flow), expected, atol=1e-9)
    flow[4, 1, 0] = np.nan  # a pair not computed moves nothing
    assert displacement(flow)[4, 1, 0] == displacement(flow)[3, 1, 0]


def _moving_median(track: np.ndarray, width: int) -> np.ndarray:
    half = width // 2
    n = len(track)
    return np.array(
        [np.median(track[[min(max(t + d, 0), n - 1) for d in range(-half, half + 1)]], axis=0) for t in range(n)]
    )


@pytest.mark.parametrize("width", [1, 4, 5, 31])
def test_drift_is_a_centred_moving_median_with_repeated_ends(width):
    track = np.random.default_rng(width).normal(size=(80, 2, 2))
    np.testing.assert_allclose(drift(track, width), _moving_median(track, width), rtol=1e-12)


def test_a_wide_drift_window_is_sampled_and_follows_the_full_median():
    """A 3 s window at 200 fps (601 rows) is sampled every 9th row: on a slowly wandering
    track it stays within 2 % of the track's range of the full median (the track moves
    about 4 % of its range between two sampled rows)."""
    t = np.arange(3000) / 200.0
    track = (np.sin(t) + 0.3 * np.sin(3.1 * t))[:, None] + np.random.default_rng(2).normal(0, 0.01, (3000, 1))
    full = _moving_median(track, 601)
    assert np.abs(drift(track, 601) - full).max() < 0.02 * np.ptp(track)
    assert not np.array_equal(drift(track, 601), full)  # sampled, not the full window


def test_frame_score_is_the_largest_cell_s_departure_from_its_median():
    rng = np.random.default_rng(3)
    flow = rng.normal(size=(60, 5, 2))
    fps = 10.0  # 3 s: a 31-row window
    track = np.cumsum(flow, axis=0)
    away = track - _moving_median(track, 31)
    np.testing.assert_allclose(frame_score(flow, fps), np.hypot(away[..., 0], away[..., 1]).max(axis=1), rtol=1e-12)
    assert frame_score(np.zeros((0, 5, 2)), fps).shape == (0,)


# ---------------------------------------------------------------- peaks


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


def test_a_pass_outside_spotted_rows_thresholds_and_peaks_there_only():
    score = np.array([0, 2, 0, 0, 9, 0, 0, 3, 0, 0], dtype=float)
    one_frame = Settings(0.5, 1 / FPS, 1 / FPS)  # no smoothing, peaks a frame apart
    assert pass_peaks(score, FPS, one_frame).tolist() == [4]  # level 0.3 + 0.5 * 8.7
    outside = np.ones(10, dtype=bool)
    outside[3:6] = False  # the 9 is taken: the level over the rest is 1.93
    assert pass_peaks(score, FPS, one_frame, outside).tolist() == [1, 7]
    assert pass_peaks(np.ones(10), FPS, one_frame).tolist() == []  # flat


def test_peak_rows_are_centred_and_kept_within_the_video():
    assert peak_rows(100, [50, 1, 98], 9) == [(46, 54), (0, 8), (91, 99)]
    assert peak_rows(5, [2], 9) == [(0, 4)]


def test_expected_lengths_are_medians_in_seconds():
    empty = np.zeros((10, 1, 2))
    videos = [
        SpotVideo("a", "s1", 30.0, empty, intervals=(Interval("a", "micro", 0, 8), Interval("a", "micro", 0, 14))),
        SpotVideo("b", "s2", 200.0, empty, intervals=(Interval("b", "micro", 0, 59),)),
    ]
    lengths = expected_lengths(videos)
    assert lengths["micro"] == pytest.approx(0.3)  # 0.3, 0.5 and 0.3 s
    assert lengths["macro"] == 1.5  # none: the default


# ---------------------------------------------------------------- planted expressions


PLANTED = [(60, "micro", 1.0), (200, "macro", 0.9), (380, "micro", 0.8), (520, "macro", 1.0), (760, "micro", 1.0)]


def test_one_video_s_planted_expressions_are_found_with_their_types():
    video = _video("v", "s1", PLANTED)
    spans = spot_video(video, DEFAULTS, LENGTHS)
    assert [s.type for s in spans] == [kind for _, kind, _ in PLANTED]
    # centred on the apex: within two frames of the planted onset, the type's length
    assert all(
        abs(s.onset - onset) <= 2 and s.length == (MICRO if kind == "micro" else MACRO)
        for s, (onset, kind, _) in zip(spans, PLANTED)
    )
    assert _f1([video], spans) == {"micro": 1.0, "macro": 1.0, "overall": 1.0}


def test_the_pair_flow_s_own_peaks_come_in_pairs_where_the_displacement_has_one():
    """Why the score sums the flow: the magnitude of pair flow rises with the onset and again
    with the offset, two peaks around a dip at the apex, where the displacement has its one."""
    video = _video("v", "s1", [(300, "macro", 1.0)], noise=0.0)
    magnitude = np.hypot(video.flow[..., 0], video.flow[..., 1]).max(axis=1)
    tops = find_peaks(magnitude, 0.5 * magnitude.max(), 1)
    apex = 300 + MACRO // 2 - K // 2  # the row whose pair is centred on the apex
    assert len(tops) == 2 and tops[0] < apex < tops[1]
    assert magnitude[apex] < 0.1 * magnitude.max()
    (top,) = find_peaks(frame_score(video.flow, FPS), 0.5 * frame_score(video.flow, FPS).max(), 1)
    assert abs(top - apex) <= 1
    (span,) = spot_video(video, {"macro": DEFAULTS["macro"]}, LENGTHS)
    assert abs(span.onset - 300) <= 1


def test_frame_numbers_are_the_video_s_own():
    video = dataclasses.replace(_video("v", "s1", PLANTED[:1]), numbers=np.arange(900) * 2 + 1000)
    (span,) = spot_video(video, {"micro": DEFAULTS["micro"]}, LENGTHS)
    # found at rows 57..65 (the pair t -> t + 6 stands for t + 3, the planted onset 60)
    assert (span.onset, span.offset) == (1000 + 2 * 57, 1000 + 2 * 65)


def test_a_still_or_empty_video_spots_nothing():
    for flow in (np.zeros((100, 3, 2)), np.zeros((0, 3, 2))):
        assert spot_video(SpotVideo("v", "s", FPS, flow), DEFAULTS, LENGTHS) == []


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
    truth = Truth(tuple(s for v in videos for s in v.intervals), "synthetic")
    record = evaluate(truth, found.spans)
    # nearly every planted expression is found; the false positives are the relative
    # threshold's in videos without an expression of the type (its level then sits in the noise)
    assert record.total("macro").fn == 0 and record.total("micro").metrics()["recall"] >= 0.8, record.counts
    assert record.total().metrics()["f1"] >= 0.75, record.total()
    assert {v.name for v in videos} >= {s.video for s in found.spans}


def test_two_subjects_get_the_fixed_defaults():
    videos = _subjects(2)
    found = spot_loso(videos)
    assert found.settings == {"s0": DEFAULTS, "s1": DEFAULTS}
    assert _f1(videos, found.spans)["overall"] >= 0.5


def test_a_type_the_training_subjects_lack_is_not_spotted():
    videos = [_video(f"s{s}_v", f"s{s}", [(100, "micro", 1.0), (400, "micro", 0.8)], seed=s) for s in range(4)]
    found = spot_loso(videos)
    assert all(set(chosen) == {"micro"} for chosen in found.settings.values())
    assert {s.type for s in found.spans} == {"micro"}
    # one subject: no training intervals at all, so nothing says a type is missing
    assert spot_loso(videos[:1]).settings == {"s0": DEFAULTS}


# ---------------------------------------------------------------- honest selection


def _honesty_case() -> list[SpotVideo]:
    """Subjects s1..s3: true micro-expressions of mixed strength, nothing else (a low p is
    best). Subject s0: strong ones among many weaker distractors (a high p is best on s0
    alone)."""
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
    """The micro pass's p that scores best on ``videos`` themselves (what a leak would pick)."""

    def f1(settings: Settings) -> float:
        spotted = {v.name: spot_video(v, {"micro": settings}, lengths) for v in videos}
        return float(count_spots(videos, spotted).metrics()["f1"])

    return max(GRIDS["micro"], key=f1).p


def test_the_test_subject_never_picks_its_own_p():
    videos = _honesty_case()
    found = spot_loso(videos, min_subjects=3)
    chosen = found.settings["s0"]
    own = [v for v in videos if v.subject == "s0"]
    # s0's own data would choose a higher p than the one chosen for it from s1..s3
    assert _best_p_on(own, found.lengths_s["s0"]) > chosen["micro"].p
    assert chosen == choose_settings([v for v in videos if v.subject != "s0"], min_subjects=3)


def test_nothing_of_the_test_subject_changes_its_settings():
    videos = _honesty_case()
    before = spot_loso(videos, min_subjects=3)
    # s0's flow and intervals replaced by something else entirely
    rng = np.random.default_rng(5)
    changed = [
        dataclasses.replace(v, flow=rng.random(v.flow.shape) * 7, intervals=(Interval(v.name, "macro", 0, 400),))
        if v.subject == "s0"
        else v
        for v in videos
    ]
    after = spot_loso(changed, min_subjects=3)
    assert after.settings["s0"] == before.settings["s0"]
    assert after.lengths_s["s0"] == before.lengths_s["s0"]
    # while the other subjects' settings move: s0 is their training data, and now has a macro
    assert all("macro" in after.settings[s] and "macro" not in before.settings[s] for s in ("s1", "s2", "s3"))


def test_counts_of_the_tuning_pool_agree_with_the_evaluator():
    videos = _subjects(3, seed=3)
    settings = {"macro": Settings(0.2, 1.0, 0.5), "micro": Settings(0.2, 1.0, 0.1)}
    spotted = {v.name: spot_video(v, settings, LENGTHS) for v in videos}
    truth = Truth(tuple(s for v in videos for s in v.intervals), "synthetic")
    spans = [s for found in spotted.values() for s in found]
    assert count_spots(videos, spotted) == evaluate(truth, spans).total()
    assert count_spots(videos, spotted, ("micro",)) == evaluate(truth, spans).total("micro")
    assert count_spots(videos, spotted) != Counts()
