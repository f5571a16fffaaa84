"""Onset-anchored face alignment: one similarity transform per clip (docs/method.md, section 2).

The face and its 68 landmarks are found on the reference (onset) frame only, with dlib's
HOG frontal detector (a cascade of :data:`DETECT_STEPS`: a fast down-scaled copy first,
fallbacks for small faces and for faces overflowing the frame) and
``shape_predictor_68_face_landmarks``. One similarity transform
maps the eye centres to fixed canonical positions in an ``S x S`` output, and that same
transform warps every frame of the clip: re-detecting per frame would add landmark
jitter larger than the micro-expression itself.

The geometry (:func:`canonical_points`, :func:`similarity_from_landmarks`) is pure;
dlib is touched only by :class:`FaceAligner` and :func:`aligned_landmarks`. A dlib
detector must not be shared between threads (concurrent use crashes), so each thread
loads its own from :data:`DETECTOR` (2 ms; building it from the copy compiled into dlib
takes 0.6 s). The landmark predictor (100 MB, 1 s to load) is loaded once per process and
shared: concurrent calls of one predictor give the same landmarks as serial ones.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import dlib
import numpy as np

from mepipe.errors import MepipeError, SampleError

LANDMARK_MODEL = "shape_predictor_68_face_landmarks.dat"
#: dlib's frontal face detector as ``save()`` writes it (mepipe/data/PROVENANCE.md)
#: found through the package, not this module's folder, so it holds wherever modules move
DETECTOR = Path(str(resources.files("mepipe").joinpath("data/frontal_face_detector.svm")))

# iBUG 68-point indices; dlib labels points by their place in the image, so 36-41 is the
# image-left eye whether or not the face is mirrored.
_LEFT_EYE = slice(36, 42)
_RIGHT_EYE = slice(42, 48)
_MOUTH_CORNERS = (48, 54)

# Canonical layout, in units of the output side S. Derived from dlib's mean 68-point
# face (the OpenFace template), in inter-ocular distances (IOD) from the eye midpoint:
# brows 0.37 above, mouth-corner midpoint 1.09 below, chin 1.92 below, jaw +-1.17.
# An IOD of 0.30 S with the eyes at y = 0.36 S keeps that face inside with a margin:
# brows at 0.25 S (forehead kept for AU1/2/4), chin at 0.94 S, jaw within 0.15..0.85 S.
_EYE_Y = 0.36
_EYE_X = (0.35, 0.65)
_MOUTH_Y = 0.69
# The box dlib's HOG detector draws around a face in that layout, in units of S
# (left, top, right, bottom): measured on aligned synthetic onsets, spread under 0.03 S.
_FACE_BOX = (0.23, 0.23, 0.81, 0.81)
#: Named face windows (``--face-window``), as the share of the output side the detected
#: face box spans: ``canonical`` is the layout above, ``meb`` meb's crop (the detected box
#: plus 2 % of its width on each side, docs/crops.md)
FACE_WINDOWS: dict[str, float | None] = {"canonical": None, "meb": 1 / 1.04}
# Where the detector's box (found on the source frame, mapped by the transform) lies in
# the canonical layout, in units of S: centre and width, the mean over 50 placements of
# the packaged portrait (rotated -12..10 degrees, boxes 81-270 px, mirrored), width spread
# 0.03 S. A face window zooms the layout about that centre and moves it to the output's.
_BOX_CENTRE = (0.50, 0.51)
_BOX_WIDTH = 0.66
# Landmarks on an aligned image are placed on a copy at least this large: dlib returns
# whole pixels, and on a 64 px output one pixel is a large part of a micro-movement.
_LANDMARK_MIN_SIDE = 448

#: Detection steps, tried in this order until one finds a face: the scaled copy (the
#: normal case, and the only one that runs when it succeeds), then the fallbacks.
DETECT_STEPS = ("scaled", "full", "upsampled", "padded")
#: The step recorded where none found a face: only builds that keep a release's registered
#: crops (``--crop release``) keep such a sample, without landmarks.
NO_FACE = "none"
# The padded step adds this fraction of the frame's long side on every side, filled with
# the frame's mean colour: on tight face crops (280 x 340, face wider than the frame)
# replicated or black borders hid the face from HOG, reflected ones mirrored half-faces.
_PAD = 0.25
# Of the faces a step finds, the largest whose score is at least this fraction of the best
# one: an upsampled scan also finds weak face-like texture (a collar) larger than a small
# real face.
_MIN_RELATIVE_SCORE = 0.5

_local = threading.local()
_shared: dict[str, Any] = {}
_shared_lock = threading.Lock()


def model_path(name: str = LANDMARK_MODEL) -> Path:
    """Path of a dlib model file shipped by the ``face-recognition-models`` package.

    The package is located without importing it: its ``__init__`` imports
    ``pkg_resources``, which recent setuptools no longer provides.

    Parameters
    ----------
    name : str
        File name inside the package's ``models`` folder.

    Returns
    -------
    Path
        The model file.

    Raises
    ------
    MepipeError
        The package is not installed, or lacks the file.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise MepipeError("dlib landmark models missing: install the face-recognition-models package")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / name
    if not path.is_file():
        raise MepipeError(f"dlib model {name} not found in {path.parent}: reinstall face-recognition-models")
    return path


