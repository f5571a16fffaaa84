"""A long video's face cut from a frame on disk at a side of the caller's choosing, in
colour or gray: what the face stream (:mod:`mepipe.arrays.face`) stores.

The flow's crop (:meth:`mepipe.imaging.track.Segment.cut`) decodes every frame gray at full
resolution, as SOFTNet does; the face stream needs no more pixels than its side, so the
frame is decoded at the largest JPEG DCT reduction (1, 2, 4, 8) that keeps the face box at
least ``side`` pixels wide (:func:`mepipe.imaging.track.decode_factor`), in the colour
asked for, and the box's pixels are resized to ``side x side`` by area averaging. A SAMM
Long Videos frame (2040 x 1088, the face ~700 px wide) is then decoded at a quarter of
its size for a 128 px face; other formats than JPEG are decoded whole and reduced.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from mepipe.imaging.track import Segment, decode_factor

#: the reduced colour and gray reads, by DCT factor
_COLOUR = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}
_GRAY = {
    1: cv2.IMREAD_GRAYSCALE,
    2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
    4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
    8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
}


def face_crop(path: Path | str, segment: Segment, side: int, colour: bool = True) -> np.ndarray | None:
    """``segment``'s face box of the frame at ``path`` as uint8 ``(side, side, 3)`` RGB
    (``colour``) or ``(side, side)`` gray; ``None`` if the frame is unreadable.

    The box is the face track's (clipped to the frame), stretched onto the square as the
    flow's crop is; the frame is decoded at the DCT reduction that keeps the box at least
    ``side`` pixels across.
    """
    left, top, right, bottom = (int(v) for v in segment.box)
    factor = decode_factor(min(right - left, bottom - top), side)
    image = cv2.imread(str(path), (_COLOUR if colour else _GRAY)[factor])
    if image is None:
        return None
    height, width = image.shape[:2]
    x0, y0 = min(max(left, 0) // factor, width - 1), min(max(top, 0) // factor, height - 1)
    x1, y1 = max(min(-(-right // factor), width), x0 + 1), max(min(-(-bottom // factor), height), y0 + 1)
    face = image[y0:y1, x0:x1]
    shrink = face.shape[1] >= side and face.shape[0] >= side
    face = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return np.ascontiguousarray(face[..., ::-1]) if colour else face
