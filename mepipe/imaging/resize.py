"""Registered crops resized whole to the output square (``--crop release``, docs/crops.md).

Releases that ship their own cropped, registered faces (CASME-II ``Cropped``, SMIC
``SMIC_all_cropped``) are fed to models resized as they are, the aspect not kept (meb,
MMNet: ``Resize((224, 224))``); ``keep_aspect`` pads the short side instead. Nothing is
re-aligned: the one geometric record is the resize's own matrix, in the
``cv2.warpAffine`` convention the aligned builds store, so the report measures both
kinds of store alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from mepipe.imaging.align import plain_image


def resize_geometry(
    frame_size: tuple[int, int], size: int, keep_aspect: bool = False
) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """Where a frame lands in the ``size x size`` output.

    Parameters
    ----------
    frame_size : (int, int)
        Source ``(height, width)``.
    size : int
        Output side.
    keep_aspect : bool
        Fit the long side and centre the frame, the rest left 0, instead of stretching.

    Returns
    -------
    matrix : np.ndarray
        float64 ``(2, 3)`` source-to-output transform (pixel centres: pixel ``i`` covers
        ``[i - 0.5, i + 0.5]``, as ``cv2.resize`` samples).
    shape : (int, int)
        ``(width, height)`` of the resized frame.
    offset : (int, int)
        ``(x, y)`` of its top-left pixel in the output.
    """
    height, width = frame_size
    if keep_aspect:
        scale = size / max(height, width)
        shape = (max(1, round(width * scale)), max(1, round(height * scale)))
    else:
        shape = (size, size)
    offset = ((size - shape[0]) // 2, (size - shape[1]) // 2)
    sx, sy = shape[0] / width, shape[1] / height
    matrix = np.array([[sx, 0.0, 0.5 * sx - 0.5 + offset[0]], [0.0, sy, 0.5 * sy - 0.5 + offset[1]]], dtype=np.float64)
    return matrix, shape, offset


#: cvtColor codes from a resized frame to the output, by (BGR source, gray output)
_CONVERT = {(True, False): cv2.COLOR_BGR2RGB, (True, True): cv2.COLOR_BGR2GRAY, (False, True): cv2.COLOR_RGB2GRAY}


def resize_clip(
    frames: np.ndarray | Sequence[np.ndarray],
    size: int,
    keep_aspect: bool = False,
    gray: bool = False,
    bgr: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Resize every frame of a clip whole to ``size x size``.

    Area averaging where the frame shrinks (as the field's PIL resize antialiases),
    bilinear where it grows.

    Parameters
    ----------
    frames : np.ndarray or sequence of np.ndarray
        uint8 ``(T, H, W, 3)`` RGB, or ``(T, H, W)`` / ``(T, H, W, 1)`` gray, all of one size.
    size : int
        Output side.
    keep_aspect : bool
        Pad instead of stretching (see :func:`resize_geometry`).
    gray : bool
        Write one channel instead of three (gray frames are replicated to three).
    bgr : bool
        Colour frames come in OpenCV's BGR order; the output is RGB all the same.

    Returns
    -------
    frames : np.ndarray
        uint8 ``(T, size, size, 1 or 3)``.
    matrix : np.ndarray
        The ``(2, 3)`` source-to-output transform.
    """
    first = plain_image(frames[0])
    matrix, shape, (x, y) = resize_geometry(first.shape[:2], size, keep_aspect)
    shrink = shape[0] <= first.shape[1] and shape[1] <= first.shape[0]
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    out = np.zeros((len(frames), size, size, 1 if gray else 3), dtype=np.uint8)
    for index in range(len(frames)):
        frame = first if index == 0 else plain_image(frames[index])
        small = cv2.resize(frame, shape, interpolation=interpolation)
        dst = out[index, y : y + shape[1], x : x + shape[0]]
        if small.ndim == 2:
            dst[...] = small[..., None]  # gray: one channel, or replicated to three
        elif (bgr, gray) in _CONVERT:
            converted = cv2.cvtColor(small, _CONVERT[bgr, gray])
            dst[...] = converted[..., None] if gray else converted
        else:
            dst[...] = small
    return out, matrix
