"""Per-frame spotting features of a long video, from one face alignment.

What the field's spotting code computes (SOFTNet, MEAN, MDMD; docs/design field.md
section 8), as pure functions of decoded frames:

* a *face track*: dlib's box and 68 landmarks on the first frame, detected again every
  ``recheck`` frames and replaced only when the face has moved (:func:`face_track`);
  frames where no face is found are recorded as lost;
* per frame ``i``, the flow from frame ``i`` to ``i + k`` of the face cut to
  ``crop x crop`` (SOFTNet's crop: the detector's box resized), its optical strain
  (:func:`mepipe.imaging.flow.strain`), the mean flow of a nose patch subtracted (head
  motion), the eyes masked (:func:`pair_features`);
* from those maps, the brows and the mouth as SOFTNet's and MEAN's ``42 x 42 x 3``
  ``(u, v, strain)`` image (:func:`region_image`), and per region the flow magnitude along
  the region's main direction, MDMD's signal (:func:`main_direction_magnitude`).

The flow is the store's (:mod:`mepipe.imaging.flow`, by method name). Neighbouring pairs
``i -> i + k`` and ``i + 1 -> i + 1 + k`` share all but one frame of motion, so within a
block of :data:`BLOCK` pairs a pair's TV-L1 solve may start from the previous pair's flow
at full resolution only (:data:`WARM`). That holds where the face moves; where it is still
(:data:`STILL`) both flows are sensor noise, and noise-level TV-L1 is a function of the
exact pixels and schedule: the warm solve lands on another noise pattern than the cold
one (region images correlate ~0.75), so a still pair is solved with the method's own
parameters, as is the first pair of a block. Blocks start at fixed frame positions, and a
pair's solve depends only on the pairs before it in its block, so the result does not
depend on how a video is split into work (``bench/spotting.py`` measures the agreement
with OpenCV's defaults).

The face is SOFTNet's cut of the full-resolution frame (:meth:`Segment.cut`): the same
noise argument (a crop from a reduced JPEG decode, or warped instead of resized, differs
by a grey level here and there, and the cold solves of still pairs then correlate 0.6-0.8
with the field's). The face track's probes decode at the smallest JPEG DCT scale
(``cv2.IMREAD_REDUCED_GRAYSCALE_2/4/8``) that keeps the face box at least ``crop`` pixels
wide (:func:`decode_factor`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mepipe.errors import SampleError
from mepipe.imaging import flow as flowlib
from mepipe.imaging.align import aligner

#: side of the face crop the flow is computed on (SOFTNet's 128)
CROP = 128
#: how a frame becomes the crop, as a store records it (:meth:`Segment.cut`): decoded at
#: full resolution, the box's whole pixels resized bilinearly, as SOFTNet cuts it
CUT = "full-resolution decode, box's whole pixels, bilinear resize"
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
#: pairs per warm-start block (see the module's docstring); chunks of work are whole blocks
BLOCK = 128
#: what a warm pair changes of a TV-L1 method's parameters: the previous pair's flow as
#: the start, full resolution only, 2 warps of 2 x 10 iterations (chosen and checked
#: against OpenCV's defaults by bench/spotting.py); moving pairs only (:data:`STILL`)
WARM: dict[str, Any] = {
    "useInitialFlow": True,
    "nscales": 1,
    "warps": 2,
    "outerIterations": 2,
    "innerIterations": 10,
}
#: a pair is still when its face motion (:func:`face_motion`, crop pixels) is below this:
#: there the warm solve's region images decorrelate from the cold solve's (median ~0.75 at
#: the field's 128 px crop), above it they correlate >= 0.95 (bench/spotting.py). A pair
#: after a still one is solved cold directly; one after a moving pair is solved warm
#: first, and again cold when the warm flow is still
STILL = 0.05
#: the face counts as moved when its box centre shifts by this share of the box width, or
#: the width changes by this share
MOVED = 0.1
#: the JPEG DCT scales OpenCV decodes at, and their read flags
_REDUCED = {
    1: cv2.IMREAD_GRAYSCALE,
    2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
    4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
    8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
}


def default_k(fps: float) -> int:
    """Frames between the two frames of a pair: 0.2 s, SOFTNet's choice (about half the
    mean micro-expression: 6 at 30 fps, 40 at 200 fps against SOFTNet's 37)."""
    return max(1, int(round(0.2 * fps)))


