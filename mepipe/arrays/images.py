"""The dynamic images and the aligned onset and apex frames: ``trdi``, ``midi``, ``onset``,
``apex``.

TRDI is the approximate rank pooling of the span's aligned frames in time order, MIDI the
same after ordering them by motion intensity (:func:`mepipe.imaging.rankpool.dynamic_images`,
``docs/method.md``), both min-max scaled to uint8; with ``keep_raw`` the float32 images
are kept too (``trdi_raw``, ``midi_raw``). These are the store mepipe always wrote: base
sets, created with a store only and covered by its ``checksum`` field.
"""

from __future__ import annotations

import numpy as np

from mepipe.arrays.registry import AlignedClip, ArraySet, ArraySpec, Computed, Span
from mepipe.errors import SampleError

#: one sample's image shape and dimension names
_SHAPE: tuple[int | str, ...] = ("size", "size", "channels")
_DIMS = ("y", "x", "channel")


def _image(name: str) -> ArraySpec:
    return ArraySpec(name, "uint8", _SHAPE, _DIMS, fill=0)


def _raw(name: str) -> ArraySpec:
    return ArraySpec(f"{name}_raw", "float32", _SHAPE, _DIMS, fill=0.0, when="keep_raw")


def _span(span: Span) -> range:
    return range(span.lo, span.hi + 1)


def _pooled(clip: AlignedClip) -> tuple[np.ndarray, np.ndarray]:
    """TRDI and MIDI of the span (float32), pooled once for both sets."""
    # numba is loaded where a set is computed, not where a store is read
    from mepipe.imaging import rankpool

    def pool() -> tuple[np.ndarray, np.ndarray]:
        frames = clip.frames_between(clip.lo, clip.hi)
        if len(frames) < 2:
            raise SampleError(
                f"span {clip.options['span']} holds {len(frames)} frame(s) ({clip.lo}..{clip.hi}); "
                "rank pooling needs at least 2"
            )
        trdi, midi, _ = rankpool.dynamic_images(
            frames,
            reference=clip.options["motion_reference"],
            descending=clip.options["motion_descending"],
            sigma=clip.options["motion_sigma"],
        )
        return trdi, midi

    return clip.once("dynamic_images", pool)


def _dynamic(which: int, name: str) -> ArraySet:
    def compute(clip: AlignedClip) -> Computed:
        from mepipe.imaging import rankpool

        image = _pooled(clip)[which]
        return Computed({name: rankpool.to_uint8(image), f"{name}_raw": image})

    return ArraySet(
        name,
        (_image(name), _raw(name)),
        frames=_span,
        compute=compute,
        summary=f"{name.upper()}: the span's dynamic image ({'time' if which == 0 else 'motion'} order)",
        base=True,
    )


TRDI = _dynamic(0, "trdi")
MIDI = _dynamic(1, "midi")


def _frame(name: str) -> ArraySet:
    """The aligned frame the span names ``name`` (``onset`` or ``apex``), as a base set."""

    def compute(clip: AlignedClip) -> Computed:
        return Computed({name: clip.frame(getattr(clip, name))})

    return ArraySet(
        name,
        (_image(name),),
        frames=lambda span: (int(getattr(span, name)),),
        compute=compute,
        summary=f"the aligned {name} frame",
        base=True,
    )


ONSET = _frame("onset")
APEX = _frame("apex")
