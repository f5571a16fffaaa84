"""Synthetic faces: a packaged portrait placed in a frame, micro-expressions as smooth warps.

Everything here is a pure function of its arguments (random choices come from a
``numpy.random.Generator`` the caller owns), so :mod:`mepipe.synth` can render clips in
any thread order and still write the same bytes.

The portrait is scikit-image's ``astronaut`` (public domain, see ``data/PROVENANCE.md``);
its 68 dlib landmarks were computed once and ship beside it, so placing deformations
needs no detector at synthesis time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import cv2
import numpy as np

from mepipe.errors import MepipeError

#: width in portrait pixels of what a release calls the "face area": the dlib box
#: (90 px) plus the cheeks and forehead around it
_FACE_AREA_WIDTH = 120.0
#: the head (hair to chin) as an ellipse in portrait pixels: centre, semi-axes
_HEAD = ((226.0, 118.0), (80.0, 104.0))
#: shoulders and suit below the head, a polygon in portrait pixels
_TORSO = ((150, 165), (300, 165), (352, 300), (365, 512), (25, 512), (35, 300), (110, 230))
#: feathering of the subject's outline, portrait pixels
_FEATHER = 6.0
#: how far the warp reaches beyond its landmark, as a fraction of the face-area width
_REACH = 0.07

# dlib 68-point indices, named by image side of the unmirrored portrait
_BROW_L, _BROW_R = (17, 18, 19, 20, 21), (22, 23, 24, 25, 26)
_BROW_L_INNER, _BROW_R_INNER = (20, 21), (22, 23)
_LID_L_LOWER, _LID_R_LOWER = (40, 41), (46, 47)
_LID_L_UPPER, _LID_R_UPPER = (37, 38), (43, 44)
_NOSTRIL_L, _NOSTRIL_R = (31, 32), (34, 35)
_MOUTH_L, _MOUTH_R = (48,), (54,)
_LIP_UPPER, _LIP_LOWER = (50, 51, 52), (56, 57, 58)


@dataclass(frozen=True)
class Bump:
    """One Gaussian bump of a displacement field.

    Attributes
    ----------
    landmarks : tuple of int
        dlib indices whose centroid is the bump's centre.
    direction : (float, float)
        Displacement at the centre in portrait axes (x right, y down), relative size.
    """

    landmarks: tuple[int, ...]
    direction: tuple[float, float]


@dataclass(frozen=True)
class Pattern:
    """A micro-expression: bumps moved together, and its apex amplitude range.

    Attributes
    ----------
    bumps : tuple of Bump
    amplitude : (float, float)
        Range of the field's largest displacement at the apex, in pixels at full scale.
    """

    bumps: tuple[Bump, ...]
    amplitude: tuple[float, float] = (1.5, 3.0)


#: one pattern per emotion, after the FACS action units that define it
PATTERNS: dict[str, Pattern] = {
    # AU6+12: cheeks raised, mouth corners up and out
    "happiness": Pattern(
        (
            Bump(_MOUTH_L, (-0.6, -0.8)),
            Bump(_MOUTH_R, (0.6, -0.8)),
            Bump(_LID_L_LOWER, (0.0, -0.3)),
            Bump(_LID_R_LOWER, (0.0, -0.3)),
        )
    ),
    # AU1+2: brows raised
    "surprise": Pattern((Bump(_BROW_L, (0.0, -1.0)), Bump(_BROW_R, (0.0, -1.0)))),
    # AU9+10: nose wrinkled, upper lip raised
    "disgust": Pattern(
        (
            Bump(_NOSTRIL_L, (0.1, -0.7)),
            Bump(_NOSTRIL_R, (-0.1, -0.7)),
            Bump(_LIP_UPPER, (0.0, -1.0)),
        )
    ),
    # AU14+24: lips pressed together
    "repression": Pattern(
        (
            Bump(_LIP_UPPER, (0.0, 0.8)),
            Bump(_LIP_LOWER, (0.0, -0.8)),
            Bump(_MOUTH_L, (0.3, 0.0)),
            Bump(_MOUTH_R, (-0.3, 0.0)),
        )
    ),
    # AU4: brows lowered and drawn together
    "anger": Pattern(
        (
            Bump(_BROW_L_INNER, (0.6, 0.8)),
            Bump(_BROW_R_INNER, (-0.6, 0.8)),
        )
    ),
    # unilateral AU12/14: one mouth corner up
    "contempt": Pattern((Bump(_MOUTH_R, (0.4, -0.9)),)),
    # AU1+15: inner brows up, mouth corners down
    "sadness": Pattern(
        (
            Bump(_BROW_L_INNER, (0.2, -1.0)),
            Bump(_BROW_R_INNER, (-0.2, -1.0)),
            Bump(_MOUTH_L, (0.0, 1.0)),
            Bump(_MOUTH_R, (0.0, 1.0)),
        )
    ),
    # AU1+2+4+20: brows up and together, lips stretched
    "fear": Pattern(
        (
            Bump(_BROW_L_INNER, (0.5, -1.0)),
            Bump(_BROW_R_INNER, (-0.5, -1.0)),
            Bump(_MOUTH_L, (-1.0, 0.2)),
            Bump(_MOUTH_R, (1.0, 0.2)),
        )
    ),
    # AU7, weak: lower lids tightened
    "others": Pattern((Bump(_LID_L_LOWER, (0.0, -1.0)), Bump(_LID_R_LOWER, (0.0, -1.0))), amplitude=(1.0, 1.5)),
}

#: a blink: upper lids down (not an expression; amplitude in pixels at full scale)
BLINK = Pattern((Bump(_LID_L_UPPER, (0.0, 1.0)), Bump(_LID_R_UPPER, (0.0, 1.0))), amplitude=(2.0, 4.0))
#: per clip: chance of a blink, of each of up to two head jerks; jerk size (px at full
#: scale); half-widths in frames of a blink and of a jerk; range of the rise and fall
#: exponents of the expression's profile
BLINK_P, JERK_P = 0.8, 0.6
JERK_PX = (0.8, 2.0)
BLINK_FRAMES, JERK_FRAMES = (2, 4), (1, 3)
SHAPE_RANGE = (0.5, 2.0)

#: spellings used by the releases for the same emotion
_ALIASES = {
    "happy": "happiness",
    "sad": "sadness",
    "other": "others",
    # SMIC's classes: its positive clips are smiles, its negative ones mostly disgust
    "positive": "happiness",
    "negative": "disgust",
}
#: every emotion spelling with a pattern of its own
EMOTIONS: tuple[str, ...] = (*PATTERNS, *_ALIASES)


def pattern_for(emotion: str) -> Pattern:
    """The pattern of a sheet's emotion, any case or release spelling.

    An emotion with no pattern of its own (a release's private category) gets the weak
    ``others`` pattern: it is still a micro-movement, just not a basic emotion.
    """
    key = emotion.strip().lower()
    return PATTERNS.get(_ALIASES.get(key, key), PATTERNS["others"])


@dataclass(frozen=True)
class Portrait:
    """The source photo (BGR uint8) and its 68 landmarks (float, x/y in pixels)."""

    image: np.ndarray
    points: np.ndarray


@lru_cache(maxsize=1)
def portrait() -> Portrait:
    """The packaged portrait and landmarks, read once."""
    data = resources.files("mepipe").joinpath("data")
    encoded = np.frombuffer(data.joinpath("astronaut.png").read_bytes(), np.uint8)
    image = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    if image is None:
        raise MepipeError("mepipe/data/astronaut.png: not a readable image (a damaged installation)")
    points = np.asarray(json.loads(data.joinpath("astronaut_landmarks.json").read_text())["points"], float)
    image.flags.writeable = False
    points.flags.writeable = False
    return Portrait(image, points)


@dataclass(frozen=True)
class Look:
    """How one synthetic subject differs from the others.

    Attributes
    ----------
    size : float
        Face size relative to the release's typical face area.
    angle : float
        In-plane head rotation, degrees (small: the build's detector is frontal).
    centre : (float, float)
        Face-area centre as fractions of the frame's width and height.
    brightness, gamma : float
        Lighting: additive offset in grey levels and gamma applied to the whole frame.
    mirror : bool
        Flip the portrait left-right.
    backdrop : (float, float, float)
        Backdrop colour (BGR grey levels) behind the subject.
    """

    size: float
    angle: float
    centre: tuple[float, float]
    brightness: float
    gamma: float
    mirror: bool
    backdrop: tuple[float, float, float]


def _backdrop_colour(rng: np.random.Generator, grey: float) -> tuple[float, float, float]:
    """Three channels near ``grey``, drawn in channel order."""
    first, second, third = (float(grey + rng.uniform(-15, 15)) for _ in range(3))
    return first, second, third


def random_look(rng: np.random.Generator) -> Look:
    """A plausible subject: everything varies, within what a frontal detector still finds."""
    grey = rng.uniform(150, 215)
    return Look(
        size=float(rng.uniform(0.9, 1.1)),
        angle=float(rng.uniform(-6, 6)),
        centre=(float(rng.uniform(0.44, 0.56)), float(rng.uniform(0.46, 0.54))),
        brightness=float(rng.uniform(-20, 20)),
        gamma=float(rng.uniform(0.8, 1.25)),
        mirror=bool(rng.integers(2)),
        backdrop=_backdrop_colour(rng, grey),
    )


@dataclass(frozen=True)
class Stage:
    """A subject placed in a frame, neutral, ready to be warped.

    Attributes
    ----------
    canvas : ndarray
        The neutral frame, uint8, ``(H, W)`` for grey or ``(H, W, 3)`` BGR.
    points : ndarray
        The 68 landmarks in canvas pixels.
    axes : ndarray
        2x2 map from portrait directions to canvas directions (rotation and mirror,
        unit scale): patterns are written in portrait axes.
    roi : (slice, slice)
        Rows and columns holding the subject; only they move.
    head : ndarray
        Soft subject mask over ``roi`` (float32, 1 on the subject): head drift moves the
        subject, not the backdrop.
    grid : ndarray
        ``(rows, cols, 2)`` float32 canvas coordinates (x, y) of the roi's pixels.
    face_width : float
        Width of the face area in canvas pixels.
    """

    canvas: np.ndarray
    points: np.ndarray
    axes: np.ndarray
    roi: tuple[slice, slice]
    head: np.ndarray
    grid: np.ndarray
    face_width: float


def place(look: Look, size: tuple[int, int], face_width: float, gray: bool, rng: np.random.Generator) -> Stage:
    """Render the neutral frame of a subject.

    Parameters
    ----------
    look : Look
    size : (int, int)
        Frame (width, height).
    face_width : float
        The release's typical face-area width in pixels at this frame size; the subject's
        is ``face_width * look.size``.
    gray : bool
        One channel instead of BGR.
    rng : Generator
        Draws the backdrop's slow shading.
    """
    source = portrait()
    width, height = size
    image, points = source.image, source.points
    flip = np.eye(3)
    if look.mirror:
        flip = np.array([[-1.0, 0, image.shape[1] - 1], [0, 1, 0], [0, 0, 1]])
    zoom = face_width * look.size / _FACE_AREA_WIDTH
    anchor = flip[:2] @ np.array([*np.mean(points, axis=0), 1.0])
    placement = cv2.getRotationMatrix2D(tuple(anchor), look.angle, zoom)
    placement[:, 2] += np.array([look.centre[0] * width, look.centre[1] * height]) - anchor
    transform = placement @ flip
    if gray:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    # upscaling by 2-4x: Lanczos keeps the edges the HOG detector relies on
    subject = cv2.warpAffine(image, transform, size, flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.warpAffine(_subject_mask(image.shape[:2]), transform, size, flags=cv2.INTER_LINEAR)
    backdrop = _backdrop(size, look.backdrop[:1] if gray else look.backdrop, rng)
    alpha = mask if gray else mask[..., None]
    canvas = alpha * subject.astype(np.float32) + (1 - alpha) * backdrop
    canvas = _lighting(np.clip(canvas, 0, 255).astype(np.uint8), look.brightness, look.gamma)
    rows, cols = np.nonzero(mask > 1e-3)
    # room for the head drift, which carries the outline a pixel or two outwards
    margin = int(np.ceil(0.05 * face_width)) + 2
    roi = (
        slice(max(int(rows.min()) - margin, 0), min(int(rows.max()) + margin + 1, height)),
        slice(max(int(cols.min()) - margin, 0), min(int(cols.max()) + margin + 1, width)),
    )
    linear = transform[:, :2]
    ys, xs = np.mgrid[roi].astype(np.float32)
    return Stage(
        canvas=canvas,
        points=points @ linear.T + transform[:, 2],
        axes=linear / np.sqrt(abs(np.linalg.det(linear))),
        roi=roi,
        head=np.ascontiguousarray(mask[roi]),
        grid=np.dstack([xs, ys]),
        face_width=face_width * look.size,
    )


def _subject_mask(shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.float32)
    (cx, cy), (ax, ay) = _HEAD
    cv2.ellipse(mask, (round(cx), round(cy)), (round(ax), round(ay)), 0, 0, 360, 1.0, -1)
    cv2.fillPoly(mask, [np.array(_TORSO, np.int32)], 1.0)
    return cv2.GaussianBlur(mask, (0, 0), _FEATHER)


def _backdrop(size: tuple[int, int], colour: Sequence[float], rng: np.random.Generator) -> np.ndarray:
    width, height = size
    # a few random shading cells blown up: the slow falloff of studio lighting
    cells = rng.uniform(-12, 12, size=(3, 4, 1)).astype(np.float32)
    shade = cv2.resize(cells, size, interpolation=cv2.INTER_CUBIC).reshape(height, width, 1)
    plane = shade + np.asarray(colour, np.float32)
    return plane[..., 0] if len(colour) == 1 else plane


def _lighting(image: np.ndarray, brightness: float, gamma: float) -> np.ndarray:
    levels = np.arange(256) / 255.0
    table = np.clip(255.0 * levels**gamma + brightness, 0, 255)
    return cv2.LUT(image, np.rint(table).astype(np.uint8))


def displacement_field(stage: Stage, pattern: Pattern, amplitude: float) -> np.ndarray:
    """The pattern's displacement over ``stage.roi`` at the apex.

    Parameters
    ----------
    stage : Stage
    pattern : Pattern
    amplitude : float
        Largest displacement in the field, in pixels.

    Returns
    -------
    ndarray
        ``(rows, cols, 2)`` float32, x and y displacement of the content at each pixel;
        its largest magnitude is exactly ``amplitude``.
    """
    rows, cols = stage.roi
    ys = np.arange(rows.start, rows.stop, dtype=np.float32)[:, None]
    xs = np.arange(cols.start, cols.stop, dtype=np.float32)[None, :]
    field = np.zeros((ys.shape[0], xs.shape[1], 2), np.float32)
    reach = _REACH * stage.face_width
    for bump in pattern.bumps:
        cx, cy = stage.points[list(bump.landmarks)].mean(axis=0)
        weight = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * reach * reach))
        field += weight[..., None] * (stage.axes @ np.asarray(bump.direction)).astype(np.float32)
    return field * np.float32(amplitude / np.linalg.norm(field, axis=2).max())


@dataclass(frozen=True)
class ClipMotion:
    """What moves in a clip besides the expression and the steady head drift.

    Real clips are not a steady rise to the apex: eyes blink, the head jerks briefly,
    and the expression rises and falls at different speeds. Each makes motion intensity
    non-monotone in time, so MIDI's motion order differs from time order.

    Attributes
    ----------
    rise, fall : float
        Exponents of the profile's phase on each side of the apex (1: raised cosine;
        below 1 fast then slow, above 1 slow then fast).
    blinks : tuple of (frame, half_width, amplitude)
        Upper-lid closures (:data:`BLINK`), a raised-cosine pulse in time, pixels.
    jerks : tuple of (frame, half_width, dx, dy)
        Brief head displacements that return, pixels.
    """

    rise: float = 1.0
    fall: float = 1.0
    blinks: tuple[tuple[int, int, float], ...] = ()
    jerks: tuple[tuple[int, int, float, float], ...] = ()


def random_motion(rng: np.random.Generator, onset: int, offset: int, scale: float) -> ClipMotion:
    """A clip's blinks, jerks and profile shape, drawn from ``rng``; events after the onset frame."""
    low, high = np.log(SHAPE_RANGE)
    rise, fall = np.exp(rng.uniform(low, high, size=2))
    blinks, jerks = [], []
    if offset > onset and rng.random() < BLINK_P:
        blinks.append(
            (
                int(rng.integers(onset + 1, offset + 1)),
                int(rng.integers(BLINK_FRAMES[0], BLINK_FRAMES[1] + 1)),
                float(rng.uniform(*BLINK.amplitude) * scale),
            )
        )
    for _ in range(2):
        if offset > onset and rng.random() < JERK_P:
            angle, size = rng.uniform(0, 2 * np.pi), rng.uniform(*JERK_PX) * scale
            jerks.append(
                (
                    int(rng.integers(onset + 1, offset + 1)),
                    int(rng.integers(JERK_FRAMES[0], JERK_FRAMES[1] + 1)),
                    float(size * np.cos(angle)),
                    float(size * np.sin(angle)),
                )
            )
    return ClipMotion(float(rise), float(fall), tuple(blinks), tuple(jerks))


def pulse(numbers: np.ndarray, centre: int, half_width: int) -> np.ndarray:
    """A raised-cosine pulse: 1 at ``centre``, 0 from ``half_width`` frames away."""
    distance = np.abs(np.asarray(numbers, float) - centre) / max(half_width, 1)
    return np.where(distance < 1, 0.5 + 0.5 * np.cos(np.pi * np.minimum(distance, 1)), 0.0)


def temporal_profile(
    numbers: np.ndarray, onset: int, apex: int, offset: int, rise: float = 1.0, fall: float = 1.0
) -> np.ndarray:
    """Expression strength per frame: 0 at onset and offset, 1 at the apex.

    A raised-cosine rise from onset to apex and fall from apex to offset, of the phase
    raised to ``rise`` (``fall``): smooth, and monotone on each side. Frames outside
    ``[onset, offset]`` are 0. An apex on the onset (or offset) has no rise (or fall):
    that frame is 1.
    """
    n = np.asarray(numbers, float)
    rise_phase = ((n - onset) / max(apex - onset, 1)).clip(0, 1) ** rise
    fall_phase = ((offset - n) / max(offset - apex, 1)).clip(0, 1) ** fall
    phase = np.where(n <= apex, rise_phase, fall_phase)
    strength = 0.5 - 0.5 * np.cos(np.pi * np.clip(phase, 0.0, 1.0))
    return np.where((n < onset) | (n > offset), 0.0, np.where(n == apex, 1.0, strength))


def render(stage: Stage, motion: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """One frame: the stage warped by ``motion`` over its roi, plus sensor noise.

    Parameters
    ----------
    stage : Stage
    motion : ndarray
        ``(rows, cols, 2)`` float32 displacement of the content over ``stage.roi``.
    noise : ndarray
        int16, the canvas's shape: added with saturation.
    """
    rows, cols = stage.roi
    # remap pulls: content moved by d at x is read back from x - d
    warped = cv2.remap(stage.canvas, stage.grid - motion, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    frame = stage.canvas.copy()
    frame[rows, cols] = warped
    return cv2.add(frame, noise, dtype=cv2.CV_8U)


def noise_bank(rng: np.random.Generator, shape: tuple[int, ...], sigma: float, pad: int) -> np.ndarray:
    """Gaussian sensor noise (int16) for a whole clip: ``shape`` enlarged by ``pad`` rows and columns.

    Drawing fresh noise for every frame would cost more than the warp and the JPEG
    encoder together; :func:`noise_frame` cuts each frame's noise out of this bank at a
    random offset instead.
    """
    big = (shape[0] + pad, shape[1] + pad, *shape[2:])
    return np.rint(rng.standard_normal(big, dtype=np.float32) * sigma).astype(np.int16)


def noise_frame(bank: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """One frame's noise: a ``shape`` window of ``bank`` at a random offset (a view)."""
    top = int(rng.integers(bank.shape[0] - shape[0] + 1))
    left = int(rng.integers(bank.shape[1] - shape[1] + 1))
    return bank[top : top + shape[0], left : left + shape[1]]


def expression_frames(
    stage: Stage,
    pattern: Pattern,
    amplitude: float,
    numbers: Sequence[int],
    span: tuple[int, int, int],
    drift: tuple[float, float],
    rng: np.random.Generator,
    sigma: float = 2.0,
    motion: ClipMotion | None = None,
) -> Iterator[np.ndarray]:
    """Frames of one clip: the pattern rising to ``amplitude`` at the apex, head drifting.

    Parameters
    ----------
    stage : Stage
    pattern : Pattern
    amplitude : float
        Largest displacement at the apex, pixels.
    numbers : sequence of int
        Frame numbers to render.
    span : (int, int, int)
        Onset, apex (peak of the profile) and offset frame numbers.
    drift : (float, float)
        Head displacement (x, y) in pixels reached at the offset, growing linearly.
    rng : Generator
        Sensor noise.
    sigma : float
        Sensor noise standard deviation, grey levels.
    motion : ClipMotion, optional
        Profile shape, blinks and head jerks (none by default).

    Yields
    ------
    ndarray
        uint8 frames, in the order of ``numbers``.
    """
    onset, apex, offset = span
    motion = motion or ClipMotion()
    frame_numbers = np.asarray(numbers)
    field = displacement_field(stage, pattern, amplitude)
    strength = temporal_profile(frame_numbers, onset, apex, offset, motion.rise, motion.fall)
    length = max(offset - onset, 1)
    # head position per frame: the steady drift plus the jerks
    shift = (frame_numbers[:, None] - onset) / length * np.asarray(drift, float)
    for centre, half_width, dx, dy in motion.jerks:
        shift = shift + pulse(frame_numbers, centre, half_width)[:, None] * np.array([dx, dy])
    lids = [(pulse(frame_numbers, c, w), displacement_field(stage, BLINK, a)) for c, w, a in motion.blinks]
    bank = noise_bank(rng, stage.canvas.shape, sigma, pad=16)
    for i, weight in enumerate(strength):
        moved = np.float32(weight) * field + stage.head[..., None] * shift[i].astype(np.float32)
        for closing, lid in lids:
            moved += np.float32(closing[i]) * lid
        yield render(stage, moved, noise_frame(bank, stage.canvas.shape, rng))
