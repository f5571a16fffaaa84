"""Geometry arrays of a test store overwritten by hand with values a test controls.

Builds write ``transform``, ``landmarks``, ``frame_size`` and ``detect_step`` themselves;
the quality flags' constructed cases need exact, known values instead (a window half past
the frame, a fallback detection step).
"""

from __future__ import annotations

import numpy as np

from mepipe.imaging.align import aligned_landmarks
from mepipe.store.layout import consolidate, drop_consolidated

#: source -> output transform of every sample: source pixel (100, 100) lands on output
#: (0, 0) at half scale, so a 64 px output window covers source 100..228
TRANSFORM = np.array([[0.5, 0.0, -50.0], [0.0, 0.5, -50.0]])
#: a frame that holds that window whole
FRAME_SIZE = (400, 400)


def source_landmarks(onset: np.ndarray) -> np.ndarray:
    """Landmarks of an aligned onset frame, mapped back to source pixels by TRANSFORM."""
    return (aligned_landmarks(onset) - TRANSFORM[:, 2]) / TRANSFORM[0, 0]


def add_geometry(store: str, **overrides: dict[int, object]) -> None:
    """Write the four geometry arrays into ``store``, one chunk per sample.

    Every sample gets TRANSFORM, FRAME_SIZE, detection step ``scaled`` and the landmarks
    of its own stored onset; ``overrides`` replaces single samples' values, e.g.
    ``frame_size={3: (164, 400)}``.
    """
    # the arrays change under the store's consolidated metadata: drop it, then refresh it
    group = drop_consolidated(store)
    n = group["status"].shape[0]
    onsets = group["onset"][:]
    values = {
        "transform": np.repeat(TRANSFORM[None], n, axis=0),
        "landmarks": np.stack([source_landmarks(o) for o in onsets]).astype(np.float32),
        "frame_size": np.repeat(np.array(FRAME_SIZE, np.int32)[None], n, axis=0),
        "detect_step": np.array(["scaled"] * n, dtype=str),
    }
    for name, changes in overrides.items():
        for index, value in changes.items():
            values[name][index] = value
    for name, array in values.items():
        chunks = (1, *array.shape[1:])
        dtype = str if name == "detect_step" else array.dtype
        created = group.create_array(
            name,
            shape=array.shape,
            chunks=chunks,
            dtype=dtype,
            dimension_names=("sample", *[f"{name}_{i}" for i in range(array.ndim - 1)]),
            overwrite=True,
        )
        created[:] = array
    consolidate(store)