def _models() -> tuple[Any, Any]:
    """The calling thread's detector and the process's predictor, loaded on first use."""
    detector = getattr(_local, "detector", None)
    if detector is None:
        detector = _local.detector = dlib.fhog_object_detector(str(DETECTOR))
    return detector, _predictor()


def _predictor() -> Any:
    """The process's landmark predictor, loaded once, on first use (about 100 MB): under a
    lock, so that threads starting together do not each load it."""
    predictor = _shared.get("predictor")
    if predictor is None:
        with _shared_lock:
            predictor = _shared.get("predictor")
            if predictor is None:
                predictor = _shared["predictor"] = dlib.shape_predictor(str(model_path()))
    return predictor


def window_fraction(window: str) -> float | None:
    """The share of the output side a face window gives the detected face box.

    Parameters
    ----------
    window : str
        A name of :data:`FACE_WINDOWS` or a number between 0.2 and 1.2 (``"0.8"``: the
        box spans 80 % of the output's width).

    Returns
    -------
    float or None
        ``None`` for the canonical layout.

    Raises
    ------
    ValueError
        Neither a known name nor a number in range.
    """
    if window in FACE_WINDOWS:
        return FACE_WINDOWS[window]
    try:
        fraction = float(window)
    except ValueError:
        fraction = float("nan")
    if not 0.2 <= fraction <= 1.2:
        names = ", ".join(FACE_WINDOWS)
        raise ValueError(f"face window must be {names} or a share of the output between 0.2 and 1.2, not {window!r}")
    return fraction


def canonical_points(size: int, window: float | None = None) -> np.ndarray:
    """Canonical positions of the eye centres and the mouth in a ``size x size`` output.

    Parameters
    ----------
    size : int
        Output side in pixels.
    window : float, optional
        Share of the output side the face box is to span (see :func:`window_fraction`):
        the canonical layout zoomed about the box's centre, which moves to the output's.
        ``None``: the canonical layout itself.

    Returns
    -------
    np.ndarray
        float64 ``(3, 2)``: image-left eye centre, image-right eye centre, mouth (the
        midpoint of the mouth corners), as ``(x, y)`` pixel coordinates.
    """
    points = np.array([[_EYE_X[0], _EYE_Y], [_EYE_X[1], _EYE_Y], [0.5, _MOUTH_Y]], dtype=np.float64)
    if window is not None:
        points = 0.5 + (window / _BOX_WIDTH) * (points - np.array(_BOX_CENTRE))
    return size * points


def _key_points(landmarks: np.ndarray) -> np.ndarray:
    """Eye centres and mouth point of 68 landmarks, ordered as :func:`canonical_points`."""
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got shape {points.shape}")
    mouth = points[list(_MOUTH_CORNERS)].mean(axis=0)
    return np.stack([points[_LEFT_EYE].mean(axis=0), points[_RIGHT_EYE].mean(axis=0), mouth])


