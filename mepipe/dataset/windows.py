"""Sliding windows over a spotting store's face stream, with their labels: the index a
video backbone's reader walks (:class:`mepipe.dataset.FaceWindows`) and ``mepipe features``
writes one feature row per window of. Torch-free.

A video of ``T`` kept frames has windows at positions ``0, stride, 2 stride, ...`` of
``length`` frames each, the last one the last to fit (a video shorter than ``length`` has
one window, its last frame repeated); window ``i`` is centred at
``(i stride + length / 2) / fps`` seconds, the grid ActionFormer's ``feat_stride`` and
``num_frames`` describe. Each window carries, per interval type (``micro``, ``macro``):

* ``overlap``: the share of its ``length`` frames inside an interval of that type;
* ``label``: SOFTNet's pseudo-label, 1 when the span from its first to its last frame
  number overlaps an interval of that type by at least one frame (as
  :func:`mepipe.dataset.spotting.window_labels` labels a flow pair).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mepipe.errors import UsageError
from mepipe.release.longvideo import TYPES, Interval
from mepipe.store.spotting import built_videos, open_spotting_store, read_intervals, spotting_record

#: the face-stream features a window reads, preferred first
FACE_ARRAYS = ("face", "face_gray")
#: ImageNet's mean and standard deviation per RGB channel on ``[0, 1]``, the normalisation
#: VideoMAE / VideoMAE V2 and most video backbones were trained with
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def window_starts(frames: int, length: int, stride: int) -> np.ndarray:
    """The first positions of the windows of a video of ``frames`` kept frames.

    >>> window_starts(10, 4, 3).tolist(), window_starts(3, 4, 3).tolist(), window_starts(0, 4, 3).tolist()
    ([0, 3, 6], [0], [])
    """
    if length < 1 or stride < 1:
        raise UsageError(f"window length and stride must be at least 1, not {length} and {stride}")
    if frames <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, max(frames - length, 0) + 1, stride, dtype=np.int64)


def window_overlap(
    numbers: np.ndarray, starts: np.ndarray, length: int, intervals: Sequence[Interval], types: Sequence[str] = TYPES
) -> tuple[np.ndarray, np.ndarray]:
    """Each window's overlap share and pseudo-label per type (see the module's docstring).

    Parameters
    ----------
    numbers : ndarray of int, shape (T,)
        The release's frame numbers of the video's kept frames.
    starts : ndarray of int, shape (W,)
        :func:`window_starts`.
    length : int
        Frames per window.
    intervals : sequence of Interval
        The video's intervals (frames inclusive).
    types : sequence of str
        One column per type.

    Returns
    -------
    overlap : ndarray, float32, shape (W, len(types))
    label : ndarray, int8, shape (W, len(types))

    >>> from mepipe.release.longvideo import Interval
    >>> one = Interval("v", "micro", onset=4, offset=5)
    >>> overlap, label = window_overlap(np.arange(10), np.array([0, 2, 6]), 4, [one])
    >>> overlap[:, 0].tolist(), label[:, 0].tolist(), label[:, 1].tolist()
    ([0.0, 0.5, 0.0], [0, 1, 0], [0, 0, 0])
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    overlap = np.zeros((len(starts), len(types)), dtype=np.float32)
    label = np.zeros((len(starts), len(types)), dtype=np.int8)
    if not len(numbers) or not len(starts):
        return overlap, label
    ends = np.minimum(starts + length, len(numbers))
    first, last = numbers[starts], numbers[ends - 1]
    for column, kind in enumerate(types):
        inside = np.zeros(len(numbers), dtype=bool)
        positive = np.zeros(len(starts), dtype=bool)
        for interval in intervals:
            if interval.type != kind:
                continue
            inside |= (numbers >= interval.onset) & (numbers <= interval.offset)
            positive |= (first <= interval.offset) & (last >= interval.onset)
        counts = np.concatenate([[0], np.cumsum(inside)])
        overlap[:, column] = (counts[ends] - counts[starts]) / length
        label[:, column] = positive
    return overlap, label