def decode_factor(box_width: float, crop: int = CROP) -> int:
    """The largest JPEG DCT reduction (1, 2, 4, 8) that keeps a face box ``box_width``
    source pixels wide at least ``crop`` pixels wide."""
    return max(f for f in _REDUCED if f == 1 or box_width / f >= crop)


def decode(path: Path | str, factor: int = 1) -> np.ndarray | None:
    """A frame as uint8 gray, decoded at ``1 / factor`` of its size; ``None`` if unreadable."""
    return cv2.imread(str(path), _REDUCED[factor])


@dataclass(frozen=True)
class Segment:
    """One stretch of a face track: from frame position ``start`` on, the face found there.

    Attributes
    ----------
    start : int
        Position (index into the video's kept frames) where the segment begins.
    box : (float, float, float, float)
        The detector's box ``(left, top, right, bottom)`` in full-resolution pixels.
    landmarks : tuple of tuple of float
        The 68 landmarks ``(x, y)`` in full-resolution pixels.
    """

    start: int
    box: tuple[float, float, float, float]
    landmarks: tuple[tuple[float, float], ...]

    def matrix(self, crop: int = CROP, factor: int = 1) -> np.ndarray:
        """``(2, 3)`` map from a frame decoded at ``1 / factor`` to the ``crop x crop`` face:
        the box stretched onto the crop (SOFTNet's cut), pixel centres kept."""
        left, top, right, bottom = self.box
        sx, sy = crop / (right - left), crop / (bottom - top)
        # the box's pixels left .. right - 1 fill the crop edge to edge, as a resize of the
        # cut does: x_crop = sx (x + 0.5 - left) - 0.5; a pixel x_d decoded at 1 / factor
        # is the source's x = factor (x_d + 0.5) - 0.5
        return np.array(
            [
                [sx * factor, 0.0, sx * (0.5 * factor - left) - 0.5],
                [0.0, sy * factor, sy * (0.5 * factor - top) - 0.5],
            ]
        )

    def cut(self, image: np.ndarray, crop: int = CROP) -> np.ndarray:
        """SOFTNet's face crop of a full-resolution frame: the box's whole pixels (clipped
        to the frame) resized to ``crop x crop``, bilinear (:meth:`matrix` at factor 1 for
        a box on whole pixels, as dlib's are)."""
        left, top, right, bottom = (int(v) for v in self.box)
        height, width = image.shape[:2]
        face = image[max(top, 0) : min(bottom, height), max(left, 0) : min(right, width)]
        return cv2.resize(face, (crop, crop), interpolation=cv2.INTER_LINEAR)

    def crop_landmarks(self, crop: int = CROP) -> np.ndarray:
        """The landmarks in crop pixels."""
        matrix = self.matrix(crop)
        return np.asarray(self.landmarks, dtype=np.float64) @ matrix[:, :2].T + matrix[:, 2]