def similarity_from_landmarks(landmarks: np.ndarray, size: int, window: float | None = None) -> np.ndarray:
    """The similarity transform that puts a face into the canonical ``size x size`` frame.

    Rotation levels the eye line; translation puts the eye midpoint at its canonical
    spot. Scale takes the larger of two estimates of the face's size, the inter-ocular
    distance and the eye-midpoint-to-mouth distance, each relative to its canonical
    value: a turned head (yaw) foreshortens the first and a nodding one (pitch) the
    second, and projection only ever shortens, so the larger is the less distorted.

    Parameters
    ----------
    landmarks : np.ndarray
        ``(68, 2)`` dlib landmarks, ``(x, y)`` in source pixels.
    size : int
        Output side in pixels.
    window : float, optional
        Face window, as for :func:`canonical_points`.

    Returns
    -------
    np.ndarray
        float64 ``(2, 3)`` matrix mapping source to output pixels (``cv2.warpAffine``
        convention).
    """
    left, right, mouth = _key_points(landmarks)
    c_left, c_right, c_mouth = canonical_points(size, window)
    eyes = right - left
    middle = (left + right) / 2
    c_middle = (c_left + c_right) / 2
    face = max(
        np.hypot(*eyes) / np.hypot(*(c_right - c_left)),
        np.hypot(*(mouth - middle)) / np.hypot(*(c_mouth - c_middle)),
    )
    if not face > 0:
        raise SampleError("degenerate landmarks: eye centres and mouth coincide")
    angle = np.arctan2(eyes[1], eyes[0])
    cos, sin = np.cos(angle) / face, np.sin(angle) / face
    linear = np.array([[cos, sin], [-sin, cos]])
    return np.hstack([linear, (c_middle - linear @ middle)[:, None]])


