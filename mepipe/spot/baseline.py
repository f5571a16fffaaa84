"""A baseline spotter: thresholded peaks of each facial cell's displacement from neutral.

Per video, from the spotting store's ``cells`` feature (the signed flow of pair
``t -> t + k`` on the brows and the mouth, the nose patch's mean flow, the head's motion,
already subtracted; a store of before, whose ``regions`` are version 1, gives it from
its region images):

1. the flow averaged over :data:`~mepipe.arrays.pairs.CELL`-pixel cells (36 cells:
   :func:`~mepipe.arrays.pairs.cell_flow`);
2. each cell's flow summed over the rows (:func:`displacement`): pair flows
   ``t -> t + k`` telescope, so the sum at row ``t`` is ``k`` times the cell's mean
   displacement over frames ``t + 1 .. t + k``, one hump per expression with its top at
   the apex. The pair flow itself rises at the onset and falls back at the offset, two
   humps with a dip at the apex, which is why peaks of MDMD-style region motion land
   beside the interval rather than in it;
3. minus its moving median over :data:`DRIFT_S` seconds (:func:`drift`): flow errors add
   up along the sum, and what is left is the departure from the local neutral face;
4. the per-frame score, the largest cell's departure (:func:`frame_score`: a
   micro-expression often moves one region only, which a mean over cells would dilute).

Then two passes over the score, macro first, each with its own :class:`Settings`:

5. smoothed by a moving average of ``smooth_s`` seconds;
6. thresholded at ``mean + p·(max − mean)``;
7. local maxima above the threshold, at least ``distance_s`` seconds apart (the highest
   first), each an interval of the type's expected length centred on it. The micro pass
   leaves out the frames the macro pass spotted, from its threshold and from its peaks: a
   macro-expression's top would otherwise set the level and claim the peaks.

Micro and macro are told apart by the pass, each with the smoothing and length of its
type: the expected lengths are the median lengths in seconds of the training subjects'
intervals, turned into frames by the video's rate. The settings are chosen by nested
leave-one-subject-out on the training subjects only (:func:`choose_settings`: macro by
macro F1, then micro by micro F1 with the macro settings fixed), or fixed
(:data:`DEFAULTS`) when fewer than :data:`MIN_TUNING_SUBJECTS` training subjects are there
to tune on. The test subject's flow and intervals are never read while its settings are
chosen.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mepipe._shared.progress import Progress
from mepipe.arrays.pairs import cell_flow
from mepipe.errors import UsageError
from mepipe.release.longvideo import TYPES, Interval
from mepipe.spot.evaluate import Counts, match

#: window of the moving median taken as the neutral face, in seconds
DRIFT_S = 3.0
#: samples a wide moving median looks at (a 200 fps window is subsampled to about this many)
DRIFT_SAMPLES = 64
#: expected lengths (seconds) when the training subjects have no interval of a type
DEFAULT_LENGTH_S = {"micro": 0.3, "macro": 1.5}
#: fewest training subjects a nested leave-one-subject-out tunes on; fewer: DEFAULTS
MIN_TUNING_SUBJECTS = 3
#: the order of the passes: the micro pass looks outside what the macro pass spotted
PASSES = ("macro", "micro")


@dataclass(frozen=True)
class Settings:
    """How one pass of the baseline spots.

    Attributes
    ----------
    p : float
        Threshold fraction: a peak counts above ``mean + p·(max − mean)``.
    distance_s : float
        Least time between two peaks, in seconds (``distance_s · fps`` frames).
    smooth_s : float
        Width of the moving average, in seconds.
    """

    p: float
    distance_s: float
    smooth_s: float


#: the settings of each pass when there are too few training subjects to tune on: of the
#: grid, the best worst-case F1 over the two synthetic long-video datasets (bench.spotloso's)
DEFAULTS: dict[str, Settings] = {"macro": Settings(0.5, 0.5, 0.5), "micro": Settings(0.6, 0.5, 0.1)}
_P = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
_DISTANCE_S = (0.5, 1.0, 2.0)
#: the settings nested leave-one-subject-out chooses among, per pass
GRIDS: dict[str, tuple[Settings, ...]] = {
    kind: tuple(Settings(*s) for s in itertools.product(_P, _DISTANCE_S, smooth))
    for kind, smooth in {"macro": (0.3, 0.5, 1.0), "micro": (0.1, 0.2, 0.3)}.items()
}


@dataclass(frozen=True)
class SpotVideo:
    """One long video as the spotter reads it.

    Attributes
    ----------
    name, subject : str
        The video's name and its subject (names are unique within what is spotted).
    fps : float
        Frames per second of the rows.
    flow : ndarray, shape (frames, cells, 2)
        Each row's mean ``(u, v)`` flow per cell (:func:`~mepipe.arrays.pairs.cell_flow`), the head's motion
        subtracted; NaN where not computed.
    numbers : ndarray of int, shape (frames,), optional
        The release's frame number each row stands for (gaps where frames are missing);
        ``None``: 0, 1, 2, ...
    intervals : tuple of Interval
        The video's annotated intervals (the truth), for tuning; empty where unknown.
    source_fps : float, optional
        The rate of the release's frame numbers where it is not ``fps`` (a store that
        kept every 7th frame of SAMM's 200 fps: ``fps`` 28.6, ``source_fps`` 200).
    """

    name: str
    subject: str
    fps: float
    flow: np.ndarray
    numbers: np.ndarray | None = None
    intervals: tuple[Interval, ...] = field(default=())
    source_fps: float | None = None

    @property
    def frames(self) -> int:
        """The number of rows."""
        return len(self.flow)


# ---------------------------------------------------------------- the score


def displacement(flow: np.ndarray) -> np.ndarray:
    """The running sum of the pair flows over the rows, missing values (NaN) as none.

    For pairs ``t -> t + k`` of a displacement ``D``, row ``t`` of the sum is
    ``D(t + 1) + ... + D(t + k)`` less a constant: ``k`` times the displacement around
    the pair's middle frame.
    """
    return np.cumsum(np.nan_to_num(np.asarray(flow, dtype=np.float64), nan=0.0), axis=0)


def drift(track: np.ndarray, width: int) -> np.ndarray:
    """The centred moving median of each column over ``width`` rows (made odd), ends repeated.

    A window wider than :data:`DRIFT_SAMPLES` rows is sampled every ``stride`` rows, its
    medians taken every ``stride`` rows (and at the last) and interpolated linearly
    between: a 3 s window at 200 fps costs what one at 30 fps does.
    """
    track = np.asarray(track, dtype=np.float64)
    n = len(track)
    if n == 0:
        return track.copy()
    flat = track.reshape(n, -1)
    half = max(0, int(width)) // 2
    stride = max(1, (2 * half + 1) // DRIFT_SAMPLES)
    centres = np.arange(0, n, stride)
    if centres[-1] != n - 1:
        centres = np.append(centres, n - 1)
    reach = half // stride * stride
    rows = np.clip(centres[:, None] + np.arange(-reach, reach + 1, stride), 0, n - 1)
    out = np.empty_like(flat)
    for column in range(flat.shape[1]):
        out[:, column] = np.interp(np.arange(n), centres, np.median(flat[rows, column], axis=1))
    return out.reshape(track.shape)


def frame_score(flow: np.ndarray, fps: float, drift_s: float = DRIFT_S) -> np.ndarray:
    """The per-frame score: the largest cell's displacement away from its moving median.

    Parameters
    ----------
    flow : ndarray, shape (frames, cells, 2)
        Per-row, per-cell ``(u, v)`` pair flow (:attr:`SpotVideo.flow`).
    fps : float
        Rows per second.
    drift_s : float
        The moving median's window, in seconds.
    """
    flow = np.asarray(flow)
    if flow.shape[0] == 0 or flow.shape[1] == 0:
        return np.zeros(flow.shape[0])
    track = displacement(flow)
    away = track - drift(track, round(drift_s * fps))
    return np.hypot(away[..., 0], away[..., 1]).max(axis=1)


# ---------------------------------------------------------------- peaks


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


def pass_peaks(score: np.ndarray, fps: float, settings: Settings, outside: np.ndarray | None = None) -> np.ndarray:
    """The peaks one pass takes from a video's score.

    Parameters
    ----------
    score : ndarray, shape (frames,)
        :func:`frame_score`.
    fps : float
        Rows per second.
    settings : Settings
        The pass's smoothing, threshold and peak distance.
    outside : ndarray of bool, optional
        The rows the pass may use: the threshold is taken over them only, and peaks
        elsewhere are dropped. ``None``: every row.

    Returns
    -------
    ndarray of int
        Row indices, ascending; none where the score (over ``outside``) is flat.
    """
    smoothed = smooth(score, round(settings.smooth_s * fps))
    reference = smoothed if outside is None else smoothed[outside]
    if reference.size == 0 or not np.isfinite(reference).all() or float(reference.max()) <= float(reference.mean()):
        return np.zeros(0, dtype=np.int64)
    peaks = find_peaks(smoothed, threshold(reference, settings.p), max(1, round(settings.distance_s * fps)))
    return peaks if outside is None else peaks[outside[peaks]]


def peak_rows(frames: int, peaks: Iterable[int], length: int) -> list[tuple[int, int]]:
    """Intervals of ``length`` rows centred on each peak, shifted to lie within ``frames``."""
    length = max(1, int(length))
    rows = []
    for peak in peaks:
        onset = min(max(0, int(peak) - (length - 1) // 2), max(0, frames - length))
        rows.append((onset, min(frames - 1, onset + length - 1)))
    return rows


def peak_intervals(
    video: SpotVideo, peaks: Iterable[tuple[int, str]], lengths_s: Mapping[str, float]
) -> list[Interval]:
    """Each (row, type) peak as an interval of the type's expected length centred on it.

    In the video's own frame numbers, clipped to the video; sorted by onset.
    """
    numbers = np.arange(video.frames) if video.numbers is None else np.asarray(video.numbers)
    spans = []
    for peak, kind in peaks:
        ((onset, offset),) = peak_rows(video.frames, [peak], round(lengths_s[kind] * video.fps))
        spans.append(Interval(video.name, kind, int(numbers[onset]), int(numbers[offset])))
    return sorted(spans, key=lambda s: (s.onset, s.type))


class _Spotter:
    """The baseline's passes over many videos, each video's score and peaks found once
    (the folds of a nested leave-one-subject-out share them: a video's peaks under a
    setting depend on neither the fold nor, for the macro pass, the lengths)."""

    def __init__(self) -> None:
        self._scores: dict[str, np.ndarray] = {}
        self._peaks: dict[tuple[str, Settings, tuple[tuple[int, int], ...]], np.ndarray] = {}

    def peaks(self, video: SpotVideo, settings: Settings, taken: tuple[tuple[int, int], ...] = ()) -> np.ndarray:
        key = (video.name, settings, taken)
        if key not in self._peaks:
            if video.name not in self._scores:
                self._scores[video.name] = frame_score(video.flow, video.fps)
            outside = None
            if taken:
                outside = np.ones(video.frames, dtype=bool)
                for onset, offset in taken:
                    outside[onset : offset + 1] = False
            self._peaks[key] = pass_peaks(self._scores[video.name], video.fps, settings, outside)
        return self._peaks[key]

    def spot(
        self, video: SpotVideo, settings: Mapping[str, Settings], lengths_s: Mapping[str, float]
    ) -> list[Interval]:
        """The passes of ``settings`` (macro, micro or both) over one video."""
        found: list[tuple[int, str]] = []
        taken: tuple[tuple[int, int], ...] = ()
        for kind in PASSES:
            if kind not in settings:
                continue
            peaks = self.peaks(video, settings[kind], taken)
            found += [(int(peak), kind) for peak in peaks]
            taken += tuple(peak_rows(video.frames, peaks, round(lengths_s[kind] * video.fps)))
        return peak_intervals(video, found, lengths_s)


def spot_video(video: SpotVideo, settings: Mapping[str, Settings], lengths_s: Mapping[str, float]) -> list[Interval]:
    """The intervals the baseline spots in one video.

    Parameters
    ----------
    video : SpotVideo
        The video (its ``intervals`` are not read).
    settings : mapping
        type -> the :class:`Settings` of its pass; a type left out is not spotted.
    lengths_s : mapping
        The expected length of each type, in seconds.

    Returns
    -------
    list of Interval
        By onset; frames in the video's own numbers, clipped to the video.
    """
    return _Spotter().spot(video, settings, lengths_s)


# ---------------------------------------------------------------- choosing settings


def expected_lengths(videos: Iterable[SpotVideo]) -> dict[str, float]:
    """The median length in seconds of the videos' intervals, per type (defaults where none)."""
    lengths: dict[str, list[float]] = {kind: [] for kind in TYPES}
    for video in videos:
        for span in video.intervals:
            lengths[span.type].append(span.length / (video.source_fps or video.fps))
    return {kind: float(np.median(found)) if found else DEFAULT_LENGTH_S[kind] for kind, found in lengths.items()}


