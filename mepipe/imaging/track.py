"""A long video's face, found once and followed: the face track its per-frame features
are cut from.

What the field's spotting code does (SOFTNet, MEAN, MDMD): dlib's box and 68 landmarks on
the first frame, detected again every ``recheck`` frames and replaced only when the face
has moved (:func:`face_track`); frames where no face is found are recorded as lost. Each
frame is cut to ``crop x crop`` by its segment's box (:meth:`Segment.cut`, SOFTNet's cut
of the full-resolution frame): a crop from a reduced JPEG decode, or warped instead of
resized, differs by a grey level here and there, and the flow of a still pair is a
function of those exact pixels. The track's probes decode at the smallest JPEG DCT scale
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
from mepipe.imaging.align import aligner

#: side of the face crop the flow is computed on (SOFTNet's 128)
CROP = 128
#: how a frame becomes the crop, as a store records it (:meth:`Segment.cut`): decoded at
#: full resolution, the box's whole pixels resized bilinearly, as SOFTNet cuts it
CUT = "full-resolution decode, box's whole pixels, bilinear resize"
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
