"""A real face deformed by a known smooth field: ground truth for optical flow.

Import it from a test (``from tests.deform import face_clip, output_flow``)::

    clip = face_clip(n_frames=9, bump=2.0, shift=(0.3, -0.2))  # sizes in 224 px output pixels
    aligned, info = align_clip(clip.frames)                    # one transform from the onset
    flow = optical_flow(aligned[0], aligned[-1])
    expected = output_flow(clip.true_flow, info["matrix"], 224, t=8)   # (224, 224, 2)
    epe = np.hypot(*(flow - expected).transpose(2, 0, 1))

:func:`face_clip` places the packaged portrait with :func:`mepipe.synth.faces.place` and
deforms it with :func:`deformed_clip`, which takes any image. :func:`affine_flow` is a flow
field whose strain is known in closed form.

Frame ``t`` of the clip is the image with its content moved by ``s(t) * d``, where
``s(t) = t / (n_frames - 1)`` grows from 0 at the onset (the image itself) to 1 at the
last frame, and ``d`` is a global ``shift`` plus a Gaussian bump of peak ``bump_px``
around ``centre``, all in the image's pixels. The content at ``q`` on the onset is at
``q + s(t) d(q)`` on frame t *exactly* (the frame is rendered through the inverse of
that map, solved by fixed-point iteration), so the onset -> frame t flow in OpenCV's
convention (``onset(p) ~ frame(p + flow(p))``) is ``s(t) d(p)``, with no second-order
error of the kind a frame rendered by ``image(p - d(p))`` would carry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from mepipe.synth import faces

#: displacement of the content, ``true_flow(points, t)``: ``points`` ``(..., 2)`` x/y in
#: the image's pixels, result ``(..., 2)`` in the same pixels, onset -> frame t
TrueFlow = Callable[[np.ndarray, int], np.ndarray]


def deformed_clip(
    image: np.ndarray,
    n_frames: int,
    shift: Sequence[float],
    bump_px: float,
    centre: Sequence[float],
    sigma: float,
    direction: Sequence[float] = (0.0, -1.0),
    noise: float = 0.0,
    seed: int = 0,
) -> tuple[list[np.ndarray], TrueFlow]:
    """Frames of a clip whose content moves by a known field, and that field.

    Parameters
    ----------
    image : np.ndarray
        uint8 ``(H, W)`` or ``(H, W, C)``: the onset frame.
    n_frames : int
        Clip length (at least 2); the field grows linearly from frame 0 to the last.
    shift : (float, float)
        Global displacement (x, y) at the last frame, pixels (sub-pixel in the tests).
    bump_px : float
        Peak displacement of the local bump at the last frame, pixels.
    centre : (float, float)
        Bump centre (x, y), pixels.
    sigma : float
        Bump width (Gaussian standard deviation), pixels.
    direction : (float, float)
        Direction of the bump's displacement (normalised here); default up, as a brow raise.
    noise : float
        Standard deviation of Gaussian sensor noise added to frames 1.. (grey levels).
    seed : int
        Seed of that noise.

    Returns
    -------
    frames : list of np.ndarray
        ``n_frames`` uint8 frames, the shape of ``image``; the first is ``image`` itself.
    true_flow : callable
        ``true_flow(points, t)``, the displacement of the content at ``points``
        (``(..., 2)``, x/y) from frame 0 to frame ``t``.
    """
    if n_frames < 2:
        raise ValueError(f"a clip needs at least 2 frames, got {n_frames}")
    unit = np.asarray(direction, float) / np.linalg.norm(direction)
    shift_v, centre_v = np.asarray(shift, float), np.asarray(centre, float)

    def true_flow(points: np.ndarray, t: int) -> np.ndarray:
        points = np.asarray(points, float)
        weight = np.exp(-np.sum((points - centre_v) ** 2, axis=-1) / (2 * sigma**2))
        field = shift_v + bump_px * weight[..., None] * unit
        return field * (t / (n_frames - 1))

    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    target = np.dstack([xs, ys])
    rng = np.random.default_rng(seed)
    frames = [image]
    for t in range(1, n_frames):
        # the source q of output pixel y solves q + d(q) = y: a contraction by max|grad d|
        # (0.1-0.2 here), so 8 steps leave an error far below 1e-4 px
        source = target - true_flow(target, t)
        for _ in range(8):
            source = target - true_flow(source, t)
        maps = source.astype(np.float32)
        # Lanczos: bilinear interpolation would blur the moved frames and not the onset
        frame = cv2.remap(image, maps[..., 0], maps[..., 1], cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REPLICATE)
        if noise:
            frame = np.clip(frame + rng.normal(0.0, noise, frame.shape), 0, 255).astype(np.uint8)
        frames.append(frame)
    return frames, true_flow


def output_flow(true_flow: TrueFlow, matrix: np.ndarray, size: int, t: int) -> np.ndarray:
    """The true onset -> frame ``t`` flow in the pixels of a clip aligned by ``matrix``.

    The output pixel ``p`` shows source point ``q = M^-1 p`` in every frame (one transform
    for the whole clip), and a similarity maps displacements by its linear part ``L``, so
    the aligned flow is ``L d(M^-1 p)`` exactly.

    Parameters
    ----------
    true_flow : callable
        As :func:`deformed_clip` returns it.
    matrix : np.ndarray
        ``(2, 3)`` source -> output transform of the clip.
    size : int
        Output side.
    t : int
        Frame index.

    Returns
    -------
    np.ndarray
        float64 ``(size, size, 2)``, x/y displacement in output pixels.
    """
    linear, offset = np.asarray(matrix, float)[:, :2], np.asarray(matrix, float)[:, 2]
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    source = (np.dstack([xs, ys]) - offset) @ np.linalg.inv(linear).T
    return true_flow(source, t) @ linear.T


def affine_flow(gradient: np.ndarray, size: int, offset: Sequence[float] = (0.0, 0.0)) -> np.ndarray:
    """The flow ``offset + G p`` of an affine deformation over a ``size x size`` grid.

    Its infinitesimal strain is constant: ``e = (G + G^T) / 2``.

    Parameters
    ----------
    gradient : np.ndarray
        ``(2, 2)`` ``G = [[ux, uy], [vx, vy]]`` (``ux = du/dx`` ...).
    size : int
        Grid side.
    offset : (float, float)
        Flow at pixel (0, 0).

    Returns
    -------
    np.ndarray
        float64 ``(size, size, 2)``.
    """
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    return np.asarray(offset, float) + np.dstack([xs, ys]) @ np.asarray(gradient, float).T


#: the inter-ocular distance of the aligned output, in units of its side (mepipe.imaging.align)
_OUTPUT_IOD = 0.30


@dataclass(frozen=True)
class FaceClip:
    """A deformed real face (:func:`face_clip`) and what is known about it.

    Attributes
    ----------
    frames : list of np.ndarray
        uint8 frames (RGB, or gray), the onset first.
    true_flow : callable
        As :func:`deformed_clip` returns it.
    points : np.ndarray
        ``(68, 2)`` true landmarks of the onset, frame pixels.
    centre : np.ndarray
        Bump centre (x, y), frame pixels.
    sigma : float
        Bump width, frame pixels.
    """

    frames: list[np.ndarray]
    true_flow: TrueFlow
    points: np.ndarray
    centre: np.ndarray
    sigma: float


def placed(
    frame: tuple[int, int], face_width: float, angle: float = 0.0, mirror: bool = False, gray: bool = False
) -> tuple[np.ndarray, faces.Stage]:
    """The packaged portrait, neutral and evenly lit, centred in a ``frame`` (width, height)
    at face-area width ``face_width``, turned by ``angle`` degrees: the frame (RGB, or gray)
    and its :class:`~mepipe.synth.faces.Stage` (true landmarks, axes)."""
    look = faces.Look(
        size=1.0,
        angle=angle,
        centre=(0.5, 0.5),
        brightness=0.0,
        gamma=1.0,
        mirror=mirror,
        backdrop=(170.0, 175.0, 180.0),
    )
    stage = faces.place(look, frame, face_width, gray, np.random.default_rng(0))
    return (stage.canvas if gray else cv2.cvtColor(stage.canvas, cv2.COLOR_BGR2RGB)), stage


def face_clip(
    n_frames: int = 9,
    bump: float = 2.0,
    shift: Sequence[float] = (0.3, -0.2),
    sigma: float = 12.0,
    landmarks: Sequence[int] = (19,),
    direction: Sequence[float] = (0.0, -1.0),
    size: int = 224,
    frame: tuple[int, int] = (640, 480),
    face_width: float = 280.0,
    angle: float = 4.0,
    mirror: bool = False,
    gray: bool = False,
    noise: float = 0.0,
) -> FaceClip:
    """The packaged portrait placed as a release would show it, deformed by a known field.

    The face is placed with :func:`mepipe.synth.faces.place` (CASME-II's 640 x 480 frame
    and 280 px face area by default: eyes about 100 px apart). ``bump``, ``shift`` and
    ``sigma`` are given in the pixels of the ``size`` aligned output and converted to
    frame pixels by the ratio of the face's eye distance to the output's (0.30 ``size``):
    the alignment's scale to within the landmarks' accuracy. The truth itself is exact in
    frame pixels.

    Parameters
    ----------
    n_frames : int
        Clip length; the field grows linearly over it.
    bump, shift, sigma : float, (float, float), float
        Bump peak, global shift and bump width at the last frame, in output pixels (the
        shift's (x, y) are along the frame's axes).
    landmarks : sequence of int
        dlib indices whose centroid is the bump's centre (default: a brow).
    direction : (float, float)
        Bump direction in the portrait's axes (default up), turned and mirrored with it.
    size : int
        Output side the sizes refer to.
    frame, face_width, angle, mirror, gray : see :func:`mepipe.synth.faces.place`
        Frame (width, height), face-area width, rotation in degrees, mirror, one channel.
    noise : float
        Sensor noise standard deviation on the moved frames, grey levels.
    """
    image, stage = placed(frame, face_width, angle, mirror, gray)
    points = stage.points
    per_output_px = np.hypot(*(points[42:48].mean(axis=0) - points[36:42].mean(axis=0))) / (_OUTPUT_IOD * size)
    centre = points[list(landmarks)].mean(axis=0)
    frames, true_flow = deformed_clip(
        image,
        n_frames,
        shift=tuple(per_output_px * np.asarray(shift, float)),
        bump_px=per_output_px * bump,
        centre=centre,
        sigma=per_output_px * sigma,
        direction=tuple(stage.axes @ np.asarray(direction, float)),
        noise=noise,
    )
    return FaceClip(frames, true_flow, points, centre, per_output_px * sigma)


def face_mask(points: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The face in an aligned output: the convex hull of the landmarks mapped by ``matrix``.

    Parameters
    ----------
    points : np.ndarray
        ``(68, 2)`` landmarks in frame pixels.
    matrix : np.ndarray
        ``(2, 3)`` frame -> output transform.
    size : int
        Output side.

    Returns
    -------
    np.ndarray
        bool ``(size, size)``.
    """
    aligned = np.asarray(points, float) @ np.asarray(matrix, float)[:, :2].T + np.asarray(matrix, float)[:, 2]
    mask = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.rint(aligned).astype(np.int32)), 1)
    return mask.astype(bool)


