"""What one pair of a long video's face crops yields: the built-in per-frame features.

From the flow of frame ``t`` to ``t + k`` on the face crop (:mod:`mepipe.imaging.track`),
as the field's spotting code computes it (SOFTNet, MEAN, MDMD; docs/design field.md
section 8): the mean flow of a nose patch subtracted (the head's motion), the optical
strain (:func:`mepipe.imaging.flow.strain`), the eyes masked (:func:`pair_maps`); then

* ``regions``: the brows and the mouth as SOFTNet's and MEAN's ``42 x 42 x 3``
  ``(u, v, strain)`` image (:func:`region_image`);
* ``mdmd``: per region the flow magnitude along the region's main direction, MDMD's
  signal (:func:`main_direction_magnitude`);
* ``motion``: the face's mean flow magnitude (eyes left out) and the head's motion;
* ``cells``: the mean ``(u, v)`` of each ``7 x 7`` cell of the region image, what the
  baseline spotter reads (:func:`cell_flow`; not built by default: the baseline computes
  it from ``regions``);
* ``validity``: whether the pair was computed, and why not (written by the build).

Each is a :class:`~mepipe.arrays.perframe.PerFrameFeature` declared here and registered
by :mod:`mepipe.arrays`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mepipe.arrays.perframe import PairInput, PerFrameFeature
from mepipe.arrays.registry import ArraySpec

if TYPE_CHECKING:
    from mepipe.imaging.track import Segment

# OpenCV and dlib load where a feature is computed or pictured, never where a store is
# only read (tests/test_imports.py): the imaging imports below sit in the functions
#: side of the face crop the flow is computed on (SOFTNet's 128; mepipe.imaging.track.CROP)
CROP = 128

#: side of the stacked region image (SOFTNet, MEAN)
REGION_SIDE = 42
#: the regions of ``region_motion``, in its column order; each is the box around its
#: landmarks (dlib 68-point indices) widened by :data:`_REGION_PAD` of the eye distance
REGIONS: tuple[str, ...] = ("left_brow", "right_brow", "left_mouth", "right_mouth", "mouth", "chin")
_REGION_POINTS: dict[str, tuple[int, ...]] = {
    # image-left brow with the eye below it (the eye itself is masked): SOFTNet's ROI 1
    "left_brow": (17, 18, 19, 20, 21, 36, 37, 38, 39, 40, 41),
    "right_brow": (22, 23, 24, 25, 26, 42, 43, 44, 45, 46, 47),
    "left_mouth": (48, 49, 59, 60, 67),
    "right_mouth": (53, 54, 55, 64, 65),
    "mouth": tuple(range(48, 68)),
    "chin": (7, 8, 9, 57),
}
_REGION_PAD = 0.12
#: the nose patch whose mean flow is the head's motion: around the lower nose bridge
_NOSE_POINTS = (28, 29, 30)
_NOSE_PAD = 0.08
#: the eye outlines masked (set to 0) before anything is cut: blinks are not expressions
_EYES = (tuple(range(36, 42)), tuple(range(42, 48)))
_EYE_PAD = 0.08
#: the side of the cells the baseline spotter averages the region image over (36 cells)
CELL = 7


def _box(points: np.ndarray, pad: float, side: int) -> tuple[int, int, int, int]:
    """Integer box ``(x0, y0, x1, y1)`` (exclusive ends) around ``points`` widened by
    ``pad`` pixels, clipped to a ``side x side`` image, at least 2 pixels each way."""
    x0, y0 = np.floor(points.min(axis=0) - pad).astype(int)
    x1, y1 = np.ceil(points.max(axis=0) + pad).astype(int) + 1
    x0, y0 = min(max(x0, 0), side - 2), min(max(y0, 0), side - 2)
    return x0, y0, max(min(x1, side), x0 + 2), max(min(y1, side), y0 + 2)


@dataclass(frozen=True)
class Geometry:
    """Where things are on one segment's face crop: the eye mask, the nose patch, the regions.

    ``reference`` gives the segment's first face crop, on which SOFTNet's region image
    finds its own landmarks (:meth:`softnet_points`), once, when first asked.
    """

    eyes: np.ndarray
    nose: tuple[int, int, int, int]
    regions: dict[str, tuple[int, int, int, int]]
    points: np.ndarray | None = None
    reference: Callable[[], np.ndarray | None] | None = None
    _found: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(
        cls, segment: Segment, crop: int = CROP, reference: Callable[[], np.ndarray | None] | None = None
    ) -> Geometry:
        """The geometry of ``segment``'s landmarks on its crop; ``reference``: its first
        face crop, read when SOFTNet's landmarks are first asked for."""
        import cv2

        points = segment.crop_landmarks(crop)
        iod = float(np.hypot(*(points[42:48].mean(axis=0) - points[36:42].mean(axis=0))))
        eyes = np.zeros((crop, crop), dtype=np.uint8)
        for outline in _EYES:
            hull = cv2.convexHull(np.round(points[list(outline)]).astype(np.int32))
            cv2.fillConvexPoly(eyes, hull, 1)
        size = max(1, int(round(2 * _EYE_PAD * iod)) | 1)
        eyes = cv2.dilate(eyes, np.ones((size, size), np.uint8)).astype(bool)
        nose = _box(points[list(_NOSE_POINTS)], _NOSE_PAD * iod, crop)
        regions = {name: _box(points[list(idx)], _REGION_PAD * iod, crop) for name, idx in _REGION_POINTS.items()}
        return cls(eyes, nose, regions, points, reference)

    def softnet_points(self) -> np.ndarray:
        """int ``(68, 2)``: the landmarks SOFTNet's ``extraction_preprocess.py`` cuts its
        regions by: dlib's detector (upsampled once) and 68 landmarks found again on the
        segment's first face crop; where that crop is unreadable or holds no face, the
        track's landmarks on the crop, rounded."""
        if "points" not in self._found:
            self._found["points"] = _detect_on_crop(None if self.reference is None else self.reference(), self.points)
        return self._found["points"]


