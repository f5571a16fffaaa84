"""The face stream of a spotting store: every kept frame's face, for video backbones.

The field's spotters since MEGC 2023 (VideoMAE / VideoMAE V2 with adapters, ActionFormer
and TriDet heads; docs/face-streams.md) read the aligned face frames themselves in sliding
windows, not flow. Two per-frame features store them, from the video's one face track (the
segment that cuts the flow's crop), both ``needs="frame"`` (no flow is solved for them)
and not in the default set:

* ``face``: uint8 ``(128, 128, 3)`` RGB;
* ``face_gray``: uint8 ``(128, 128)``: a third of ``face``'s bytes for a colour release
  read in gray (on a gray release such as SAMM Long Videos, ``face``'s three equal
  channels compress to about the same size: 15 and 13 MB per 1,000 frames).

The side is :data:`FACE_SIDE`, 128: the flow's crop side (SOFTNet's, so a face row and
the flow rows of that frame share their pixel grid and the landmarks' crop coordinates),
enough for the 112 px input of R(2+1)D / X3D-S style backbones by a crop and upsampled
for VideoMAE's 224 by the reader (:class:`mepipe.dataset.FaceWindows`), at a third of the
bytes of a 224 px stream. ``--fps`` resampling applies, as to every per-frame feature:
one row per kept frame.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mepipe.arrays.perframe import PairInput, PerFrameFeature
from mepipe.arrays.registry import ArraySpec

#: the side of the stored face (see the module's docstring)
FACE_SIDE = 128
#: the face arrays' dimension names (not ``y, x``: the region images' are 42 px)
FACE_DIMS = ("face_y", "face_x")


def _face(pair: PairInput) -> dict[str, np.ndarray]:
    face = pair.face(FACE_SIDE, colour=True)
    return {} if face is None else {"face": face}


def _face_gray(pair: PairInput) -> dict[str, np.ndarray]:
    face = pair.face(FACE_SIDE, colour=False)
    return {} if face is None else {"face_gray": face}


def face_picture(rows: Mapping[str, np.ndarray]) -> np.ndarray:
    """The stored face itself, RGB."""
    return np.ascontiguousarray(rows["face"])


def face_gray_picture(rows: Mapping[str, np.ndarray]) -> np.ndarray:
    """The stored gray face as RGB."""
    return np.repeat(np.asarray(rows["face_gray"])[..., None], 3, axis=2)


FACE = PerFrameFeature(
    "face",
    (ArraySpec("face", "uint8", (FACE_SIDE, FACE_SIDE, 3), (*FACE_DIMS, "rgb"), fill=0),),
    "frame",
    _face,
    "the face of every kept frame, 128 x 128 RGB, for video backbones (docs/face-streams.md)",
    thumbnail=face_picture,
)
FACE_GRAY = PerFrameFeature(
    "face_gray",
    (ArraySpec("face_gray", "uint8", (FACE_SIDE, FACE_SIDE), FACE_DIMS, fill=0),),
    "frame",
    _face_gray,
    "the face of every kept frame, 128 x 128 gray",
    thumbnail=face_gray_picture,
)