@dataclass(frozen=True)
class VideoWindows:
    """One video's windows.

    Attributes
    ----------
    name, subject : str
    fps : float
        The kept frames' rate (after ``--fps``).
    numbers : ndarray of int, shape (T,)
        The release's numbers of the kept frames.
    starts : ndarray of int, shape (W,)
        Each window's first position.
    overlap, label : ndarray, shape (W, types)
        :func:`window_overlap`.
    intervals : tuple of Interval
        The video's intervals of the index's types.
    """

    name: str
    subject: str
    fps: float
    numbers: np.ndarray
    starts: np.ndarray
    overlap: np.ndarray
    label: np.ndarray
    intervals: tuple[Interval, ...]

    @property
    def frames(self) -> int:
        return len(self.numbers)

    @property
    def duration(self) -> float:
        """Seconds the kept frames span (``T / fps``)."""
        return self.frames / self.fps

    def seconds(self, interval: Interval) -> tuple[float, float]:
        """An interval on the kept frames' time axis: from its first kept frame's start to
        its last kept frame's end, ``position / fps`` seconds (frames inclusive)."""
        first = int(np.searchsorted(self.numbers, interval.onset, side="left"))
        last = int(np.searchsorted(self.numbers, interval.offset, side="right"))
        return round(first / self.fps, 6), round(max(last, first + 1) / self.fps, 6)


@dataclass(frozen=True)
class WindowIndex:
    """Every window of the chosen videos of a spotting store, in video then time order.

    Attributes
    ----------
    store : str
    array : str
        The face array read (``face`` or ``face_gray``).
    length, stride : int
    types : tuple of str
        The label columns.
    videos : tuple of VideoWindows
    rows : ndarray of int, shape (N, 2)
        ``(video index in videos, window index)`` of each item.
    """

    store: str
    array: str
    length: int
    stride: int
    types: tuple[str, ...]
    videos: tuple[VideoWindows, ...]
    rows: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def window(self, item: int) -> tuple[VideoWindows, int]:
        """The video and window index of item ``item``."""
        video, index = self.rows[item]
        return self.videos[int(video)], int(index)


def face_array(record: Any, store: str = "the store") -> str:
    """The face array a store holds (``face`` before ``face_gray``); a one-line error naming
    the build that adds it when it holds none."""
    for name in FACE_ARRAYS:
        if name in record.held:
            return name
    held = ",".join(record.held)
    raise UsageError(
        f"{store} holds no face stream (features: {held}); add it with mepipe build --dataset {record.dataset or '...'} "
        f"--root ... --out {store} --arrays {held},face"
    )


def face_windows(
    store: str,
    videos: Sequence[int] | np.ndarray | None = None,
    length: int = 16,
    stride: int = 4,
    types: Sequence[str] = TYPES,
    array: str | None = None,
) -> WindowIndex:
    """The windows of a spotting store's face stream.

    Parameters
    ----------
    store : str
        A spotting store holding ``face`` or ``face_gray``.
    videos : sequence of int, optional
        Positions along the ``video`` axis of :func:`mepipe.dataset.open_spotting` (the
        built videos, a fold of :func:`mepipe.dataset.loso_splits`); default: all.
    length, stride : int
        Frames per window and between window starts (kept frames).
    types : sequence of str
        The interval types labelled, one column each.
    array : str, optional
        ``face`` or ``face_gray``; default: the one the store holds (``face`` first).
    """
    store = str(store)
    root = open_spotting_store(store)
    record = spotting_record(root)
    array = array or face_array(record, store)
    if array not in FACE_ARRAYS or array not in record.held:
        raise UsageError(f"{store}: no face array {array!r}; it holds {', '.join(record.held)}")
    unknown = sorted(set(types) - set(TYPES))
    if unknown or not types:
        raise UsageError(f"types must be among {', '.join(TYPES)}, not {', '.join(unknown) or 'none'}")
    built = built_videos(root, record)
    chosen = range(len(built)) if videos is None else [int(v) for v in videos]
    intervals = [i for i in read_intervals(root) if i.type in types]
    found: list[VideoWindows] = []
    rows = []
    for position in chosen:
        name, group = built[position]
        numbers = np.asarray(group["numbers"][:], dtype=np.int64)
        own = tuple(i for i in intervals if i.video == name)
        starts = window_starts(len(numbers), length, stride)
        overlap, label = window_overlap(numbers, starts, length, own, types)
        attrs = group.attrs
        rows += [(len(found), w) for w in range(len(starts))]
        found.append(
            VideoWindows(name, str(attrs["subject"]), float(attrs["fps"]), numbers, starts, overlap, label, own)
        )
    table = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
    return WindowIndex(store, array, length, stride, tuple(types), tuple(found), table)