def count_spots(
    videos: Iterable[SpotVideo], spotted: Mapping[str, Sequence[Interval]], kinds: Iterable[str] = TYPES
) -> Counts:
    """The pooled MEGC counts of ``spotted`` (video name -> its spans) against the videos'
    intervals, over the types ``kinds``."""
    kinds = tuple(kinds)
    total = Counts()
    for video in videos:
        for kind in kinds:
            truth = [(s.onset, s.offset) for s in video.intervals if s.type == kind]
            preds = [(s.onset, s.offset) for s in spotted[video.name] if s.type == kind]
            tp = len(match(truth, preds))
            total = total + Counts(tp, len(preds) - tp, len(truth) - tp)
    return total


def choose_settings(
    videos: Sequence[SpotVideo],
    grids: Mapping[str, Sequence[Settings]] = GRIDS,
    min_subjects: int = MIN_TUNING_SUBJECTS,
    spotter: _Spotter | None = None,
) -> dict[str, Settings]:
    """The settings a leave-one-subject-out over ``videos`` (the training subjects) scores best.

    The macro pass first, each candidate scored by the macro F1 of the pooled counts over
    the inner folds (every training subject's videos spotted with expected lengths from
    the other training subjects); then the micro pass, after the chosen macro pass, by
    micro F1. Ties go to the candidate with fewer false positives, then to the earlier
    one. With fewer than ``min_subjects`` subjects, :data:`DEFAULTS`. Either way, where
    the training videos have intervals but none of a type, that type gets no pass
    (nothing would tell its settings apart, and its spots would only hide the other
    type's); training videos without any interval get both.

    Parameters
    ----------
    videos : sequence of SpotVideo
        The training subjects' videos only, with their intervals.
    grids : mapping
        type -> the candidates of its pass.
    min_subjects : int
        Fewest subjects to tune on.
    spotter : _Spotter, optional
        Scores and peaks already found (the outer folds of :func:`spot_loso` share one).

    Returns
    -------
    dict
        type -> :class:`Settings`.
    """
    spotter = spotter or _Spotter()
    annotated = {span.type for video in videos for span in video.intervals} or set(PASSES)
    passes = [kind for kind in PASSES if kind in annotated]
    subjects = sorted({v.subject for v in videos})
    if len(subjects) < min_subjects:
        return {kind: DEFAULTS[kind] for kind in passes}
    folds = [
        ([v for v in videos if v.subject == held], expected_lengths(v for v in videos if v.subject != held))
        for held in subjects
    ]
    chosen: dict[str, Settings] = {}
    for kind in passes:
        best, best_rank = DEFAULTS[kind], (-1.0, 0)
        for candidate in grids[kind]:
            trial = {**chosen, kind: candidate}
            pooled = Counts()
            for held, lengths in folds:
                spotted = {v.name: spotter.spot(v, trial, lengths) for v in held}
                pooled = pooled + count_spots(held, spotted, (kind,))
            rank = (float(pooled.metrics()["f1"]), -pooled.fp)
            if rank > best_rank:
                best, best_rank = candidate, rank
        chosen[kind] = best
    return chosen


