"""A spotting store read by other code: an xarray view, SOFTNet's windows and their
pseudo-labels.

``open_spotting(store)`` is lazy (dask arrays over the zarr chunks): videos of different
lengths are padded to the longest along ``frame`` (NaN, ``valid`` False, ``number`` -1).
Its folds are :func:`mepipe.dataset.loso_splits`'s, over the ``video`` axis (the one fold
function of both kinds of store, keyed by the split column).
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from mepipe.arrays.perframe import get_feature
from mepipe.store.spotting import (
    LABELS,
    VideoRecord,
    built_videos,
    open_spotting_store,
    read_intervals,
    spotting_record,
)

#: the channels of the region images
CHANNELS = ("u", "v", "strain")
_PADDING = {"valid": False, "face_lost": False, "unreadable": False, "label_type": 0, "label_interval": -1}


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
    (:data:`mepipe.arrays.pairs.REGIONS`), ``axis`` (x, y), ``y``, ``x``, ``channel``
    (u, v, strain). Coordinates: ``video`` (names), ``subject``, ``k``, ``fps`` per video;
    ``number`` (video, frame), the release's own frame numbers. Data: the store's arrays
    (see :mod:`mepipe.store.spotting`; one variable per array of the store's
    per-frame features); the intervals are in ``attrs["intervals"]`` as
    records (also :func:`mepipe.store.spotting.read_intervals`).

    Only videos that were built (``status`` ok) are included.
    """
    root = open_spotting_store(store)
    record = spotting_record(root)
    built = built_videos(root, record)
    names, groups = [n for n, _ in built], [g for _, g in built]
    length = max((g["numbers"].shape[0] for g in groups), default=0)
    data: dict[str, Any] = {}
    variables: dict[str, tuple[str, ...]] = {"label_type": (), "label_interval": ()}
    for feature in record.held:
        variables.update({spec.name: spec.dims for spec in get_feature(feature).arrays})
    for name, extra in variables.items():
        floats = not groups or np.dtype(groups[0][name].dtype).kind == "f"
        fill = _PADDING.get(name, np.nan if floats else 0)
        stacked = da.stack([_padded(g[name], length, fill) for g in groups]) if groups else np.zeros((0, 0))
        data[name] = (("video", "frame", *extra), stacked)
    numbers = np.full((len(groups), length), -1, dtype=np.int64)
    for row, g in enumerate(groups):
        numbers[row, : g["numbers"].shape[0]] = g["numbers"][:]
    about = [VideoRecord.from_attrs(g.attrs) for g in groups]
    coords = {
        "video": names,
        "subject": ("video", [a.subject for a in about]),
        "k": ("video", [a.k for a in about]),
        "fps": ("video", [a.fps for a in about]),
        "number": (("video", "frame"), numbers),
        "region": list(record.regions),
        "axis": ["x", "y"],
        "channel": list(CHANNELS),
    }
    dataset = xr.Dataset(data, coords=coords)
    dataset.attrs.update({"settings": record.settings, "labels": list(LABELS), "intervals": read_intervals(root)})
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