class FaceAligner:
    """Face detection on a clip's reference frame, and the clip's alignment.

    The dlib models it uses are the calling thread's own, so an instance is safe in
    any thread; :func:`aligner` keeps one per thread.

    Parameters
    ----------
    size : int
        Side of the aligned output.
    detect_max_side : int
        The first detection step runs on a copy down-scaled so that its long side is at
        most this (HOG cost grows with the pixel count; SAMM frames are 2040 x 1088);
        only when it finds no face do the fallbacks scan the full resolution. Landmarks
        are always placed on the full-resolution image.
    window : float, optional
        Face window (:func:`canonical_points`); ``None``, the canonical layout.
    """

    def __init__(self, size: int = 224, detect_max_side: int = 640, window: float | None = None) -> None:
        self.size = size
        self.detect_max_side = detect_max_side
        self.window = window

    def detect(self, image: np.ndarray) -> dict[str, Any]:
        """Find the subject's face and its landmarks, trying :data:`DETECT_STEPS` in order.

        The first step scans the fast down-scaled copy; only when it finds nothing do the
        fallbacks run: full resolution (a face smaller than the release's typical one),
        full resolution upsampled twice (down to ~60 px wide), and the scaled copy
        padded on every side (a face whose box reaches past the frame edges, as in
        pre-cropped releases). A box found reaching past the frame by an earlier step is
        looked for again in the padded copy, and its landmarks are placed on a padded
        full-resolution frame, so that the predictor too sees the whole box. Of the faces
        a step finds, the subject is the largest scored at least half as high as the best.

        Parameters
        ----------
        image : np.ndarray
            uint8 RGB ``(H, W, 3)`` or gray ``(H, W)`` / ``(H, W, 1)``.

        Returns
        -------
        dict
            ``landmarks`` float64 ``(68, 2)`` and ``box`` ``(left, top, right, bottom)``,
            both in the image's pixels (a padded step's may lie outside it); ``step``,
            the name of the step that found the face.

        Raises
        ------
        SampleError
            No face found by any step.
        """
        image = plain_image(image)
        detector, predictor = _models()
        height, width = image.shape[:2]
        scale = min(1.0, self.detect_max_side / max(height, width))
        small = image
        if scale < 1.0:
            small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        for step in DETECT_STEPS:
            if step == "full" and scale == 1.0:
                continue  # the scaled copy was the full frame
            box = _scan(detector, image, small, scale, step)
            if box is None:
                continue
            if step != "padded" and _overflow(box, image.shape):
                # HOG scored that box partly on missing pixels: the padded frame shows the
                # whole face, and places its box better
                padded = _scan(detector, image, small, scale, "padded")
                if padded is not None:
                    box, step = padded, "padded"
            break
        else:
            raise SampleError(
                f"no face found on the {width}x{height} reference frame (dlib HOG: {', '.join(DETECT_STEPS)})"
            )
        # the predictor reads pixels beyond the frame as black: it too must see a padded one
        overflow = _overflow(box, image.shape)
        pad = overflow + (box[2] - box[0]) // 4 if overflow else 0
        if pad:
            image = _pad(image, pad)
        shape = predictor(image, dlib.rectangle(*(v + pad for v in box)))
        points = np.array([(p.x - pad, p.y - pad) for p in shape.parts()], dtype=np.float64)
        return {"landmarks": points, "box": box, "step": step}

    def landmarks(self, image: np.ndarray) -> np.ndarray:
        """The 68 landmarks of the subject's face; see :meth:`detect`.

        Returns
        -------
        np.ndarray
            float64 ``(68, 2)``, ``(x, y)`` in the image's pixel coordinates.
        """
        return self.detect(image)["landmarks"]

    def align(
        self, frames: np.ndarray | Sequence[np.ndarray], gray: bool = False, reference: int = 0
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Align a clip by the face on its reference frame; see :func:`align_clip`."""
        info = self.transform(frames[reference])
        return warp_clip(frames, info["matrix"], self.size, gray=gray), info

    def transform(self, image: np.ndarray) -> dict[str, Any]:
        """:meth:`detect` on a clip's reference frame, plus the clip's ``matrix`` (source to
        output pixels) and the frame's ``frame_size`` ``(height, width)``."""
        face = self.detect(image)
        matrix = similarity_from_landmarks(face["landmarks"], self.size, self.window)
        return {**face, "matrix": matrix, "frame_size": tuple(np.shape(image)[:2])}


def aligner(size: int = 224, detect_max_side: int = 640, window: float | None = None) -> FaceAligner:
    """The calling thread's :class:`FaceAligner` for these settings, created on first use."""
    cache = getattr(_local, "aligners", None)
    if cache is None:
        cache = _local.aligners = {}
    key = (size, detect_max_side, window)
    if key not in cache:
        cache[key] = FaceAligner(size, detect_max_side, window)
    return cache[key]


def _scan(
    detector: Any, image: np.ndarray, small: np.ndarray, scale: float, step: str
) -> tuple[int, int, int, int] | None:
    """One detection step: the subject's face box ``(left, top, right, bottom)`` in source
    pixels, or None when the step finds no face.

    ``small`` is ``image`` down-scaled by ``scale`` (``image`` itself when 1).
    """
    pad = 0
    factor, upsample, target = scale, 0, small
    if step == "full":
        factor, target = 1.0, image
    elif step == "upsampled":
        factor, upsample, target = 1.0, 1, image
    elif step == "padded":
        pad = max(1, round(_PAD * max(small.shape[:2])))
        target = _pad(small, pad)
    faces, scores, _ = detector.run(target, upsample, 0.0)
    if not len(faces):
        return None
    confident = [f for f, score in zip(faces, scores) if score >= _MIN_RELATIVE_SCORE * max(scores)]
    face = max(confident, key=lambda rect: rect.area())
    left, top, right, bottom = (
        int(round((v - pad) / factor)) for v in (face.left(), face.top(), face.right(), face.bottom())
    )
    return left, top, right, bottom


def _overflow(box: tuple[int, int, int, int], shape: tuple[int, ...]) -> int:
    """How many pixels ``box`` reaches past the edges of a frame of ``shape`` (0 inside)."""
    left, top, right, bottom = box
    return max(0, -left, -top, right - shape[1], bottom - shape[0])


def _pad(image: np.ndarray, pad: int) -> np.ndarray:
    """``image`` with ``pad`` pixels of its mean colour added on every side."""
    fill = cv2.mean(image)
    return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=fill)


