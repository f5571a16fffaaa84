"""The STSTNet family's inputs from a store: its 28 x 28 u, v, strain images, framed and
named as the published files are (wangzhifengharrison/HTNet ``datasets/``).

* :func:`ststnet_image` turns one sample's stored flow and strain (and, for the published
  framing, its stored landmarks and transform) into the uint8 28 x 28 RGB image; the
  export (:mod:`mepipe.dataset.export`) and the trainers use it.
* :func:`framing_box` is the square cut from the stored maps: the published framing puts
  the eye centres :data:`EYE_SHARE` of the side apart, the eye midpoint at
  (0.5, :data:`EYE_HEIGHT`) of the side, whatever window the store was built with.
* Borders (:func:`border_mask`): pixels whose source lies outside the frame (0 in every
  aligned frame, so TV-L1 fills them by smoothing from the face's edge) and a band along
  the stored map's own edges (one-sided derivatives, the solver's
  boundary) carry no measurement of the face, yet their strain can be the map's largest and
  then sets the blue channel's 0..255 scale. Their u, v and strain are replaced by those of
  the nearest pixel outside them before the resize, so they neither set the scale nor
  show as a frame. The band is two 28 px pixels wide (the outside pixels are grown by as
  much).
* :func:`published_names`: the names the published table gives a sample (member dataset,
  ``sub``, ``filename_o``, ``imagename``), from the packaged
  ``mepipe/data/megc2019/combined_3_class2_for_optical_flow.csv``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from functools import cache
from importlib import resources

import cv2
import numpy as np

from mepipe.imaging.align import to_output

#: side of the STSTNet family's flow images, and of the published apex crops
STSTNET_SIZE, APEX_SIZE = 28, 224
#: ``--framing``: as the published files (the default), or the store's own window
FRAMINGS = ("published", "store")
#: eye centres' distance as a share of the side in the published apex crops (dlib on 431 of
#: the 442, ``python -m bench.fidelity``: median 0.527, p10-p90 0.44-0.58)
EYE_SHARE = 0.52
#: the eye midpoint's height as a share of the side there (median 0.278, p10-p90 0.26-0.39;
#: its width share is 0.494, the middle)
EYE_HEIGHT = 0.28
#: the published sample table, packaged
TABLE = "data/megc2019/combined_3_class2_for_optical_flow.csv"


def framing_box(
    landmarks: np.ndarray | None, transform: np.ndarray | None, size: int, framing: str = "published"
) -> tuple[int, int, int] | None:
    """The square ``(x0, y0, side)`` of a stored ``size`` map that frames the face as published.

    Parameters
    ----------
    landmarks : np.ndarray or None
        The stored 68 landmarks (source pixels).
    transform : np.ndarray or None
        The stored ``(2, 3)`` source->output transform.
    size : int
        Side of the stored maps.
    framing : str
        ``published`` or ``store`` (:data:`FRAMINGS`).

    Returns
    -------
    tuple of int or None
        ``None`` where the whole map is kept: ``store`` framing, or no landmarks (a
        registered crop without a face found). A box reaching past the map is moved
        inside it (and shrunk to the map where larger).
    """
    if framing not in FRAMINGS:
        raise ValueError(f"framing must be one of {', '.join(FRAMINGS)}, not {framing!r}")
    if framing == "store" or landmarks is None or transform is None:
        return None
    points = to_output(landmarks, transform)
    if not np.isfinite(points).all():
        return None
    left, right = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    side = min(size, int(round(np.hypot(*(right - left)) / EYE_SHARE)))
    middle = (left + right) / 2
    x0 = int(round(middle[0] - 0.5 * side))
    y0 = int(round(middle[1] - EYE_HEIGHT * side))
    return min(max(x0, 0), size - side), min(max(y0, 0), size - side), side


def border_mask(size: int, band: int, transform: np.ndarray | None, frame_size: Sequence[int] | None) -> np.ndarray:
    """bool ``(size, size)``: the band of ``band`` pixels along the map's edges and the
    pixels whose source lies outside the frame (grown by ``band``)."""
    mask = np.zeros((size, size), np.uint8)
    if transform is not None and frame_size is not None and np.isfinite(transform).all() and min(frame_size) > 0:
        height, width = (int(v) for v in frame_size)
        inverse = cv2.invertAffineTransform(np.asarray(transform, np.float64))
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
        sx = inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]
        sy = inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]
        # warpAffine reads pixel centres 0..W-1: beyond, bilinear weights reach the 0 fill
        mask[(sx < 0) | (sy < 0) | (sx > width - 1) | (sy > height - 1)] = 1
        if band > 0 and mask.any():
            mask = cv2.dilate(mask, np.ones((2 * band + 1, 2 * band + 1), np.uint8))
    if band > 0:
        mask[:band], mask[-band:], mask[:, :band], mask[:, -band:] = 1, 1, 1, 1
    return mask.astype(bool)


def nearest_fill(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``values`` with each pixel of ``mask`` replaced by the nearest pixel's outside it."""
    if not mask.any() or mask.all():
        return values
    # each pixel's label is that of its nearest pixel outside the mask (a zero of the input)
    _, labels = cv2.distanceTransformWithLabels(mask.astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    by_label = np.zeros((int(labels.max()) + 1, *values.shape[2:]), values.dtype)
    by_label[labels[~mask]] = values[~mask]
    return by_label[labels]


def ststnet_image(
    flow: np.ndarray,
    strain: np.ndarray,
    landmarks: np.ndarray | None = None,
    transform: np.ndarray | None = None,
    frame_size: Sequence[int] | None = None,
    framing: str = "published",
    size: int = STSTNET_SIZE,
) -> np.ndarray:
    """The STSTNet family's input from one sample's stored flow and strain.

    Parameters
    ----------
    flow, strain : np.ndarray
        The stored ``(S, S, 2)`` flow and ``(S, S)`` strain.
    landmarks, transform, frame_size : np.ndarray, optional
        The sample's stored ``landmarks``, ``transform`` and ``frame_size``: the published
        framing (:func:`framing_box`) and the pixels whose source lies outside the frame
        (:func:`border_mask`) are found from them; without them the whole map is used and
        only its edge band is treated.
    framing : str
        ``published`` or ``store``.
    size : int
        Output side.

    Returns
    -------
    np.ndarray
        uint8 ``(size, size, 3)`` RGB: red, green, blue are u, v and strain, each cut to
        the framing box, its border pixels filled from the nearest face pixel, resized by
        area interpolation and min-max scaled to 0..255 on its own, as the published files
        are (a constant map is 0).
    """
    side = flow.shape[0]
    maps = np.dstack([np.nan_to_num(flow.astype(np.float32)), np.nan_to_num(strain.astype(np.float32))])
    box = framing_box(landmarks, transform, side, framing)
    x0, y0, cut = box if box is not None else (0, 0, side)
    # two output pixels: one left synthetic and real maps' maxima on the outer ring in up to
    # a third of the store-framed maps (hair and backdrop at the window's top corners)
    band = 2 * max(1, int(np.ceil(cut / size)))
    maps = nearest_fill(maps, border_mask(side, band, transform, frame_size))[y0 : y0 + cut, x0 : x0 + cut]
    small = cv2.resize(maps, (size, size), interpolation=cv2.INTER_AREA)
    image = np.empty((size, size, 3), np.uint8)
    for channel in range(3):
        values = small[..., channel]
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
        image[..., channel] = np.round(scaled).astype(np.uint8)
    return image


def apex_image(apex: np.ndarray, box: tuple[int, int, int] | None, size: int = APEX_SIZE) -> np.ndarray:
    """The aligned apex frame cut to ``box`` (:func:`framing_box`) at ``size`` x ``size``, as
    the published ``combined_datasets_whole`` crops are."""
    x0, y0, cut = box if box is not None else (0, 0, apex.shape[0])
    face = apex[y0 : y0 + cut, x0 : x0 + cut]
    shrink = cut > size
    resized = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    return resized.reshape(size, size, -1)


@cache
def published_table() -> dict[tuple[str, str, str], str]:
    """``(dataset, sub, filename_o) -> imagename`` of the published table."""
    text = resources.files("mepipe").joinpath(TABLE).read_text(encoding="utf-8")
    return {(r["dataset"], r["sub"], r["filename_o"]): r["imagename"] for r in csv.DictReader(io.StringIO(text))}


def published_names(dataset: str, subject: str, clip: str) -> tuple[str, str, str, str]:
    """``(dataset, sub, filename_o, imagename)`` of a sample of a store of ``dataset``.

    A composite store's subjects are ``<member>/<subject>``: the member is the row's
    dataset. ``imagename`` is the published table's for a sample it lists (SMIC's are
    not ``sub_filename_o``), ``<sub>_<filename_o>.jpg`` otherwise.
    """
    member, _, sub = subject.rpartition("/")
    member = member or dataset
    name = published_table().get((member, sub, clip), f"{sub}_{clip}.jpg")
    return member, sub, clip, name


_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_DECIMAL = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def as_pandas_reads(column: Sequence[str]) -> list[str]:
    """The strings ``str(value)`` gives for a CSV column read by ``pandas.read_csv`` with
    its default type inference: a column of integers only becomes int64 (SAMM's ``006``
    is read ``6``), one of numbers float64 (``2`` is read ``2.0``), any other stays text.
    The STSTNet family builds file names so."""
    if column and all(_INTEGER.fullmatch(value) for value in column):
        return [str(int(value)) for value in column]
    if column and all(_DECIMAL.fullmatch(value) for value in column):
        return [str(float(value)) for value in column]
    return list(column)