def bump_error(flow: np.ndarray, clip: FaceClip, matrix: np.ndarray, t: int) -> tuple[float, np.ndarray]:
    """How far a measured flow is from the truth at the bump's centre, relative to the bump.

    Parameters
    ----------
    flow : np.ndarray
        ``(S, S, 2)`` measured onset -> frame ``t`` flow in output pixels.
    clip : FaceClip
        The clip it was measured on.
    matrix : np.ndarray
        The clip's frame -> output transform.
    t : int
        Frame index.

    Returns
    -------
    error : float
        ``|flow(c) - truth(c)| / |bump(c)|`` at the output pixel ``c`` nearest the bump
        centre, ``bump`` being the truth less the global shift.
    centre : np.ndarray
        ``c`` (x, y), output pixels.
    """
    matrix = np.asarray(matrix, float)
    linear = matrix[:, :2]
    col, row = np.rint(linear @ clip.centre + matrix[:, 2]).astype(int)
    source = np.linalg.solve(linear, np.array([col, row], float) - matrix[:, 2])
    truth = linear @ clip.true_flow(source, t)
    shift = linear @ clip.true_flow(clip.centre + 50 * clip.sigma, t)  # exp(-1250): the shift alone
    return float(np.hypot(*(flow[row, col] - truth)) / np.hypot(*(truth - shift))), np.array([col, row])