@dataclass(frozen=True)
class LosoSpots:
    """What :func:`spot_loso` spotted.

    Attributes
    ----------
    spans : list of Interval
        Every video's predictions.
    settings : dict
        subject -> type -> the settings its videos were spotted with (chosen without it).
    lengths_s : dict
        subject -> the expected lengths (seconds) its videos were spotted with.
    """

    spans: list[Interval]
    settings: dict[str, dict[str, Settings]]
    lengths_s: dict[str, dict[str, float]]


def spot_loso(
    videos: Sequence[SpotVideo],
    grids: Mapping[str, Sequence[Settings]] = GRIDS,
    min_subjects: int = MIN_TUNING_SUBJECTS,
    progress: bool = False,
) -> LosoSpots:
    """Spot every video, each subject's with settings and lengths chosen without it.

    For each test subject: :func:`choose_settings` on the other subjects' videos (nested
    leave-one-subject-out, or :data:`DEFAULTS` with fewer than ``min_subjects`` of them),
    expected lengths from the other subjects' intervals, then both passes on the test
    subject's videos. Works on any number of subjects, one included (defaults
    throughout). ``progress`` shows the test subjects done on stderr.
    """
    spans: list[Interval] = []
    chosen: dict[str, dict[str, Settings]] = {}
    lengths: dict[str, dict[str, float]] = {}
    spotter = _Spotter()
    subjects = sorted({v.subject for v in videos})
    with Progress(len(subjects), "spot", enabled=progress, unit="subject", outcomes=False) as bar:
        for subject in subjects:
            training = [v for v in videos if v.subject != subject]
            chosen[subject] = choose_settings(training, grids, min_subjects, spotter)
            lengths[subject] = expected_lengths(training)
            for video in videos:
                if video.subject == subject:
                    spans += spotter.spot(video, chosen[subject], lengths[subject])
            bar.update()
    return LosoSpots(spans, chosen, lengths)


