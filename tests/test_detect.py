"""Face detection finds every face, whatever its size: the cascade of ``align.DETECT_STEPS``.

The packaged portrait is placed (``faces.place``: known transform, so known true landmarks)
at face widths from 60 px to wider than the frame, and detected as the build does it: the
first step scans a copy scaled for the release's typical face (CASME-II 280 px in 640x480,
SAMM 400 px in 2040x1088), so smaller faces are left to the fallbacks.
"""

from __future__ import annotations

import numpy as np
import pytest

from mepipe.engine.config import BuildConfig
from mepipe.engine.stages import detect_side
from mepipe.imaging import align
from mepipe.pipelines import get_recipe

from .deform import placed

SIZE = 224
CASME2, SAMM, CROPPED = ("casme2", (640, 480)), ("samm", (2040, 1088)), ("casme2", (280, 340))

#: name: (recipe and frame (width, height), face-area width in px, rotation in degrees,
#: the step expected to find the face). Face-area width as in the recipes' ``face_width``:
#: dlib's box is ~3/4 of it, so a 60 px face has a ~45 px box, below HOG's 80 px window.
CASES = {
    "640x480-face60-rot10": (CASME2, 60, 10, "upsampled"),
    "640x480-face80-rot-7": (CASME2, 80, -7, "full"),
    "640x480-face120-rot5": (CASME2, 120, 5, "full"),
    "640x480-face250-rot-10": (CASME2, 250, -10, "scaled"),
    "640x480-full-frame-rot3": (CASME2, 480, 3, "scaled"),
    "2040x1088-face60-rot-10": (SAMM, 60, -10, "upsampled"),
    "2040x1088-face80-rot6": (SAMM, 80, 6, "full"),
    "2040x1088-face120-rot8": (SAMM, 120, 8, "full"),
    "2040x1088-face250-rot-3": (SAMM, 250, -3, "scaled"),
    "2040x1088-full-frame-rot-5": (SAMM, 1088, -5, "scaled"),
    # a tight face crop (CASME-II Cropped frames are 280x340): the box reaches past the frame
    "280x340-crop-rot3": (CROPPED, 470, 3, "padded"),
    # ... and only the padded frame shows HOG a face at all
    "280x340-crop-beyond-rot6": (CROPPED, 585, 6, "padded"),
}


def scene(recipe: str, frame: tuple[int, int], width: float, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """The portrait centred in a frame at face-area ``width``, rotated by ``angle``; the
    frame (RGB, or gray for SAMM as in the release) and the true landmarks in it."""
    image, stage = placed(frame, width, angle, gray=get_recipe(recipe).color == "gray")
    return image, stage.points


@pytest.mark.parametrize("name", CASES)
def test_every_face_is_found_and_aligned(name):
    (recipe, frame), face_width, angle, step = CASES[name]
    image, truth = scene(recipe, frame, face_width, angle)
    side = detect_side(get_recipe(recipe), image.shape, BuildConfig(recipe).detect_face_px)
    _, info = align.align_clip(image[None], size=SIZE, detect_max_side=side)
    assert info["step"] == step
    assert info["frame_size"] == image.shape[:2]
    # placement and alignment composed: where the true eye centres land in the output
    eyes = np.stack([truth[36:42].mean(axis=0), truth[42:48].mean(axis=0)])
    landed = eyes @ info["matrix"][:, :2].T + info["matrix"][:, 2]
    error = np.linalg.norm(landed - align.canonical_points(SIZE)[:2], axis=1).max()
    assert error < 0.02 * SIZE
    if (recipe, frame) == CROPPED:
        left, top, right, bottom = info["box"]
        assert min(left, top) < 0 or right > frame[0] or bottom > frame[1]