def true_strain(true_flow: TrueFlow, matrix: np.ndarray, size: int, t: int, step: float = 1e-3) -> np.ndarray:
    """The exact strain magnitude of the true field in the aligned output.

    The field's derivatives are taken from the analytic field by central differences of
    ``step`` frame pixels (error ~``step**2``, far below a pixel grid's). A similarity
    ``L = s R`` maps the Jacobian to ``R J R^T``: the strain magnitude, a rotation
    invariant, is the same in frame and output pixels.

    Returns
    -------
    np.ndarray
        float64 ``(size, size)``, ``sqrt(ux^2 + vy^2 + (uy + vx)^2 / 2)``.
    """
    matrix = np.asarray(matrix, float)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    source = (np.dstack([xs, ys]) - matrix[:, 2]) @ np.linalg.inv(matrix[:, :2]).T
    dx, dy = np.array([step, 0.0]), np.array([0.0, step])
    along_x = (true_flow(source + dx, t) - true_flow(source - dx, t)) / (2 * step)
    along_y = (true_flow(source + dy, t) - true_flow(source - dy, t)) / (2 * step)
    ux, vx, uy, vy = along_x[..., 0], along_x[..., 1], along_y[..., 0], along_y[..., 1]
    return np.sqrt(ux**2 + vy**2 + 0.5 * (uy + vx) ** 2)
