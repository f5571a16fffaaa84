"""The quality flags' measures on clean synthetic builds and on constructed bad clips.

Justifies the thresholds of :mod:`mepipe.report.quality`: for each synthetic release some clips
are left clean, some get a bright object moving through the background (motion off the
face) and some a head that slides steadily (head motion). Each store is built, and every
sample measured as ``mepipe report`` measures it, with the landmarks and transform found
again on its onset frame exactly as the build finds them.

``python -m bench.quality [--clips N]``
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import cv2
import numpy as np

from mepipe.build import build
from mepipe.engine.config import BuildConfig
from mepipe.engine.stages import detect_side
from mepipe.imaging import align
from mepipe.pipelines import get_recipe
from mepipe.release import frames
from mepipe.report import quality
from mepipe.store import OK, open_store, read_columns
from mepipe.synth import synthesize

OUT = Path(__file__).parent / "out" / "quality"
#: dataset: (scale, subjects); clips per subject from --clips
CASES = {"casme2": (0.5, 6), "samm": (0.25, 6)}
SIZE = 224


def _rewrite(paths: list[Path], change) -> None:
    """Re-encode a clip's frames after ``change(frame, fraction of the clip)``."""
    for index, path in enumerate(paths):
        frame = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        changed = change(frame, index / max(len(paths) - 1, 1))
        cv2.imwrite(str(path), changed, [cv2.IMWRITE_JPEG_QUALITY, 90])


def _blob(transform: np.ndarray):
    """A bright disc crossing the top of the face window, above the brows: motion off the
    face. Placed in output units of the clip's own transform, drawn in source pixels."""
    inverse = cv2.invertAffineTransform(transform)
    radius = int(round(0.04 * SIZE / np.hypot(*transform[0, :2])))

    def draw(frame: np.ndarray, t: float) -> np.ndarray:
        centre = align.to_output(np.array([[(0.05 + 0.15 * t) * SIZE, 0.1 * SIZE]]), inverse)[0]
        out = frame.copy()
        colour = (255, 255, 255) if frame.ndim == 3 else 255
        cv2.circle(out, tuple(int(round(v)) for v in centre), radius, colour, -1, cv2.LINE_AA)
        return out

    return draw


def _slide(frame: np.ndarray, t: float) -> np.ndarray:
    """The whole picture sliding 4 % of the frame width over the clip: head motion."""
    height, width = frame.shape[:2]
    shift = np.float32([[1, 0, 0.04 * width * t], [0, 1, 0.02 * width * t]])
    return cv2.warpAffine(frame, shift, (width, height), borderMode=cv2.BORDER_REPLICATE)


def make_release(dataset: str, clips: int) -> tuple[Path, dict[str, str]]:
    """A synthetic release with constructed bad clips; sample id -> case."""
    scale, subjects = CASES[dataset]
    root = OUT / dataset
    shutil.rmtree(root, ignore_errors=True)
    report = synthesize(dataset, root, subjects=subjects, clips_per_subject=clips, scale=scale, seed=3, progress=False)
    recipe = get_recipe(dataset)
    cases = {}
    for number, sample in enumerate(report.samples):
        case = ("clean", "clean", "background", "slide")[number % 4]
        cases[sample.sample_id] = case
        if case != "clean":
            paths = _frame_paths(recipe, root, sample)
            change = _slide
            if case == "background":
                change = _blob(_geometry(recipe, paths[0])[1])
            _rewrite(paths, change)
    return root, cases


def _frame_paths(recipe, root: Path, sample) -> list[Path]:
    """The frames synth wrote for ``sample``, onset first."""
    folder = root / recipe.frame_dir(sample)
    return [folder / recipe.frame_name(sample, n) for n in range(sample.onset, sample.offset + 1)]


def _geometry(recipe, onset_path: Path) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Landmarks, transform and frame size of a clip, found on its onset as the build does."""
    onset = frames.read_frame(onset_path, recipe.color)
    side = detect_side(recipe, onset.shape, BuildConfig(recipe.name).detect_face_px)
    landmarks = align.FaceAligner(SIZE, side).landmarks(onset)
    return landmarks, align.similarity_from_landmarks(landmarks, SIZE), onset.shape[:2]


def measure_store(dataset: str, root: Path, store: str) -> list[tuple[str, quality.Measures, float]]:
    """Every ok sample's measures, the geometry found again on its onset frame, and the
    share of the window outside its face hull (what noise alone gives as ``off_face``)."""
    recipe = get_recipe(dataset)
    samples = {s.sample_id: s for s in recipe.read(recipe.find_sheet(root))}
    group = open_store(store)
    table = read_columns(group)
    out = []
    for index in np.flatnonzero(table["status"] == OK):
        sample = samples[str(table["sample_id"][index])]
        landmarks, transform, frame_size = _geometry(recipe, _frame_paths(recipe, root, sample)[0])
        measures = quality.measure(
            group["onset"][index],
            group["apex"][index],
            group["trdi"][index],
            str(table["repair"][index]),
            transform=transform,
            frame_size=frame_size,
            landmarks=landmarks,
            detect_step="scaled",
        )
        outside = 1 - quality.face_mask(landmarks, transform, SIZE).mean()
        out.append((sample.sample_id, measures, float(outside)))
    return out


def _row(name: str, values: list[float]) -> str:
    if not values:
        return f"  {name:<12} -"
    q = np.percentile(values, [0, 50, 95, 100])
    return f"  {name:<12} n={len(values):3d}  min {q[0]:.3f}  median {q[1]:.3f}  p95 {q[2]:.3f}  max {q[3]:.3f}"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.quality")
    parser.add_argument("--clips", type=int, default=8, help="clips per subject")
    args = parser.parse_args(argv)
    for dataset in CASES:
        root, cases = make_release(dataset, args.clips)
        store = str(OUT / f"{dataset}.zarr")
        build(dataset, root, store, size=SIZE, overwrite=True, progress=False)
        measured = measure_store(dataset, root, store)
        print(f"{dataset}: {len(measured)} samples at {SIZE} px")
        print(" share of the window outside the face hull")
        print(_row("all", [outside for _, _, outside in measured]))
        for what in ("off_face", "head_motion", "window_outside"):
            print(f" {what}")
            for case in ("clean", "background", "slide"):
                values = [getattr(m, what) for sid, m, _ in measured if cases[sid] == case]
                print(_row(case, values))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