def _detect_on_crop(image: np.ndarray | None, fallback: np.ndarray | None) -> np.ndarray:
    from mepipe.imaging.align import _models

    if image is not None:
        detector, predictor = _models()
        found = detector(image, 1)
        if len(found):
            shape = predictor(image, found[0])
            return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.int64)
    if fallback is None:
        raise ValueError("no landmarks: neither a reference crop with a face nor the track's")
    return np.round(fallback).astype(np.int64)


def _cut(plane: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return plane[y0:y1, x0:x1]


def main_direction_magnitude(u: np.ndarray, v: np.ndarray, bins: int = 8) -> float:
    """MDMD's signal of a region: the mean magnitude of the flow vectors whose direction
    falls in the most populated of ``bins`` equal sectors (0 for an empty region)."""
    magnitude = np.hypot(u, v).ravel()
    if magnitude.size == 0:
        return 0.0
    sector = (((np.arctan2(v, u).ravel() + np.pi) / (2 * np.pi)) * bins).astype(int) % bins
    counts = np.bincount(sector, minlength=bins)
    main = int(np.argmax(counts))
    return float(magnitude[sector == main].mean())


def region_image(maps: np.ndarray, geometry: Geometry) -> np.ndarray:
    """SOFTNet's ``42 x 42 x 3`` image: the two brow regions side by side on top
    (21 x 21 each), the mouth below (42 wide, 21 high), of the ``(u, v, strain)`` maps."""
    import cv2

    half = REGION_SIDE // 2
    image = np.empty((REGION_SIDE, REGION_SIDE, 3), dtype=np.float32)
    for name, (y, x, w) in {
        "left_brow": (0, 0, half),
        "right_brow": (0, half, half),
        "mouth": (half, 0, REGION_SIDE),
    }.items():
        cut = np.ascontiguousarray(_cut(maps, geometry.regions[name]))
        image[y : y + half, x : x + w] = cv2.resize(cut, (w, half), interpolation=cv2.INTER_AREA)
    return image


#: SOFTNet's eye hexagons: per outline point, the landmark and its push outwards (dx, dy) in
#: crop pixels (``extraction_preprocess.py``: corners 15 px out sideways, lids 15 px up or down)
_SOFTNET_EYE = 15
_SOFTNET_HEXAGON = ((0, -1, 0), (1, 0, -1), (2, 0, -1), (3, 1, 0), (4, 0, 1), (5, 0, 1))
#: SOFTNet's margin around its two regions, crop pixels
_SOFTNET_MARGIN = 12
#: SOFTNet's nose patch: 11 x 11 pixels centred on landmark 28
_SOFTNET_NOSE = 28, 5


def softnet_strain(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """SOFTNet's optical strain (``computeStrain``): forward differences, the last column
    and then the last row filled from the ones before (pandas' ``ffill``)."""
    ux, vx = u[:-1, :-1] - u[:-1, 1:], v[:-1, :-1] - v[:-1, 1:]
    uy, vy = u[:-1, :-1] - u[1:, :-1], v[:-1, :-1] - v[1:, :-1]
    inner = np.sqrt(ux**2 + vy**2 + 0.5 * (uy + vx) ** 2)
    return np.pad(inner, ((0, 1), (0, 1)), mode="edge")


def softnet_region_image(flow: np.ndarray, points: np.ndarray) -> np.ndarray:
    """float32 ``42 x 42 x 3``: the region image as SOFTNet's ``extraction_preprocess.py``
    makes it from a pair's flow on the ``crop x crop`` face crop and its landmarks
    (:meth:`Geometry.softnet_points`).

    The channels are ``|u - u_nose|``, ``|v - v_nose|`` and ``strain - strain_nose``
    (:func:`softnet_strain`; ``_nose`` is the mean over the 11 x 11 patch at landmark 28),
    the two eyes zeroed by hexagons 15 px out from landmarks 36-47; the top half is one
    band across both brows (landmarks 17 to 26, 12 px out, from 19/24 down to 41/46),
    the bottom half the mouth (60 to 64 across, 50 to 57 down, 12 px out), each resized to
    42 x 21 by :func:`cv2.resize`'s default (bilinear) interpolation. Those pixel sizes
    are SOFTNet's on its 128 px crop, scaled to another ``crop``; a box is clipped to the
    crop (at least 2 pixels each way).
    """
    import cv2

    side = flow.shape[0]
    # SOFTNet's pixel sizes are on its 128 px crop: scaled to another crop
    eye, m, r = (max(1, int(round(n * side / CROP))) for n in (_SOFTNET_EYE, _SOFTNET_MARGIN, _SOFTNET_NOSE[1]))
    p = np.asarray(points, dtype=np.int64)
    u, v = flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32)
    final = np.dstack([u, v, softnet_strain(u, v)])
    x, y = p[_SOFTNET_NOSE[0]]
    nose = final[max(y - r, 0) : y + r + 1, max(x - r, 0) : x + r + 1].reshape(-1, 3).mean(axis=0)
    final -= nose
    final[..., :2] = np.abs(final[..., :2])
    for first in (36, 42):
        hexagon = [
            (
                min(max(p[first + i, 0] + dx * eye, 0), side),
                min(max(p[first + i, 1] + dy * eye, 0), side),
            )
            for i, dx, dy in _SOFTNET_HEXAGON
        ]
        cv2.fillPoly(final, [np.array(hexagon, dtype=np.int32)], 0)
    half = REGION_SIDE // 2

    def cut(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        y0, x0 = min(max(y0, 0), side - 2), min(max(x0, 0), side - 2)
        y1, x1 = max(min(y1, side), y0 + 2), max(min(x1, side), x0 + 2)
        return cv2.resize(np.ascontiguousarray(final[y0:y1, x0:x1]), (REGION_SIDE, half))

    image = np.empty((REGION_SIDE, REGION_SIDE, 3), dtype=np.float32)
    image[:half] = cut(min(p[19, 1], p[24, 1]) - m, max(p[41, 1], p[46, 1]) + m, p[17, 0] - m, p[26, 0] + m)
    image[half:] = cut(p[50, 1] - m, p[57, 1] + m, p[60, 0] - m, p[64, 0] + m)
    return image


def _magnitude_over_face(relative: np.ndarray, eyes: np.ndarray) -> float:
    return float(np.hypot(relative[..., 0], relative[..., 1])[~eyes].mean())


def head_motion(flow: np.ndarray, geometry: Geometry) -> np.ndarray:
    """float32 ``(2,)``: the nose patch's mean flow, the head's motion."""
    return _cut(flow, geometry.nose).reshape(-1, 2).mean(axis=0).astype(np.float32)


def face_motion(flow: np.ndarray, geometry: Geometry) -> float:
    """The mean flow magnitude over the face crop, the nose patch's mean flow (the head's
    motion) subtracted, the eyes left out."""
    return _magnitude_over_face((flow - head_motion(flow, geometry)).astype(np.float32), geometry.eyes)


def pair_maps(flow: np.ndarray, geometry: Geometry) -> np.ndarray:
    """float32 ``(crop, crop, 3)``: ``(u, v, strain)`` of ``flow`` less the head's motion,
    the eyes zeroed in all three (blinks are not expressions)."""
    from mepipe.imaging.flow import strain

    relative = (flow - head_motion(flow, geometry)).astype(np.float32)
    maps = np.dstack([relative, strain(relative)])
    maps[geometry.eyes] = 0.0
    return maps


def cell_flow(images: np.ndarray, cell: int = CELL) -> np.ndarray:
    """The mean ``(u, v)`` of each ``cell x cell`` block of region images, NaN counted as 0.

    Parameters
    ----------
    images : ndarray, shape (frames, side, side, channels)
        Region images whose first two channels are the flow (the store's ``images``).
    cell : int
        The block side; it divides ``side``.

    Returns
    -------
    ndarray, float64, shape (frames, (side // cell) ** 2, 2)
        Cells row by row.
    """
    images = np.asarray(images)
    frames, side = images.shape[0], images.shape[1]
    if side % cell or images.shape[2] != side:
        raise ValueError(f"{cell}-pixel cells do not tile {images.shape[1]}x{images.shape[2]} images")
    uv = np.nan_to_num(images[..., :2].astype(np.float64), nan=0.0)
    grid = side // cell
    return uv.reshape(frames, grid, cell, grid, cell, 2).mean(axis=(2, 4)).reshape(frames, grid * grid, 2)


def region_picture(rows: Mapping[str, np.ndarray]) -> np.ndarray:
    """A region image as the flow's colour wheel beside the strain's heat map (RGB)."""
    from mepipe.imaging.flowcolor import flow_picture, strain_picture

    image = rows["images"]
    flow, _ = flow_picture(image[..., :2])
    heat, _ = strain_picture(image[..., 2])
    return np.hstack([flow, np.full((REGION_SIDE, 2, 3), 255, np.uint8), heat])


def _regions_v1(pair: PairInput) -> dict[str, np.ndarray]:
    assert pair.maps is not None
    return {"images": region_image(pair.maps, pair.geometry)}


def _regions(pair: PairInput) -> dict[str, np.ndarray]:
    assert pair.flow is not None
    return {"images": softnet_region_image(pair.flow, pair.geometry.softnet_points())}


def _mdmd(pair: PairInput) -> dict[str, np.ndarray]:
    assert pair.maps is not None
    maps, boxes = pair.maps, pair.geometry.regions
    motion = [main_direction_magnitude(_cut(maps[..., 0], boxes[n]), _cut(maps[..., 1], boxes[n])) for n in REGIONS]
    return {"region_motion": np.asarray(motion, dtype=np.float32)}


def _motion(pair: PairInput) -> dict[str, np.ndarray]:
    assert pair.maps is not None and pair.head is not None
    face = _magnitude_over_face(pair.maps, pair.geometry.eyes)
    return {"face_motion": np.float32(face), "head_motion": pair.head}


def _cells(pair: PairInput) -> dict[str, np.ndarray]:
    image = _regions_v1(pair)["images"]  # the signed flow, the head's motion subtracted
    return {"cell_flow": cell_flow(image[None])[0].astype(np.float32)}


_NAN = float("nan")
_SIDE = (REGION_SIDE, REGION_SIDE, 3)
VALIDITY = PerFrameFeature(
    "validity",
    (
        ArraySpec("valid", "bool", (), (), fill=False),
        ArraySpec("unreadable", "bool", (), (), fill=False),
        ArraySpec("face_lost", "bool", (), (), fill=False),
    ),
    "builder",
    None,
    "whether pair t was computed; a frame of it unreadable; the face lost there",
)
REGIONS_FEATURE = PerFrameFeature(
    "regions",
    (ArraySpec("images", "float32", _SIDE, ("y", "x", "channel"), fill=_NAN),),
    "pair",
    _regions,
    "SOFTNet's 42 x 42 (|u|, |v|, strain) image of the brows over the mouth, as its code makes it",
    version=2,
    thumbnail=region_picture,
    default=True,
    earlier=((1, _regions_v1),),
)
MDMD = PerFrameFeature(
    "mdmd",
    (ArraySpec("region_motion", "float32", (len(REGIONS),), ("region",), fill=_NAN),),
    "pair",
    _mdmd,
    "MDMD's main-direction flow magnitude per region (attrs['regions'] names them)",
    default=True,
)
MOTION = PerFrameFeature(
    "motion",
    (
        ArraySpec("face_motion", "float32", (), (), fill=_NAN),
        ArraySpec("head_motion", "float32", (2,), ("axis",), fill=_NAN),
    ),
    "pair",
    _motion,
    "mean flow magnitude over the face (eyes masked, head motion subtracted); the head's motion",
    default=True,
)
CELLS = PerFrameFeature(
    "cells",
    (ArraySpec("cell_flow", "float32", ((REGION_SIDE // CELL) ** 2, 2), ("cell", "axis"), fill=_NAN),),
    "pair",
    _cells,
    "mean (u, v) of each 7 x 7 cell of the brows-over-mouth flow (the baseline spotter's input)",
    default=True,
)
