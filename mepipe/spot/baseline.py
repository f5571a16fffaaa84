"""A baseline spotter: thresholded peaks of per-frame region motion (MDMD-style).

Per video, from ``region_motion`` (frames x regions: each facial region's motion
magnitude along its main direction, the nose's subtracted, as the spotting store holds
it):

1. a per-frame score, the largest region's motion (a micro-expression often moves one
   region only, which a mean over regions would dilute);
2. smoothed by a moving average of ``smooth_s`` seconds;
3. thresholded at ``mean + p·(max − mean)`` of the video's smoothed score;
4. local maxima above the threshold, at least ``distance_s`` seconds apart (the highest
   first);
5. each peak's width at half its height above the video's mean tells micro (at most
   :data:`MICRO_MAX_S`, the 0.5 s that defines a micro-expression) from macro, and the
   peak becomes an interval of that type's expected length, centred on it.

The expected lengths are the median lengths (in seconds) of the training subjects'
intervals; p and the other settings are chosen by nested leave-one-subject-out on the
training subjects only (:func:`choose_settings`), or fixed (:data:`DEFAULTS`) when fewer
than :data:`MIN_TUNING_SUBJECTS` training subjects are there to tune on. The test
subject's motion and intervals are never read while its settings are chosen.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mepipe._shared.progress import Progress
from mepipe.release.longvideo import TYPES, Interval
from mepipe.spot.evaluate import Counts, match

#: the longest a micro-expression lasts, in seconds: a wider peak is a macro-expression
MICRO_MAX_S = 0.5
#: expected lengths (seconds) when the training subjects have no interval of a type
DEFAULT_LENGTH_S = {"micro": 0.3, "macro": 1.5}
#: fewest training subjects a nested leave-one-subject-out tunes on; fewer: DEFAULTS
MIN_TUNING_SUBJECTS = 3


@dataclass(frozen=True)
class Settings:
    """How the baseline spots.

    Attributes
    ----------
    p : float
        Threshold fraction: a peak counts above ``mean + p·(max − mean)``.
    distance_s : float
        Least time between two peaks, in seconds (k = ``distance_s · fps`` frames).
    smooth_s : float
        Width of the moving average, in seconds.
    """

    p: float = 0.3
    distance_s: float = 1.0
    smooth_s: float = 0.1


#: the settings used when there are too few training subjects to tune on
DEFAULTS = Settings()
#: the settings nested leave-one-subject-out chooses among
GRID = tuple(
    Settings(p, distance, smooth)
    for p, distance, smooth in itertools.product(
        (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7), (0.5, 1.0, 2.0), (0.1, 0.2)
    )
)


@dataclass(frozen=True)
class SpotVideo:
    """One long video as the spotter reads it.

    Attributes
    ----------
    name, subject : str
        The video's name and its subject.
    fps : float
        Frames per second.
    motion : ndarray, shape (frames, regions)
        ``region_motion``: per-frame, per-region motion magnitude (nose subtracted).
    numbers : ndarray of int, shape (frames,), optional
        The release's frame number each row of ``motion`` stands for (gaps where frames
        are missing); ``None``: 0, 1, 2, ...
    intervals : tuple of Interval
        The video's annotated intervals (the truth), for tuning; empty where unknown.
    source_fps : float, optional
        The rate of the release's frame numbers where it is not ``fps`` (a store that
        kept every 7th frame of SAMM's 200 fps: ``fps`` 28.6, ``source_fps`` 200).
    """

    name: str
    subject: str
    fps: float
    motion: np.ndarray
    numbers: np.ndarray | None = None
    intervals: tuple[Interval, ...] = field(default=())
    source_fps: float | None = None


# ---------------------------------------------------------------- one video


def frame_score(motion: np.ndarray) -> np.ndarray:
    """The per-frame score: the largest region's motion, missing values (NaN) as none."""
    motion = np.nan_to_num(np.asarray(motion, dtype=np.float64), nan=0.0)
    if motion.ndim == 1:
        return motion
    return motion.max(axis=1)


def smooth(score: np.ndarray, width: int) -> np.ndarray:
    """A centred moving average over ``width`` frames (edges repeat the end values)."""
    score = np.asarray(score, dtype=np.float64)
    width = max(1, int(width))
    if width == 1 or score.size == 0:
        return score.copy()
    left = (width - 1) // 2
    padded = np.pad(score, (left, width - 1 - left), mode="edge")
    sums = np.cumsum(np.concatenate([[0.0], padded]))
    return (sums[width:] - sums[:-width]) / width


def threshold(score: np.ndarray, p: float) -> float:
    """``mean + p·(max − mean)`` of the score."""
    mean = float(np.mean(score))
    return mean + p * (float(np.max(score)) - mean)