def plain_image(image: np.ndarray) -> np.ndarray:
    """A C-contiguous uint8 ``(H, W)`` or ``(H, W, 3)`` view of a frame, for dlib."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    plain = image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)
    if image.dtype != np.uint8 or not plain:
        raise SampleError(f"frame must be uint8 (H, W), (H, W, 1) or (H, W, 3), got {image.dtype} {image.shape}")
    return np.ascontiguousarray(image)


def warp_clip(
    frames: np.ndarray | Sequence[np.ndarray],
    matrix: np.ndarray,
    size: int,
    gray: bool = False,
    out: np.ndarray | None = None,
    bgr: bool = False,
) -> np.ndarray:
    """Warp every frame of a clip with the same transform.

    Bilinear interpolation. Where the canonical window reaches past the frame (a face
    near the edge, the margin around the chin) the output is 0 in every frame: replicated
    edge rows would smear whatever moves at the edge (shoulders, a collar) into streaks
    that rank pooling turns into strong false motion, whereas a constant pools to
    exactly 0.

    Parameters
    ----------
    frames : np.ndarray or sequence of np.ndarray
        uint8 ``(T, H, W, 3)`` RGB, or ``(T, H, W)`` / ``(T, H, W, 1)`` gray.
    matrix : np.ndarray
        ``(2, 3)`` source-to-output transform.
    size : int
        Output side.
    gray : bool
        Write one channel (RGB frames are converted after warping) instead of three
        (gray frames are replicated).
    out : np.ndarray, optional
        Preallocated uint8 ``(T, size, size, C)`` output, C = 1 if ``gray`` else 3.
    bgr : bool
        Colour frames come in OpenCV's BGR order; the output is RGB all the same.
        Interpolation is per channel, so warping first and swapping the channels of the
        small output gives the same bytes as swapping the source frame's first.

    Returns
    -------
    np.ndarray
        ``out``, filled.
    """
    count = len(frames)
    channels = 1 if gray else 3
    shape = (count, size, size, channels)
    if out is None:
        out = np.empty(shape, dtype=np.uint8)
    elif out.shape != shape or out.dtype != np.uint8:
        raise ValueError(f"out must be uint8 {shape}, got {out.dtype} {out.shape}")
    matrix = np.asarray(matrix, dtype=np.float64)
    plane = np.empty((size, size), dtype=np.uint8)
    colour = np.empty((size, size, 3), dtype=np.uint8)
    quad = np.empty((size, size, 4), dtype=np.uint8)
    padded: np.ndarray | None = None
    for index in range(count):
        frame = plain_image(frames[index])
        if frame.ndim == 2:
            # one channel warped, then replicated: a third of the work of warping RGB
            _warp(frame, matrix, out[index, :, :, 0] if gray else plane)
            if not gray:
                # cvtColor replicates ~50x faster than a numpy broadcast into the last axis
                cv2.cvtColor(plane, cv2.COLOR_GRAY2RGB, dst=out[index])
            continue
        dst = out[index, :, :, 0] if gray else out[index]
        if _four_channels_pay(frame.shape, size):
            if padded is None or padded.shape[:2] != frame.shape[:2]:
                padded = np.empty((*frame.shape[:2], 4), dtype=np.uint8)
            cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA, dst=padded)  # the same for RGB: adds a 4th
            cv2.cvtColor(_warp(padded, matrix, quad), _FROM_FOUR[bgr, gray], dst=dst)
        elif gray or bgr:
            cv2.cvtColor(_warp(frame, matrix, colour), _FROM_THREE[bgr, gray], dst=dst)
        else:
            _warp(frame, matrix, dst)
    return out


#: cvtColor codes from a warped frame to the output, by (BGR source, gray output)
_FROM_THREE = {(True, False): cv2.COLOR_BGR2RGB, (True, True): cv2.COLOR_BGR2GRAY, (False, True): cv2.COLOR_RGB2GRAY}
_FROM_FOUR = {
    (True, False): cv2.COLOR_BGRA2RGB,
    (True, True): cv2.COLOR_BGRA2GRAY,
    (False, False): cv2.COLOR_RGBA2RGB,
    (False, True): cv2.COLOR_RGBA2GRAY,
}
#: source pixels per output pixel below which a colour frame is warped with a 4th channel
_FOUR_CHANNELS_BELOW = 16


def _four_channels_pay(shape: tuple[int, ...], size: int) -> bool:
    """Whether warping a colour frame of ``shape`` padded to 4 channels is the faster way.

    OpenCV's bilinear warp is vectorised for 4 channels and not for 3: a 224 px output
    takes 0.16 ms from 4 channels against 0.39 ms from 3, with identical bytes in each
    channel (tested). Adding the channel costs a pass over the source frame (0.06 ms at
    640x480), which pays while the frame has fewer than about 24 times the output's
    pixels; the threshold keeps a margin.
    """
    return shape[0] * shape[1] < _FOUR_CHANNELS_BELOW * size * size


def _warp(frame: np.ndarray, matrix: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``cv2.warpAffine`` of one frame into the contiguous array ``dst``."""
    size = dst.shape[1], dst.shape[0]
    return cv2.warpAffine(
        frame, matrix, size, dst=dst, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )


