"""A new array set, declared in one module: ``apex_difference``, the aligned apex frame
minus the aligned onset frame (float32, signed), as difference-image models read it.

This is the whole of what adding an array set takes (``docs/extending.md`` cites it):
one :class:`~mepipe.arrays.ArraySet` naming its array (dtype, shape, dims, fill), the
frames it needs, how it is computed, its provenance and its report thumbnail. The store,
the build (new stores and finished ones), ``mepipe verify``, :func:`mepipe.dataset.open_dataset`
and ``mepipe report`` then handle it like the built-in sets. A package registers its
sets when it is imported, in every process that builds with them::

    from mepipe.arrays import register
    register(APEX_DIFFERENCE)

``tests/test_extend_arrays.py`` registers it for its own tests only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mepipe.arrays import AlignedClip, ArraySet, ArraySpec, Computed, Thumbnail

FORMULA = "apex - onset, float32, in the aligned frames' units"


def difference(clip: AlignedClip) -> Computed:
    """The aligned apex minus the aligned onset, per pixel and channel."""
    apex = clip.frame(clip.apex).astype(np.float32)
    return Computed({"apex_difference": apex - clip.frame(clip.onset).astype(np.float32)})


def picture(values: np.ndarray) -> tuple[np.ndarray, str]:
    """The magnitude of the difference, brightest at its largest, and that value."""
    magnitude = np.abs(np.nan_to_num(values)).max(axis=-1)
    top = float(magnitude.max())
    scaled = magnitude * (255.0 / top) if top > 0 else magnitude
    return np.round(scaled).astype(np.uint8), f"|apex - onset|, brightest = {top:.0f}"


def provenance(options: Mapping[str, Any]) -> dict[str, Any]:
    return {"apex_difference": {"formula": FORMULA}}


APEX_DIFFERENCE = ArraySet(
    "apex_difference",
    (ArraySpec("apex_difference", "float32", ("size", "size", "channels"), ("y", "x", "channel"), fill=np.nan),),
    frames=lambda span: (span.apex,),
    compute=difference,
    summary="the aligned apex minus the aligned onset",
    provenance=provenance,
    thumbnails=(Thumbnail("apex_difference", picture),),
)