def find_peaks(score: np.ndarray, level: float, distance: int) -> np.ndarray:
    """Local maxima at or above ``level``, at least ``distance`` frames apart.

    Taken highest first; a peak closer than ``distance`` to one already taken is dropped.
    A plateau counts once, at its first frame. Returns the frame indices, ascending.
    """
    score = np.asarray(score, dtype=np.float64)
    n = score.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    before = np.concatenate([[-np.inf], score[:-1]])
    after = np.concatenate([score[1:], [-np.inf]])
    # rises into it strictly, and does not rise after: the first frame of a plateau top
    candidates = np.flatnonzero((score > before) & (score >= after) & (score >= level))
    taken: list[int] = []
    blocked = np.zeros(n, dtype=bool)
    for index in candidates[np.argsort(-score[candidates], kind="stable")]:
        if blocked[index]:
            continue
        taken.append(int(index))
        blocked[max(0, index - distance + 1) : index + distance] = True
    return np.array(sorted(taken), dtype=np.int64)


def peak_width(score: np.ndarray, peak: int, base: float) -> int:
    """Frames around ``peak`` where the score stays at or above half its height over ``base``."""
    half = base + (score[peak] - base) / 2
    below = score < half
    left = peak
    while left > 0 and not below[left - 1]:
        left -= 1
    right = peak
    while right < score.size - 1 and not below[right + 1]:
        right += 1
    return right - left + 1


def spot_video(video: SpotVideo, settings: Settings, lengths_s: Mapping[str, float]) -> list[Interval]:
    """The intervals the baseline spots in one video.

    Parameters
    ----------
    video : SpotVideo
        The video (its ``intervals`` are not read).
    settings : Settings
        Threshold, peak distance, smoothing.
    lengths_s : mapping
        The expected length of each type, in seconds.

    Returns
    -------
    list of Interval
        By onset; frames in the video's own numbers, clipped to the video.
    """
    return _intervals(video, _peaks(video, settings), lengths_s)


def _peaks(video: SpotVideo, settings: Settings) -> list[tuple[int, str]]:
    """(frame index, type) of each spotted peak."""
    score = smooth(frame_score(video.motion), round(settings.smooth_s * video.fps))
    if score.size == 0 or not np.isfinite(score).all() or float(np.max(score)) <= float(np.mean(score)):
        return []  # a flat score: nothing stands out
    peaks = find_peaks(score, threshold(score, settings.p), max(1, round(settings.distance_s * video.fps)))
    base = float(np.mean(score))
    micro_max = MICRO_MAX_S * video.fps
    return [(int(peak), "micro" if peak_width(score, peak, base) <= micro_max else "macro") for peak in peaks]


