"""Reading a store's per-sample fields and the checksums of its images as they are now."""

from __future__ import annotations

from collections import Counter

import numpy as np
import zarr

from mepipe.arrays import derived_arrays, get_set
from mepipe.store.schema import (
    OK,
    OUTCOME_FIELDS,
    SHEET_FIELDS,
    checksum,
    image_names,
    is_image,
    per_sample_arrays,
    read_array,
)


def detect_step_counts(group: zarr.Group) -> dict[str, int]:
    """How many ``ok`` samples each detection step found the face of, most first; empty
    for a store without the ``detect_step`` array."""
    if "detect_step" not in group:
        return {}
    ok = read_array(group, "status") == OK
    return dict(Counter(str(step) for step in read_array(group, "detect_step")[ok]).most_common())


def as_str(values: np.ndarray) -> np.ndarray:
    """Strings as NumPy ``str_``: zarr 3 returns the variable-width StringDType, which
    neither casts to ``"U"`` nor is understood by every library."""
    if values.dtype.kind in "TO":
        return np.array(values.tolist(), dtype=str).reshape(values.shape)
    return values


def read_fields(group: zarr.Group) -> dict[str, np.ndarray]:
    """Every per-sample array that is not an image, read into memory (strings as ``str_``)."""
    return {name: as_str(read_array(group, name)) for name in per_sample_arrays(group) if not is_image(name)}


def read_columns(group: zarr.Group) -> dict[str, np.ndarray]:
    """All 1-D per-sample arrays of a store, read into memory (fields added to the schema
    later are absent from older stores)."""
    return {name: read_array(group, name) for name in (*SHEET_FIELDS, *OUTCOME_FIELDS) if name in group}


def sample_checksum(group: zarr.Group, index: int) -> str:
    """Checksum of a sample's images as they are on disk now (what ``checksum`` covers)."""
    derived = derived_arrays()
    return checksum({name: read_array(group, name, index) for name in image_names(group) if name not in derived})


def set_checksum(group: zarr.Group, index: int, name: str) -> str:
    """Checksum of a sample's arrays of the derived set ``name`` as they are on disk now."""
    return checksum({spec.name: read_array(group, spec.name, index) for spec in get_set(name).arrays})
