"""``sequence``: T aligned frames of the span, for models that read clips.

The frames at positions ``round(linspace(0, n - 1, T))`` of the span's ``n`` frames (meb's
and pytorchvideo's uniform subsample), ``T = --sequence-frames``; only those are decoded
when nothing else needs the span.
"""

from __future__ import annotations

import numpy as np

from mepipe.arrays.registry import AlignedClip, ArraySet, ArraySpec, Computed, Span


def sequence_numbers(numbers: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` frame numbers of a span (its ``numbers``, in order) that ``sequence``
    holds: positions ``round(linspace(0, n - 1, count))``, the uniform subsample of meb
    and pytorchvideo (NumPy's rounding, half to even); a span shorter than ``count``
    repeats frames."""
    numbers = np.asarray(numbers)
    return numbers[np.round(np.linspace(0, len(numbers) - 1, count)).astype(np.int64)]


def _picked(span: Span) -> np.ndarray:
    return sequence_numbers(span.known_between(span.lo, span.hi), int(span.options["sequence_frames"]))


def _compute(clip: AlignedClip) -> Computed:
    return Computed({"sequence": np.stack([clip.frame(int(n)) for n in _picked(clip)])})


SEQUENCE = ArraySet(
    "sequence",
    (
        ArraySpec(
            "sequence", "uint8", ("sequence_frames", "size", "size", "channels"), ("t", "y", "x", "channel"), fill=0
        ),
    ),
    frames=lambda span: (int(n) for n in _picked(span)),
    compute=_compute,
    summary="T aligned frames of the span (--sequence-frames)",
    options=("sequence_frames",),
)
