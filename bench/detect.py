"""What each face-detection step costs, against the first one (the scaled copy).

A face of the release's typical width is found by the first step alone, as fast as
before the fallbacks existed; a smaller face, or one overflowing the frame, costs the
steps tried before the one that finds it as well. The portrait is placed as the build
sees it (CASME-II RGB 640x480, SAMM gray 2040x1088, a 280x340 tight crop) and detected
with the recipe's detection copy; each time is the median of a few runs.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from mepipe.engine.config import BuildConfig
from mepipe.engine.stages import detect_side
from mepipe.imaging import align
from mepipe.pipelines import get_recipe
from mepipe.synth import faces

#: (recipe, frame (width, height), face-area widths in px; the first is the typical one)
CASES = (
    ("casme2", (640, 480), (280, 120, 80, 60)),
    ("samm", (2040, 1088), (400, 120, 80, 60)),
    ("casme2", (280, 340), (300, 470, 585)),
)


def frame(recipe: str, size: tuple[int, int], width: float) -> np.ndarray:
    """The portrait centred in a frame as the release holds it (gray for SAMM)."""
    gray = get_recipe(recipe).color == "gray"
    look = faces.Look(
        size=1.0, angle=3.0, centre=(0.5, 0.5), brightness=0.0, gamma=1.0, mirror=False, backdrop=(170.0, 175.0, 180.0)
    )
    canvas = faces.place(look, size, width, gray, np.random.default_rng(0)).canvas
    return canvas if gray else cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.detect", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{'frame':10} {'face px':>7} {'step':>10} {'ms':>8} {'x first step':>12}")
    for recipe, size, widths in CASES:
        baseline = None
        for width in widths:
            image = frame(recipe, size, width)
            side = detect_side(get_recipe(recipe), image.shape, BuildConfig(recipe).detect_face_px)
            aligner = align.FaceAligner(224, side)
            aligner.detect(image)  # the thread's dlib models load on first use, untimed
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                step = aligner.detect(image)["step"]
                times.append(time.perf_counter() - start)
            ms = 1e3 * float(np.median(times))
            baseline = baseline or ms
            print(f"{size[0]}x{size[1]:<5} {width:7d} {step:>10} {ms:8.1f} {ms / baseline:12.1f}")


if __name__ == "__main__":
    main()
