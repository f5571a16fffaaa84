"""Quality flags of a built store: what each sample's arrays say about its alignment.

Every measure here is a function of arrays the store holds, and every flag a measure
compared with a fixed threshold (:data:`RULES`); ``mepipe report``
(:mod:`mepipe.report.page`) writes the thresholds on its page beside the flags. The
geometry arrays (``transform``, ``landmarks``, ``frame_size``, ``detect_step``) exist only
in stores built by recent versions; :func:`unavailable` says which flags a store cannot
support, rather than guessing them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import cv2
import numpy as np

from mepipe import __version__
from mepipe._shared.text import join_repairs, split_repairs
from mepipe.imaging.align import NO_FACE, aligned_landmarks, face_box, to_output

#: mean landmark displacement (output pixels) between the aligned onset and apex above
#: which the clip's one transform, found on the onset frame, no longer fits its apex
HEAD_MOTION_PX = 2.0
#: share of the output window lying outside the source frame above which a large part
#: of the aligned face is fill, not face
WINDOW_OUTSIDE_SHARE = 0.25
#: share of TRDI energy outside the face hull above which the dynamic image shows
#: something other than the face moving; see docs/quality.md for the measurements
OFF_FACE_SHARE = 0.8
#: the detection step of the normal case; any other means a fallback found the face
NORMAL_DETECT_STEP = "scaled"


@dataclass(frozen=True)
class Rule:
    """One kind of flag: its name, its threshold in words and why, the arrays it needs."""

    key: str
    title: str
    threshold: str
    needs: tuple[str, ...]
    why: str


RULES: tuple[Rule, ...] = (
    Rule(
        "head-motion",
        "head motion",
        f"mean displacement of the 68 landmarks between the aligned onset and apex frames "
        f"> {HEAD_MOTION_PX:g} px of the output: the clip's one transform does not hold",
        ("onset", "apex"),
        "Every frame of a clip is warped by the one transform found on its onset: a head that "
        "moved puts the apex face elsewhere, and the dynamic images show that move rather than "
        "the expression. On clean synthetic clips (224 px) the measure is 0.3-0.9 px: landmark "
        "noise plus the expression itself; a picture sliding 4 % of the frame gives 6.7-23 px.",
    ),
    Rule(
        "fallback-detection",
        "fallback detection",
        f"face found only by a fallback detection step (full, upsampled, padded), not on the {NORMAL_DETECT_STEP} "
        f"copy, or (registered crops, kept whole) by no step at all",
        ("detect_step",),
        "The normal detection, on a down-scaled copy, missed the face: it is small, cut off by "
        "the frame edge or unusual; its alignment deserves a look. A registered crop whose face "
        "no step found is built all the same, without landmarks (no head-motion or off-face measure).",
    ),
    Rule(
        "window-past-frame",
        "window past the frame",
        f"share of the output face window whose source lies outside the source frame > {WINDOW_OUTSIDE_SHARE:.0%}",
        ("transform", "frame_size"),
        "Where the window reaches past the frame the output is a constant fill, not face; past a "
        "quarter of the window a large part of the face area is missing.",
    ),
    Rule(
        "motion-off-face",
        "motion off the face",
        f"share of the TRDI energy outside the face hull (onset landmarks) > {OFF_FACE_SHARE:.0%}",
        ("trdi", "transform", "landmarks"),
        "Noise alone spreads the energy evenly, which gives the window's area outside the hull: "
        "0.66-0.69. Clean synthetic CASME-II and SAMM builds give 0.33-0.68, a small disc moving "
        "across the top of the window 0.92-0.99 (python -m bench.quality); 80 % lies between.",
    ),
    Rule(
        "apex-repaired",
        "apex estimated or moved",
        "the annotated apex was unusable and estimated from motion, or moved (see repairs)",
        ("repair",),
        "The apex decides which frames are pooled; an estimated one is the frame of peak motion "
        "intensity, which head drift can pull late in the clip.",
    ),
)


@dataclass(frozen=True)
class Measures:
    """What was measured on one sample; ``None`` where it could not be measured."""

    head_motion: float | None = None
    detect_step: str | None = None
    window_outside: float | None = None
    off_face: float | None = None
    apex_repairs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Flag:
    """A rule a sample breaks, with the measured value in words."""

    key: str
    detail: str


def unavailable(arrays: Collection[str]) -> dict[str, str]:
    """Rules a store cannot support, each with the reason.

    Parameters
    ----------
    arrays : collection of str
        Names of the arrays the store holds.

    Returns
    -------
    dict
        Rule key -> one line naming the missing arrays and the remedy.
    """
    out = {}
    for rule in RULES:
        missing = [name for name in rule.needs if name not in arrays]
        if missing:
            out[rule.key] = (
                f"cannot be computed for this store: it lacks {', '.join(missing)}, which only "
                f"newer builds record; rebuild it with this mepipe ({__version__})"
            )
    return out


def mean_displacement(before: np.ndarray, after: np.ndarray) -> float:
    """Mean Euclidean distance between corresponding points, ``(K, 2)`` each."""
    return float(np.mean(np.hypot(*(np.asarray(after, float) - np.asarray(before, float)).T)))


def head_motion(onset: np.ndarray, apex: np.ndarray, box: tuple[float, float, float, float] | None = None) -> float:
    """Mean landmark displacement between a clip's aligned onset and apex frames (pixels).

    Both frames were warped by the one transform of the clip, so a face that did not
    move stays where the onset's face was; landmarks come from the same box on both
    (:func:`mepipe.imaging.align.aligned_landmarks`): ``box`` (units of the side, see
    :func:`mepipe.imaging.align.face_box`), or the canonical layout's.
    """
    return mean_displacement(aligned_landmarks(onset, box), aligned_landmarks(apex, box))


def _square(width: float, height: float) -> np.ndarray:
    # pixel-area convention: pixel i covers [i - 0.5, i + 0.5]
    return np.array([[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5], [-0.5, height - 0.5]])


def window_outside(transform: np.ndarray, frame_size: tuple[int, int], size: int) -> float:
    """Share of the ``size x size`` output window whose source lies outside the frame.

    The source frame's rectangle is mapped into the output and clipped by the window; the
    share is one minus the overlap's area over the window's.

    Parameters
    ----------
    transform : np.ndarray
        ``(2, 3)`` source->output matrix (``cv2.warpAffine`` convention).
    frame_size : (int, int)
        Source frame ``(height, width)``.
    size : int
        Output side.
    """
    height, width = frame_size
    frame = to_output(_square(width, height), transform).astype(np.float32)
    area, _ = cv2.intersectConvexConvex(frame, _square(size, size).astype(np.float32))
    return float(max(0.0, 1.0 - area / size**2))


def face_mask(landmarks: np.ndarray, transform: np.ndarray, size: int) -> np.ndarray:
    """bool ``(size, size)``: inside the convex hull of source landmarks mapped to the output."""
    shift = 4  # sub-pixel vertices: 1/16 px
    points = np.round(to_output(landmarks, transform) * (1 << shift)).astype(np.int32)
    mask = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(points), 1, lineType=cv2.LINE_8, shift=shift)
    return mask.astype(bool)


def off_face_share(trdi: np.ndarray, mask: np.ndarray) -> float:
    """Share of a dynamic image's energy lying outside ``mask``.

    A stored TRDI is min-max scaled, so "no change" is some grey level rather than 0;
    the image's median (most pixels do not move) stands for it, per channel. Energy is
    the squared deviation from it; an image with none has no energy anywhere (0).

    Parameters
    ----------
    trdi : np.ndarray
        uint8 or float ``(S, S, C)``.
    mask : np.ndarray
        bool ``(S, S)``, the face.
    """
    image = np.asarray(trdi, dtype=np.float64)
    deviation = image - np.median(image, axis=(0, 1))
    energy = np.square(deviation).sum(axis=-1)
    total = energy.sum()
    return float(energy[~mask].sum() / total) if total > 0 else 0.0


def apex_repairs(repair: str) -> tuple[str, ...]:
    """The repairs of a sample's ``repair`` string that concern its apex.

    Reading the sheet (``check_span``), resolving frames and pooling word every apex
    repair with the word "apex" ("apex missing: estimated ...", "apex 12 == onset: ...",
    "apex estimated at frame 40"); no other repair mentions it.
    """
    return tuple(part for part in split_repairs(repair) if "apex" in part)


def measure(
    onset: np.ndarray,
    apex: np.ndarray,
    trdi: np.ndarray,
    repair: str,
    *,
    transform: np.ndarray | None = None,
    frame_size: np.ndarray | None = None,
    landmarks: np.ndarray | None = None,
    detect_step: str | None = None,
) -> Measures:
    """Every measure of one built sample; a geometry argument left ``None`` (the store
    lacks it) or holding NaN / -1 (not recorded for this sample) leaves its measure out.

    Parameters
    ----------
    onset, apex, trdi : np.ndarray
        The sample's stored aligned frames and TRDI, uint8 ``(S, S, C)``.
    repair : str
        The sample's ``repair``.
    transform, frame_size, landmarks, detect_step
        The sample's geometry arrays, where the store has them.
    """
    size = trdi.shape[0]
    if transform is not None and not np.all(np.isfinite(transform)):
        transform = None
    # landmarks recorded as missing (a registered crop whose face was not found)
    no_face = landmarks is not None and not np.all(np.isfinite(landmarks))
    if no_face:
        landmarks = None
    window = off_face = box = None
    if transform is not None and frame_size is not None and np.all(np.asarray(frame_size) > 0):
        window = window_outside(transform, (int(frame_size[0]), int(frame_size[1])), size)
    if transform is not None and landmarks is not None:
        off_face = off_face_share(trdi, face_mask(landmarks, transform, size))
        # where the face lies in the output: the canonical box, or a face window's, or
        # wherever a registered crop resized whole put it
        box = face_box(to_output(landmarks, transform), size)
    motion = None if no_face else head_motion(onset, apex, box)
    return Measures(
        head_motion=motion,
        detect_step=detect_step or None,
        window_outside=window,
        off_face=off_face,
        apex_repairs=apex_repairs(repair),
    )


def flags(measures: Measures) -> list[Flag]:
    """The rules of :data:`RULES` a sample's measures break, in :data:`RULES` order."""
    found = []
    if measures.head_motion is not None and measures.head_motion > HEAD_MOTION_PX:
        found.append(Flag("head-motion", f"{measures.head_motion:.1f} px"))
    if measures.detect_step == NO_FACE:
        found.append(Flag("fallback-detection", "no face found"))
    elif measures.detect_step is not None and measures.detect_step != NORMAL_DETECT_STEP:
        found.append(Flag("fallback-detection", measures.detect_step))
    if measures.window_outside is not None and measures.window_outside > WINDOW_OUTSIDE_SHARE:
        found.append(Flag("window-past-frame", f"{measures.window_outside:.0%}"))
    if measures.off_face is not None and measures.off_face > OFF_FACE_SHARE:
        found.append(Flag("motion-off-face", f"{measures.off_face:.0%}"))
    if measures.apex_repairs:
        found.append(Flag("apex-repaired", join_repairs(measures.apex_repairs)))
    return found