def align_clip(
    frames: np.ndarray | Sequence[np.ndarray],
    size: int = 224,
    gray: bool = False,
    reference: int = 0,
    detect_max_side: int = 640,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Align a clip by the face on its reference (onset) frame.

    Uses the calling thread's :func:`aligner`.

    Parameters
    ----------
    frames : np.ndarray or sequence of np.ndarray
        uint8 frames, as for :func:`warp_clip`.
    size : int
        Output side.
    gray : bool
        One output channel instead of three.
    reference : int
        Index of the frame the face is found on.
    detect_max_side : int
        Long side above which detection runs on a down-scaled copy.

    Returns
    -------
    aligned : np.ndarray
        uint8 ``(T, size, size, 1 or 3)``.
    info : dict
        ``landmarks`` (68, 2), ``box`` and ``step`` of the reference frame's face (see
        :meth:`FaceAligner.detect`), ``matrix`` (2, 3) and ``frame_size``, the reference
        frame's ``(height, width)``.

    Raises
    ------
    SampleError
        No face on the reference frame, or frames of an unsupported type/shape.
    """
    return aligner(size, detect_max_side).align(frames, gray=gray, reference=reference)


def face_box(landmarks: np.ndarray, size: int) -> tuple[float, float, float, float]:
    """Where the predictor's box of an aligned image lies for a face with these landmarks.

    The canonical layout's box (the one :func:`aligned_landmarks` uses by default) carried
    to the face: by the inverse of the similarity that would align these landmarks, its
    rotation left out (the box is upright). For a face aligned to the canonical layout it
    is that box; for a face window or a registered crop resized whole, the box around
    wherever the face lies.

    Parameters
    ----------
    landmarks : np.ndarray
        ``(68, 2)`` landmarks in the image's pixels.
    size : int
        Side of the (square) image.

    Returns
    -------
    (float, float, float, float)
        ``(left, top, right, bottom)`` in units of ``size``.
    """
    matrix = similarity_from_landmarks(landmarks, size)
    scale = float(np.hypot(*matrix[:, 0]))
    linear = matrix[:, :2]
    box = np.asarray(_FACE_BOX, dtype=np.float64) * size
    centre = np.linalg.solve(linear, (box[:2] + box[2:]) / 2 - matrix[:, 2])
    half = (box[2:] - box[:2]) / (2 * scale)
    left, top = (centre - half) / size
    right, bottom = (centre + half) / size
    return float(left), float(top), float(right), float(bottom)


def to_output(points: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """Source-pixel points ``(K, 2)`` mapped by a ``(2, 3)`` source->output transform."""
    matrix = np.asarray(transform, dtype=np.float64)
    return np.asarray(points, dtype=np.float64) @ matrix[:, :2].T + matrix[:, 2]


def aligned_landmarks(image: np.ndarray, box: Sequence[float] | None = None) -> np.ndarray:
    """The 68 landmarks of an aligned (canonical layout) image, without detection.

    The face's place in an aligned image is known, so the shape predictor is given the
    box the detector would draw there (:data:`_FACE_BOX`) instead of searching for it:
    two frames of one clip then get landmarks from the same box, and what differs
    between them is what moved in the image. Images smaller than 448 px are enlarged
    first so that the predictor's whole-pixel output is finer than one image pixel.

    Parameters
    ----------
    image : np.ndarray
        uint8 ``(S, S)``, ``(S, S, 1)`` or ``(S, S, 3)`` aligned frame.
    box : sequence of 4 floats, optional
        The face's box ``(left, top, right, bottom)`` in units of S, where it is not the
        canonical layout's (a face window, a registered crop): see :func:`face_box`.

    Returns
    -------
    np.ndarray
        float64 ``(68, 2)``, ``(x, y)`` in the image's pixels.
    """
    image = plain_image(image)
    size = image.shape[0]
    factor = max(1, -(-_LANDMARK_MIN_SIDE // size))
    if factor > 1:
        image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
    box = dlib.rectangle(*(int(round(v * size * factor)) for v in (_FACE_BOX if box is None else box)))
    shape = _predictor()(image, box)
    points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    # pixel centres: x_small = (x_large + 0.5) / factor - 0.5 for a resize by ``factor``
    return (points + 0.5) / factor - 0.5