def _intervals(video: SpotVideo, peaks: Iterable[tuple[int, str]], lengths_s: Mapping[str, float]) -> list[Interval]:
    n = len(video.motion)
    numbers = np.arange(n) if video.numbers is None else np.asarray(video.numbers)
    spans = []
    for peak, kind in peaks:
        length = max(1, round(lengths_s[kind] * video.fps))
        onset = min(max(0, peak - (length - 1) // 2), max(0, n - length))
        offset = min(n - 1, onset + length - 1)
        spans.append(Interval(video.name, kind, int(numbers[onset]), int(numbers[offset])))
    return sorted(spans, key=lambda s: (s.onset, s.type))


# ---------------------------------------------------------------- choosing settings


def expected_lengths(videos: Iterable[SpotVideo]) -> dict[str, float]:
    """The median length in seconds of the videos' intervals, per type (defaults where none)."""
    lengths: dict[str, list[float]] = {kind: [] for kind in TYPES}
    for video in videos:
        for span in video.intervals:
            lengths[span.type].append(span.length / (video.source_fps or video.fps))
    return {kind: float(np.median(found)) if found else DEFAULT_LENGTH_S[kind] for kind, found in lengths.items()}


def _counts(videos: Iterable[SpotVideo], spotted: Mapping[str, Sequence[Interval]]) -> Counts:
    total = Counts()
    for video in videos:
        for kind in TYPES:
            truth = [(s.onset, s.offset) for s in video.intervals if s.type == kind]
            preds = [(s.onset, s.offset) for s in spotted[video.name] if s.type == kind]
            tp = len(match(truth, preds))
            total = total + Counts(tp, len(preds) - tp, len(truth) - tp)
    return total


def _f1(counts: Counts) -> float:
    return float(counts.metrics()["f1"])


def choose_settings(
    videos: Sequence[SpotVideo],
    grid: Sequence[Settings] = GRID,
    min_subjects: int = MIN_TUNING_SUBJECTS,
    cache: dict[tuple[str, Settings], list[tuple[int, str]]] | None = None,
) -> Settings:
    """The settings a leave-one-subject-out over ``videos`` (the training subjects) scores best.

    Each setting is scored by the F1 of the pooled counts over the inner folds: every
    training subject's videos spotted with expected lengths from the other training
    subjects. Ties go to the earlier setting in ``grid``. With fewer than
    ``min_subjects`` subjects, :data:`DEFAULTS`.

    Parameters
    ----------
    videos : sequence of SpotVideo
        The training subjects' videos only, with their intervals.
    grid : sequence of Settings
        The candidates.
    min_subjects : int
        Fewest subjects to tune on.
    cache : dict, optional
        Peaks already found, by (video name, settings), filled as more are (the outer
        folds of :func:`spot_loso` share one: a video's peaks under a setting depend on
        neither the fold nor the lengths).
    """
    cache = {} if cache is None else cache
    subjects = sorted({v.subject for v in videos})
    if len(subjects) < min_subjects:
        return DEFAULTS
    folds = [
        (
            [v for v in videos if v.subject == held],
            expected_lengths(v for v in videos if v.subject != held),
        )
        for held in subjects
    ]
    best, best_f1 = DEFAULTS, -1.0
    for settings in grid:
        peaks = {}
        for v in videos:
            if (v.name, settings) not in cache:
                cache[(v.name, settings)] = _peaks(v, settings)
            peaks[v.name] = cache[(v.name, settings)]
        pooled = Counts()
        for held_videos, lengths in folds:
            spotted = {v.name: _intervals(v, peaks[v.name], lengths) for v in held_videos}
            pooled = pooled + _counts(held_videos, spotted)
        f1 = _f1(pooled)
        if f1 > best_f1:
            best, best_f1 = settings, f1
    return best


@dataclass(frozen=True)
class LosoSpots:
    """What :func:`spot_loso` spotted.

    Attributes
    ----------
    spans : list of Interval
        Every video's predictions.
    settings : dict
        subject -> the settings its videos were spotted with (chosen without it).
    lengths_s : dict
        subject -> the expected lengths (seconds) its videos were spotted with.
    """

    spans: list[Interval]
    settings: dict[str, Settings]
    lengths_s: dict[str, dict[str, float]]


def spot_loso(
    videos: Sequence[SpotVideo],
    grid: Sequence[Settings] = GRID,
    min_subjects: int = MIN_TUNING_SUBJECTS,
    progress: bool = False,
) -> LosoSpots:
    """Spot every video, each subject's with settings and lengths chosen without it.

    For each test subject: :func:`choose_settings` on the other subjects' videos (nested
    leave-one-subject-out, or :data:`DEFAULTS` with fewer than ``min_subjects`` of them),
    expected lengths from the other subjects' intervals, then :func:`spot_video` on the
    test subject's videos. Works on any number of subjects, one included (defaults
    throughout). ``progress`` shows the test subjects done on stderr.
    """
    spans: list[Interval] = []
    chosen: dict[str, Settings] = {}
    lengths: dict[str, dict[str, float]] = {}
    cache: dict[tuple[str, Settings], list[tuple[int, str]]] = {}
    subjects = sorted({v.subject for v in videos})
    with Progress(len(subjects), "spot", enabled=progress, unit="subject", outcomes=False) as bar:
        for subject in subjects:
            training = [v for v in videos if v.subject != subject]
            chosen[subject] = choose_settings(training, grid, min_subjects, cache)
            lengths[subject] = expected_lengths(training)
            for video in videos:
                if video.subject == subject:
                    spans += spot_video(video, chosen[subject], lengths[subject])
            bar.update()
    return LosoSpots(spans, chosen, lengths)


# ---------------------------------------------------------------- a spotting store


def store_videos(path: str | Path) -> tuple[list[SpotVideo], dict[str, str]]:
    """The videos of a spotting store as the spotter reads them, with their intervals.

    Row ``t`` of a stored video's ``region_motion`` is the flow from kept frame ``t`` to
    ``t + k``: it stands for the pair's middle frame, so each row is given the release's
    number of kept frame ``t + k // 2`` (the last frame for the final rows).

    Returns
    -------
    videos : list of SpotVideo
        The videos built, in the store's order.
    left_out : dict
        video -> why it is not spotted (its build failed or did not finish).
    """
    from mepipe.spot.read import open_spotting_store
    from mepipe.spot.store import read_intervals

    root = open_spotting_store(path)
    names = root.attrs["mepipe_spotting"].get("videos") or list(root["videos"].group_keys())
    intervals: dict[str, list[Interval]] = {}
    for i in read_intervals(root):
        intervals.setdefault(i.video, []).append(i)
    videos, left_out = [], {}
    for name in names:
        if f"videos/{name}" not in root or "numbers" not in root[f"videos/{name}"]:
            left_out[name] = "not built (no frames on disk, or the build was interrupted before it)"
            continue
        group = root[f"videos/{name}"]
        status = group.attrs.get("status", "")
        if status != "ok":
            left_out[name] = (
                f"build {status or 'unfinished'}{': ' + group.attrs['error'] if group.attrs.get('error') else ''}"
            )
            continue
        numbers = np.asarray(group["numbers"][:], dtype=np.int64)
        half = int(group.attrs.get("k", 0)) // 2
        rows = np.minimum(np.arange(numbers.size) + half, max(numbers.size - 1, 0))
        videos.append(
            SpotVideo(
                name=name,
                subject=str(group.attrs["subject"]),
                fps=float(group.attrs["fps"]),
                motion=np.asarray(group["region_motion"][:]),
                numbers=numbers[rows] if numbers.size else numbers,
                intervals=tuple(intervals.get(name, ())),
                source_fps=float(group.attrs.get("source_fps") or group.attrs["fps"]),
            )
        )
    return videos, left_out