# ---------------------------------------------------------------- a spotting store


def _stored_cell_flow(group: Any, version: int = 1, store: str = "the store") -> np.ndarray:
    """A video's cell flow: its stored ``cell_flow`` (the ``cells`` feature) where it
    holds one, else :func:`~mepipe.arrays.pairs.cell_flow` of its ``images``, read a chunk
    at a time, where they are version 1's (the signed flow; ``version``: the store's
    ``regions`` version)."""
    if "cell_flow" in group:
        return np.asarray(group["cell_flow"][:], dtype=np.float64)
    if version > 1:
        raise UsageError(
            f"{store} holds SOFTNet's region images (regions version {version}: |u|, |v|), not the flow the "
            "baseline sums: add the cells feature (mepipe build ... --arrays with cells added)"
        )
    images = group["images"]
    step = images.chunks[0]
    parts = [cell_flow(images[at : at + step]) for at in range(0, images.shape[0], step)]
    return np.concatenate(parts) if parts else cell_flow(images[:0])


def store_videos(path: str | Path, flow: bool = True) -> tuple[list[SpotVideo], dict[str, str]]:
    """The videos of a spotting store as the spotter reads them, with their intervals.

    Row ``t`` of a stored video's region images is the flow from kept frame ``t`` to
    ``t + k``: it stands for the pair's middle frame, so each row is given the release's
    number of kept frame ``t + k // 2`` (the last frame for the final rows). The images
    are read a chunk at a time and kept as :func:`~mepipe.arrays.pairs.cell_flow` only.

    Parameters
    ----------
    path : str or Path
        The spotting store.
    flow : bool
        ``False``: the images are not read, and each video's ``flow`` has its rows and no
        cells (for a reader that reads the images itself, as the learned spotter does).

    Returns
    -------
    videos : list of SpotVideo
        The videos built, in the store's order.
    left_out : dict
        video -> why it is not spotted (its build failed or did not finish).
    """
    from mepipe.store.spotting import feature_version, open_spotting_store, read_intervals, spotting_record, video_names

    root = open_spotting_store(path)
    regions = feature_version(spotting_record(root), "regions")
    names = video_names(root)
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
        images = group["images"]
        videos.append(
            SpotVideo(
                name=name,
                subject=str(group.attrs["subject"]),
                fps=float(group.attrs["fps"]),
                flow=_stored_cell_flow(group, regions, str(path)) if flow else np.zeros((images.shape[0], 0, 2)),
                numbers=numbers[rows] if numbers.size else numbers,
                intervals=tuple(intervals.get(name, ())),
                source_fps=float(group.attrs.get("source_fps") or group.attrs["fps"]),
            )
        )
    return videos, left_out