@dataclass(frozen=True)
class FaceTrack:
    """A video's face, found once before any features are computed, and recorded.

    Attributes
    ----------
    factor : int
        DCT reduction the track's probes decode at (:func:`decode_factor`).
    segments : tuple of Segment
        Increasing ``start``; the first starts at 0.
    lost : tuple of (int, int)
        Frame position ranges ``[start, stop)`` where no face was found.
    checks : tuple of (int, str)
        Every detection: position and outcome (``first``, ``kept``, ``moved``, ``lost``,
        ``unreadable``).
    """

    factor: int
    segments: tuple[Segment, ...]
    lost: tuple[tuple[int, int], ...] = ()
    checks: tuple[tuple[int, str], ...] = field(default=())

    def segment_at(self, position: int) -> Segment | None:
        """The segment covering ``position``; ``None`` where the face is lost."""
        if any(a <= position < b for a, b in self.lost):
            return None
        found = None
        for segment in self.segments:
            if segment.start > position:
                break
            found = segment
        return found

    def lost_mask(self, count: int) -> np.ndarray:
        """bool ``(count,)``: True at positions where the face was lost."""
        mask = np.zeros(count, dtype=bool)
        for a, b in self.lost:
            mask[a:b] = True
        return mask

    def to_record(self) -> dict[str, Any]:
        """The track as JSON-ready data (a store attribute)."""
        return {
            "factor": self.factor,
            "segments": [
                {"start": s.start, "box": list(s.box), "landmarks": [list(p) for p in s.landmarks]}
                for s in self.segments
            ],
            "lost": [list(r) for r in self.lost],
            "checks": [list(c) for c in self.checks],
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> FaceTrack:
        """The track :meth:`to_record` wrote."""
        segments = tuple(
            Segment(
                int(s["start"]),
                _box4(s["box"]),
                tuple((float(x), float(y)) for x, y in s["landmarks"]),
            )
            for s in record["segments"]
        )
        return cls(
            int(record["factor"]),
            segments,
            tuple((int(a), int(b)) for a, b in record["lost"]),
            tuple((int(p), str(o)) for p, o in record["checks"]),
        )


def _box4(values: Sequence[float]) -> tuple[float, float, float, float]:
    left, top, right, bottom = (float(v) for v in values)
    return left, top, right, bottom


def _detect(
    image: np.ndarray, factor: int, full: bool = False
) -> tuple[tuple[float, float, float, float], np.ndarray] | None:
    """The face box and landmarks of a frame decoded at ``1 / factor``, in full-resolution
    pixels; ``None`` when dlib finds no face. The calling thread's detector: on the whole
    frame when ``full`` (the field's box), else on its copy scaled to 640 px (a probe)."""
    try:
        face = aligner(detect_max_side=max(image.shape) if full else 640).detect(image)
    except SampleError:
        return None
    scale = float(factor)
    # a box's edges are pixel boundaries, landmarks pixel centres
    box = _box4([scale * v for v in face["box"]])
    return box, scale * (face["landmarks"] + 0.5) - 0.5


def _segment(path: Path | str, position: int) -> Segment | None:
    """The field's face of one frame: dlib on the full-resolution frame (``None``: no face)."""
    image = decode(path)
    found = None if image is None else _detect(image, 1, full=True)
    if found is None:
        return None
    box, points = found
    return Segment(position, box, tuple((float(x), float(y)) for x, y in points))


def _probe(path: Path | str, factor: int) -> tuple[float, float, float, float] | None:
    image = decode(path, factor)
    found = None if image is None else _detect(image, factor)
    return None if found is None else found[0]


def _moved(old: tuple[float, ...], new: tuple[float, ...]) -> bool:
    width = old[2] - old[0]
    shift = np.hypot((new[0] + new[2] - old[0] - old[2]) / 2, (new[1] + new[3] - old[1] - old[3]) / 2)
    return bool(shift > MOVED * width or abs((new[2] - new[0]) / width - 1) > MOVED)


def face_track(paths: Sequence[Path | str], recheck: int, crop: int = CROP) -> FaceTrack:
    """Find a video's face on its first frame, and look again every ``recheck`` frames.

    The first frame is decoded at full resolution and dlib scans all of it (SOFTNet's
    box: the crop the field's features are cut from); that box sets the decode factor of
    every other frame. Each check is a cheap probe, dlib on the reduced decode; only when
    the probe's box has moved (:data:`MOVED`) is the frame scanned at full resolution for
    the new face: replacing the face at every check would add landmark jitter to the
    features. Where no face is found, the frames from that check to the next one that
    finds it are lost.

    Parameters
    ----------
    paths : sequence of path
        The video's kept frames, in order.
    recheck : int
        Frames between two detections (at least 1).
    crop : int
        Side of the face crop (sets the decode factor).

    Returns
    -------
    FaceTrack

    Raises
    ------
    SampleError
        The first frame is unreadable or shows no face.
    """
    if not paths:
        raise SampleError("the video has no frames")
    if decode(paths[0], 8) is None:
        raise SampleError(f"{paths[0]}: not a readable image")
    first = _segment(paths[0], 0)
    if first is None:
        raise SampleError(f"{paths[0]}: no face found on the video's first frame (dlib HOG)")
    factor = decode_factor(first.box[2] - first.box[0], crop)
    step = max(recheck, 1)
    # checks run on the reduced decode, scaled: a box found at another scale differs by
    # ~10 %, so moves are judged between probes, never against the full-resolution box
    probe = _probe(paths[0], factor)
    segments = [first]
    checks: list[tuple[int, str]] = [(0, "first")]
    lost: list[tuple[int, int]] = []
    lost_from: int | None = None
    for position in range(step, len(paths), step):
        image = decode(paths[position], factor)
        found = None if image is None else _detect(image, factor)
        outcome = "kept"
        if found is not None and (lost_from is not None or probe is None or _moved(probe, found[0])):
            segment = _segment(paths[position], position)
            if segment is None:
                found = None  # the full-resolution scan finds no face: lost
            else:
                segments.append(segment)
                probe, outcome = found[0], "moved"
        if found is None:
            checks.append((position, "unreadable" if image is None else "lost"))
            if lost_from is None:
                lost_from = position
            continue
        checks.append((position, outcome))
        if lost_from is not None:
            lost.append((lost_from, position))
            lost_from = None
    if lost_from is not None:
        lost.append((lost_from, len(paths)))
    return FaceTrack(factor, tuple(segments), tuple(lost), tuple(checks))


def _box(points: np.ndarray, pad: float, side: int) -> tuple[int, int, int, int]:
    """Integer box ``(x0, y0, x1, y1)`` (exclusive ends) around ``points`` widened by
    ``pad`` pixels, clipped to a ``side x side`` image, at least 2 pixels each way."""
    x0, y0 = np.floor(points.min(axis=0) - pad).astype(int)
    x1, y1 = np.ceil(points.max(axis=0) + pad).astype(int) + 1
    x0, y0 = min(max(x0, 0), side - 2), min(max(y0, 0), side - 2)
    return x0, y0, max(min(x1, side), x0 + 2), max(min(y1, side), y0 + 2)


@dataclass(frozen=True)
class Geometry:
    """Where things are on one segment's face crop: the eye mask, the nose patch, the regions."""

    eyes: np.ndarray
    nose: tuple[int, int, int, int]
    regions: dict[str, tuple[int, int, int, int]]

    @classmethod
    def of(cls, segment: Segment, crop: int = CROP) -> Geometry:
        """The geometry of ``segment``'s landmarks on its crop."""
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
        return cls(eyes, nose, regions)


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


@dataclass
class PairFeatures:
    """The features of one pair (frame ``i`` to ``i + k``)."""

    image: np.ndarray
    region_motion: np.ndarray
    head: np.ndarray
    face_motion: float
    flow: np.ndarray


def _magnitude_over_face(relative: np.ndarray, eyes: np.ndarray) -> float:
    return float(np.hypot(relative[..., 0], relative[..., 1])[~eyes].mean())


def face_motion(flow: np.ndarray, geometry: Geometry) -> float:
    """The mean flow magnitude over the face crop, the nose patch's mean flow (the head's
    motion) subtracted, the eyes left out: :attr:`PairFeatures.face_motion` of ``flow``."""
    head = _cut(flow, geometry.nose).reshape(-1, 2).mean(axis=0)
    return _magnitude_over_face((flow - head).astype(np.float32), geometry.eyes)


def pair_features(flow: np.ndarray, geometry: Geometry) -> PairFeatures:
    """Everything the store keeps of one pair, from its flow on the face crop.

    The nose patch's mean flow (the head's motion) is subtracted, strain is computed,
    the eyes are zeroed in all three maps, then the regions are cut.

    Parameters
    ----------
    flow : np.ndarray
        float32 ``(crop, crop, 2)``, frame ``i`` to ``i + k``.
    geometry : Geometry
        The segment's eye mask, nose patch and regions.
    """
    head = _cut(flow, geometry.nose).reshape(-1, 2).mean(axis=0)
    relative = (flow - head).astype(np.float32)
    maps = np.dstack([relative, flowlib.strain(relative)])
    maps[geometry.eyes] = 0.0
    motion = np.array(
        [
            main_direction_magnitude(_cut(maps[..., 0], box), _cut(maps[..., 1], box))
            for box in (geometry.regions[name] for name in REGIONS)
        ],
        dtype=np.float32,
    )
    face = _magnitude_over_face(maps, geometry.eyes)
    return PairFeatures(region_image(maps, geometry), motion, head.astype(np.float32), face, maps)


def is_tvl1(method: str) -> bool:
    """Whether ``method`` is a TV-L1 solver (the ones a warm start applies to)."""
    return "useInitialFlow" in flowlib.flow_parameters(method)


def pair_flow(first: np.ndarray, second: np.ndarray, method: str, start: np.ndarray | None = None) -> np.ndarray:
    """The flow of one pair of crops: the method's own solve, or with ``start`` (a TV-L1
    method only) the :data:`WARM` solve from that flow."""
    if start is None:
        return flowlib.optical_flow(first, second, method)
    solver = flowlib.solver(method, WARM)
    return np.asarray(solver.calc(first, second, start.copy()), dtype=np.float32)


@dataclass
class ChunkFeatures:
    """Features of the pairs ``[start, stop)`` of a video (arrays in pair order)."""

    start: int
    images: np.ndarray
    region_motion: np.ndarray
    head_motion: np.ndarray
    face_motion: np.ndarray
    valid: np.ndarray
    unreadable: np.ndarray


def chunk_features(
    paths: Sequence[Path | str],
    track: FaceTrack,
    start: int,
    stop: int,
    k: int,
    method: str,
    warm: bool = True,
    crop: int = CROP,
    block: int = BLOCK,
    still: float = STILL,
) -> ChunkFeatures:
    """The features of pairs ``start`` to ``stop - 1`` of a video (``start`` a multiple of ``block``).

    Reads frames ``start .. stop - 1 + k`` only, each once, at full resolution.
    A pair is invalid (NaN features) when either frame is unreadable, the face is lost
    at either frame, or ``i + k`` is past the video's end.

    Parameters
    ----------
    paths : sequence of path
        All the video's kept frames.
    track : FaceTrack
    start, stop : int
        Pair positions; ``start % block == 0``.
    k : int
        Frames between a pair's two frames.
    method : str
        A method of :mod:`mepipe.imaging.flow`.
    warm : bool
        Start a pair from the previous pair's flow when that pair is in the block and
        moving, and solve it again cold when it comes out still (TV-L1 only; :data:`STILL`).
    crop, block : int
        Crop side; pairs per warm-start block.
    still : float
        Face motion (crop pixels) below which a pair is still: :data:`STILL` is the
        field's 128 px crop's; its sensor-noise flow sets it.
    """
    if start % block:
        raise ValueError(f"chunk start {start} is not a multiple of the block ({block})")
    count = stop - start
    warm = warm and is_tvl1(method)
    images = np.full((count, REGION_SIDE, REGION_SIDE, 3), np.nan, dtype=np.float32)
    region_motion = np.full((count, len(REGIONS)), np.nan, dtype=np.float32)
    head_motion = np.full((count, 2), np.nan, dtype=np.float32)
    faces = np.full(count, np.nan, dtype=np.float32)
    valid = np.zeros(count, dtype=bool)
    unreadable = np.zeros(count, dtype=bool)
    # crops by (position, segment): a frame read for two segments is cut by each one's box
    frames: dict[tuple[int, int], np.ndarray | None] = {}
    geometries: dict[int, Geometry] = {}

    def crop_of(position: int, segment: Segment) -> np.ndarray | None:
        key = position, segment.start
        if key not in frames:
            image = decode(paths[position])
            frames[key] = None if image is None else segment.cut(image, crop)
        return frames[key]

    # the previous pair's flow when the next pair may start from it: in this block, and
    # moving (see STILL)
    previous: np.ndarray | None = None
    previous_segment: Segment | None = None
    for i in range(start, stop):
        # frames no later pair of this chunk reads are let go: memory stays flat
        for old in [key for key in frames if key[0] < i]:
            del frames[old]
        segment = track.segment_at(i)
        if i % block == 0 or segment is not previous_segment:
            previous = None
        previous_segment = segment
        if segment is None or i + k >= len(paths) or track.segment_at(i + k) is None:
            previous = None
            continue
        a, b = crop_of(i, segment), crop_of(i + k, segment)
        row = i - start
        if a is None or b is None:
            unreadable[row] = True
            previous = None
            continue
        if segment.start not in geometries:
            geometries[segment.start] = Geometry.of(segment, crop)
        geometry = geometries[segment.start]
        flow = pair_flow(a, b, method, previous if warm else None)
        is_still = face_motion(flow, geometry) < still
        if is_still and warm and previous is not None:
            flow = pair_flow(a, b, method)
        previous = None if is_still else flow
        features = pair_features(flow, geometry)
        images[row] = features.image
        region_motion[row] = features.region_motion
        head_motion[row] = features.head
        faces[row] = features.face_motion
        valid[row] = True
    return ChunkFeatures(start, images, region_motion, head_motion, faces, valid, unreadable)
