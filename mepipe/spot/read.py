"""Reading a spotting store: an xarray view, SOFTNet's windows and their pseudo-labels,
leave-one-subject-out folds.

``open_spotting(store)`` is lazy (dask arrays over the zarr chunks): videos of different
lengths are padded to the longest along ``frame`` (NaN, ``valid`` False, ``number`` -1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
import zarr

from mepipe.errors import UsageError

from .store import LABELS, read_intervals

#: the channels of the region images
CHANNELS = ("u", "v", "strain")
#: per-frame arrays of a video group, and their dimensions after ``frame``
_VARIABLES: dict[str, tuple[str, ...]] = {
    "region_motion": ("region",),
    "face_motion": (),
    "head_motion": ("axis",),
    "images": ("y", "x", "channel"),
    "valid": (),
    "face_lost": (),
    "unreadable": (),
    "label_type": (),
    "label_interval": (),
}
_PADDING = {"valid": False, "face_lost": False, "unreadable": False, "label_type": 0, "label_interval": -1}


def is_spotting_store(store: str) -> bool:
    """Whether ``store`` is a spotting store (``mepipe report``/``verify`` dispatch on it)."""
    try:
        group: Any = zarr.open_group(str(store), mode="r")
    except Exception:  # not a zarr group at all: the clip commands say what is wrong
        return False
    return "mepipe_spotting" in group.attrs


def open_spotting_store(path: str | Path) -> Any:
    """The root group of the spotting store at ``path`` (:mod:`mepipe.spot.store`), read-only.

    Raises
    ------
    UsageError
        ``path`` is not a spotting store.
    """
    try:
        root: Any = zarr.open_group(str(path), mode="r")
    except (FileNotFoundError, zarr.errors.GroupNotFoundError):
        raise UsageError(f"{path}: not a zarr store") from None
    if "mepipe_spotting" not in root.attrs:
        raise UsageError(
            f"{path}: not a spotting store (no mepipe_spotting record); "
            "build one with mepipe build --dataset <long-video recipe>"
        )
    return root


def _padded(array: Any, length: int, fill: Any) -> da.Array:
    lazy = da.from_zarr(array)
    missing = length - lazy.shape[0]
    if missing:
        pad = da.full(
            (missing, *lazy.shape[1:]), fill, dtype=lazy.dtype, chunks=(min(missing, array.chunks[0]), *lazy.shape[1:])
        )
        lazy = da.concatenate([lazy, pad])
    return lazy


def open_spotting(store: str) -> xr.Dataset:
    """A spotting store as one lazy ``xarray.Dataset``.

    Dimensions: ``video``, ``frame`` (position among the video's kept frames), ``region``
    (:data:`mepipe.spot.features.REGIONS`), ``axis`` (x, y), ``y``, ``x``, ``channel``
    (u, v, strain). Coordinates: ``video`` (names), ``subject``, ``k``, ``fps`` per video;
    ``number`` (video, frame), the release's own frame numbers. Data: the store's arrays
    (see :mod:`mepipe.spot.store`); the intervals are in ``attrs["intervals"]`` as
    records (also :func:`mepipe.spot.store.read_intervals`).

    Only videos that were built (``status`` ok) are included.
    """
    root = open_spotting_store(store)
    meta = dict(root.attrs["mepipe_spotting"])
    names = [
        n for n in meta.get("videos", []) if f"videos/{n}" in root and root[f"videos/{n}"].attrs.get("status") == "ok"
    ]
    groups = [root[f"videos/{n}"] for n in names]
    length = max((g["numbers"].shape[0] for g in groups), default=0)
    data: dict[str, Any] = {}
    for name, extra in _VARIABLES.items():
        fill = _PADDING.get(name, np.nan)
        stacked = da.stack([_padded(g[name], length, fill) for g in groups]) if groups else np.zeros((0, 0))
        data[name] = (("video", "frame", *extra), stacked)
    numbers = np.full((len(groups), length), -1, dtype=np.int64)
    for row, g in enumerate(groups):
        numbers[row, : g["numbers"].shape[0]] = g["numbers"][:]
    attrs = [dict(g.attrs) for g in groups]
    coords = {
        "video": names,
        "subject": ("video", [a["subject"] for a in attrs]),
        "k": ("video", [a["k"] for a in attrs]),
        "fps": ("video", [a["fps"] for a in attrs]),
        "number": (("video", "frame"), numbers),
        "region": list(meta["regions"]),
        "axis": ["x", "y"],
        "channel": list(CHANNELS),
    }
    dataset = xr.Dataset(data, coords=coords)
    dataset.attrs.update({"settings": meta["settings"], "labels": list(LABELS), "intervals": read_intervals(root)})
    return dataset


def window_labels(numbers: np.ndarray, k: int, intervals: list[Any], valid: np.ndarray) -> np.ndarray:
    """SOFTNet's pseudo-labels: window ``t`` spans frames ``numbers[t]`` to ``numbers[t + k]``;
    it is positive (1) when it overlaps an interval by at least one frame.

    Windows past the video's end or of invalid pairs get -1 (not to be used).
    """
    labels = np.full(len(numbers), -1, dtype=np.int8)
    count = len(numbers) - k
    if count <= 0:
        return labels
    first, last = numbers[:count], numbers[k : k + count]
    positive = np.zeros(count, dtype=bool)
    for interval in intervals:
        positive |= (first <= interval.offset) & (last >= interval.onset)
    labels[:count] = np.where(valid[:count], positive.astype(np.int8), -1)
    return labels


def loso_splits(store: str) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Leave-one-subject-out folds over the videos of a spotting store.

    Every video of a subject is in its test fold, those with no expression too (scoring
    only videos with one inflates results, SOFTNet#3).

    Yields
    ------
    subject : str
        The fold's test subject, in sorted order.
    train_index, test_index : numpy.ndarray of int
        Positions along the ``video`` axis of :func:`open_spotting`.
    """
    subjects = np.asarray(open_spotting(store).subject.values).astype(str)
    for subject in sorted(set(subjects.tolist())):
        yield subject, np.flatnonzero(subjects != subject), np.flatnonzero(subjects == subject)
