"""``landmarks_aligned``: dlib's 68 onset landmarks in output pixels.

The stored onset ``landmarks`` (source pixels) mapped by the stored ``transform``
(:func:`mepipe.imaging.align.to_output`): ``x' = M @ [x, y, 1]``. Patch-based models
(HTNet, MEAN) cut their regions around them.
"""

from __future__ import annotations

import numpy as np

from mepipe.arrays.registry import AlignedClip, ArraySet, ArraySpec, Computed
from mepipe.errors import SampleError


def _compute(clip: AlignedClip) -> Computed:
    # dlib is loaded where a set is computed, not where a store is read
    from mepipe.imaging.align import to_output

    if clip.transform is None or clip.landmarks is None:
        raise SampleError("no alignment to map the landmarks with")
    return Computed({"landmarks_aligned": to_output(clip.landmarks, clip.transform).astype(np.float32)})


LANDMARKS_ALIGNED = ArraySet(
    "landmarks_aligned",
    (ArraySpec("landmarks_aligned", "float32", (68, 2), ("landmark", "xy"), fill=np.nan),),
    frames=lambda span: (),
    compute=_compute,
    summary="dlib's 68 onset landmarks in output pixels",
)
