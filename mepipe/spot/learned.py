"""A learned spotter: SOFTNet (the registry's ``softnet``) trained under leave-one-subject-out
on a spotting store's windows, its scores turned into intervals as the baseline does.

For each test subject, and for each type (micro, macro: SOFTNet trains one network per
type), as the authors' ``training.py`` does:

1. the training windows: every valid window ``t .. t + k`` of the *other* subjects'
   videos (:func:`mepipe.dataset.loso_splits`), its region image and its pseudo-label
   (:func:`mepipe.dataset.window_labels`: 1 when it overlaps an interval of the type);
2. the negatives cut to half of the larger class, drawn at random; for micro-expressions
   each positive window also added flipped left-right, blurred (7 x 7 Gaussian) and with
   Gaussian noise (variance 0.01, clipped as ``skimage.util.random_noise`` clips);
3. a fresh network (the same initial weights in every fold), trained with MSE on the
   labels by plain SGD (learning rate 0.0005, batches of 12, 10 epochs, shuffled);
4. a score per window of the test subject's videos.

The scores become intervals with the baseline's pieces (:mod:`mepipe.spot.baseline`):
a centred moving average over the type's expected length (SOFTNet's aggregation over 2k
frames, k half the mean length), the threshold ``mean + p·(max − mean)`` with p = 0.55
(SOFTNet's published value, fixed: nothing is tuned), peaks at least half the expected
length apart, each an interval of the expected length centred on it. Expected lengths are
the median lengths of the training subjects' intervals (:func:`~mepipe.spot.baseline.expected_lengths`).
A window's score stands for its middle frame, as the baseline's rows do
(:func:`~mepipe.spot.baseline.store_videos`), so predictions are in the release's numbers.

One difference from the published recipe: the store has one flow interval k per video
(0.2 s by default), where SOFTNet computes its flow anew for each type with k half that
type's mean length. Needs PyTorch (through :mod:`mepipe.train.spotting`); :mod:`mepipe.spot`
does not import this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from mepipe._shared.progress import Progress
from mepipe.dataset import loso_splits, window_labels
from mepipe.errors import MepipeError, UsageError
from mepipe.release.longvideo import TYPES, Interval
from mepipe.spot.baseline import (
    SpotVideo,
    expected_lengths,
    find_peaks,
    peak_intervals,
    smooth,
    store_videos,
    threshold,
)
from mepipe.store.spotting import open_spotting_store, read_intervals
from mepipe.train.models import get_model
from mepipe.train.spotting import train_spotter, window_scores

#: the registered spotting model trained by default
DEFAULT_MODEL = "softnet"
#: SOFTNet's threshold fraction ("0.55 achieved the highest F1-score")
SOFTNET_P = 0.55
#: kernel of the blur augmentation, SOFTNet's 7 x 7 (sigma from the size, as OpenCV's 0 gives)
BLUR = (7, 7)
#: standard deviation of the noise augmentation (random_noise's default variance 0.01)
NOISE = 0.1


@dataclass(frozen=True)
class LearnedSettings:
    """How the learned spotter trains and spots (SOFTNet's published recipe by default).

    Attributes
    ----------
    epochs, batch : int
        Passes over the training windows, and windows per SGD step.
    lr : float
        Plain SGD's learning rate.
    negatives : float
        Negative windows kept, as a fraction of the larger class (SOFTNet: half).
    augment : bool
        Add each positive micro window flipped, blurred and noisy.
    p : float
        Threshold fraction: a peak counts above ``mean + p·(max − mean)`` of the smoothed score.
    seed : int
        Initial weights, the negatives drawn, the augmentation's noise and the order.
    model : str
        A registered spotting model (``task="spotting"``).
    """

    epochs: int = 10
    batch: int = 12
    lr: float = 5e-4
    negatives: float = 0.5
    augment: bool = True
    p: float = SOFTNET_P
    seed: int = 0
    model: str = DEFAULT_MODEL

    def check(self) -> None:
        """One line for a setting that cannot work."""
        get_model(self.model, "spotting")
        if self.epochs < 1 or self.batch < 1:
            raise UsageError(f"epochs and batch must be at least 1, not {self.epochs} and {self.batch}")
        if not self.lr > 0 or not 0 < self.negatives <= 1 or not 0 <= self.p <= 1:
            raise UsageError(
                f"lr must be positive, negatives in (0, 1], p in [0, 1]; got {self.lr}, {self.negatives}, {self.p}"
            )


@dataclass(frozen=True)
class StoreVideo:
    """One video of a spotting store as the learned spotter reads it.

    Attributes
    ----------
    video : SpotVideo
        Its baseline view (name, subject, rates, intervals; ``numbers`` the release's
        number of each window's middle frame; ``flow`` its rows without cells).
    images : ndarray, float32 (T, 42, 42, 3)
        The region images of window ``t .. t + k`` (u, v, strain; NaN where not computed).
    labels : dict
        type -> int8 (T,): SOFTNet's pseudo-label of each window, -1 where not to be used.
    """

    video: SpotVideo
    images: np.ndarray
    labels: dict[str, np.ndarray]


def store_windows(path: str | Path) -> tuple[list[StoreVideo], dict[str, str]]:
    """The built videos of a spotting store with their windows' images and pseudo-labels,
    in the order of :func:`mepipe.dataset.open_spotting`; and the videos left out, with why."""
    videos, left_out = store_videos(path, flow=False)  # the images are read here, once
    root = open_spotting_store(path)
    intervals = read_intervals(root)
    read = []
    for video in videos:
        group = root[f"videos/{video.name}"]
        numbers, k, valid = group["numbers"][:], int(group.attrs["k"]), group["valid"][:]
        labels = {
            kind: window_labels(numbers, k, [i for i in intervals if i.video == video.name and i.type == kind], valid)
            for kind in TYPES
        }
        read.append(StoreVideo(video, np.asarray(group["images"][:], dtype=np.float32), labels))
    return read, left_out


# ---------------------------------------------------------------- training


def _augmented(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """SOFTNet's three extra copies of each positive image: flipped left-right, blurred, noisy."""
    flipped = images[:, :, ::-1]
    blurred = np.stack([cv2.GaussianBlur(image, BLUR, 0) for image in images]) if len(images) else images
    noisy = images + rng.normal(0.0, NOISE, images.shape).astype(np.float32)
    # random_noise clips to [-1, 1] where the image has negative values, else to [0, 1]
    low = np.where(np.nanmin(images, axis=(1, 2, 3), keepdims=True) < 0, -1.0, 0.0)
    return np.concatenate([flipped, blurred, np.clip(noisy, low, 1.0).astype(np.float32)])


def training_windows(
    videos: Sequence[StoreVideo], kind: str, settings: LearnedSettings, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels one fold's network of type ``kind`` trains on, shuffled.

    Every valid window of ``videos`` (the training subjects' only), the negatives cut to
    ``settings.negatives`` of the larger class, the positive micro windows augmented.
    """
    images = np.concatenate([v.images[v.labels[kind] >= 0] for v in videos]) if videos else np.zeros((0, 42, 42, 3))
    labels = np.concatenate([v.labels[kind][v.labels[kind] >= 0] for v in videos]) if videos else np.zeros(0)
    negative, positive = np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)
    kept = int(max(negative.size, positive.size) * settings.negatives)
    chosen = np.sort(rng.choice(negative, min(kept, negative.size), replace=False))
    x, y = images[np.concatenate([chosen, positive])], labels[np.concatenate([chosen, positive])]
    if settings.augment and kind == "micro" and positive.size:
        extra = _augmented(images[positive], rng)
        x, y = np.concatenate([x, extra]), np.concatenate([y, np.ones(len(extra), dtype=y.dtype)])
    order = rng.permutation(len(y))
    return np.ascontiguousarray(x[order], dtype=np.float32), y[order].astype(np.float32)


# ---------------------------------------------------------------- spotting


def spot_scores(
    video: SpotVideo, scores: np.ndarray, kind: str, lengths_s: dict[str, float], p: float
) -> list[Interval]:
    """Intervals of type ``kind`` from one video's window scores, by the baseline's pieces.

    Smoothed over the type's expected length, thresholded at ``mean + p·(max − mean)``,
    peaks at least half that length apart, each an interval of that length centred on it
    in the video's own numbers. A flat score spots nothing.
    """
    raw = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=0.0)
    if raw.size == 0 or float(raw.max()) == float(raw.min()):
        return []
    length = max(1, round(lengths_s[kind] * video.fps))
    score = smooth(raw, length)
    peaks = find_peaks(score, threshold(score, p), max(1, length // 2))
    return peak_intervals(video, [(int(peak), kind) for peak in peaks], lengths_s)


@dataclass(frozen=True)
class LearnedSpots:
    """What :func:`spot_learned` spotted, and how.

    Attributes
    ----------
    spans : list of Interval
        Every video's predictions, by video then onset.
    trained_on : dict
        test subject -> the videos whose windows its networks were trained on.
    lengths_s : dict
        test subject -> the expected lengths (seconds) its videos were spotted with.
    losses : dict
        test subject -> type -> the training loss per epoch.
    scores : dict
        video -> type -> its window scores (NaN where not computed).
    untrained : dict
        test subject -> types with no positive training window (none of them spotted).
    """

    spans: list[Interval]
    trained_on: dict[str, tuple[str, ...]]
    lengths_s: dict[str, dict[str, float]]
    losses: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    scores: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    untrained: dict[str, tuple[str, ...]] = field(default_factory=dict)


def spot_learned(
    path: str | Path,
    settings: LearnedSettings | None = None,
    progress: bool = False,
    read: tuple[list[StoreVideo], dict[str, str]] | None = None,
) -> LearnedSpots:
    """Spot every video of the spotting store at ``path``, each subject's by networks trained
    on the other subjects only (leave-one-subject-out by :func:`~mepipe.dataset.loso_splits`).

    Parameters
    ----------
    path : str or Path
        A spotting store of at least two subjects.
    settings : LearnedSettings, optional
        SOFTNet's recipe by default.
    progress : bool
        Show the networks trained on stderr.
    read : optional
        :func:`store_windows` of ``path``, where already read.
    """
    settings = settings or LearnedSettings()
    settings.check()
    videos, _ = read if read is not None else store_windows(path)
    names = [v.video.name for v in videos]
    subjects = {v.video.subject for v in videos}
    if len(subjects) < 2:
        raise UsageError(f"{path}: a learned spotter trains on the other subjects; the store holds {len(subjects)}")
    folds = list(loso_splits(str(path)))
    spans: list[Interval] = []
    trained_on: dict[str, tuple[str, ...]] = {}
    lengths: dict[str, dict[str, float]] = {}
    losses: dict[str, dict[str, list[float]]] = {}
    scores: dict[str, dict[str, np.ndarray]] = {}
    untrained: dict[str, tuple[str, ...]] = {}
    with Progress(len(folds) * len(TYPES), "train softnet", enabled=progress, unit="network", outcomes=False) as bar:
        for subject, train_index, test_index in folds:
            training = [videos[i] for i in train_index]
            testing = [videos[i] for i in test_index]
            if len(videos) != len(train_index) + len(test_index) or {v.video.subject for v in testing} != {subject}:
                raise MepipeError(f"{path}: the store's folds and its videos disagree; run mepipe verify on it")
            trained_on[subject] = tuple(v.video.name for v in training)
            lengths[subject] = expected_lengths(v.video for v in training)
            losses[subject] = {}
            skipped = []
            for t, kind in enumerate(TYPES):
                rng = np.random.default_rng([settings.seed, t, *map(ord, subject)])
                x, y = training_windows(training, kind, settings, rng)
                if not y.any():
                    skipped.append(kind)
                    bar.update()
                    continue
                model, losses[subject][kind] = train_spotter(
                    x,
                    y,
                    model=settings.model,
                    epochs=settings.epochs,
                    batch=settings.batch,
                    lr=settings.lr,
                    seed=settings.seed * len(TYPES) + t,
                )
                for v in testing:
                    scores.setdefault(v.video.name, {})[kind] = window_scores(model, v.images, settings.model)
                    spans += spot_scores(v.video, scores[v.video.name][kind], kind, lengths[subject], settings.p)
                bar.update()
            if skipped:
                untrained[subject] = tuple(skipped)
    order = {name: i for i, name in enumerate(names)}
    spans.sort(key=lambda s: (order[s.video], s.onset, s.type))
    return LearnedSpots(spans, trained_on, lengths, losses, scores, untrained)
