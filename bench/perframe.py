"""mepipe against the per-frame pipeline public micro-expression code runs.

Public MER preprocessing (dynamic-image and optical-flow repositories alike) runs one
serial loop: for every frame of every clip, read it, find the face with dlib's HOG
detector, place the 68 landmarks, align and crop the frame by them, and pool the clip
with NumPy at the end. :func:`typical` is a faithful copy of that loop, given the
benefit of the doubt where repositories differ: detection without upsampling (most
upsample once, four times the pixels), the first face found, float64 NumPy rank pooling
(Bilen's weights) and a motion-ordered second image, both written as PNG.

Both run as fresh processes on the same 12-clip full-size synthetic CASME-II release
(``mepipe synth --dataset casme2``), so each pays its own imports and model loading, as a
user does: ``python -m bench.perframe --typical ROOT OUT`` and ``mepipe build``. The
target is a ratio of at least 10. A second row runs the per-frame pipeline with the
detector upsampling once, as dlib's own examples (``detector(img, 1)``) and
``face_recognition``'s default do, and many repositories copy.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from bench.build import OUT
from bench.startup import wall
from mepipe.synth import synthesize

SIZE = 224


def release() -> Path:
    """The cached 12-clip full-size synthetic CASME-II release."""
    root = OUT / "casme2-12-clips"
    if not (root / ".complete").exists():
        synthesize("casme2", root, seed=0, progress=False)
        (root / ".complete").write_text("done\n")
    return root


def typical(root: Path, out: Path, upsample: int = 0) -> int:
    """The per-frame pipeline over the onset..apex frames of every clip; frames done.
    ``upsample``: times the detector upsamples each frame."""
    import cv2
    import dlib
    import numpy as np

    from mepipe.imaging.align import model_path, similarity_from_landmarks
    from mepipe.pipelines import get_recipe

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(model_path()))
    recipe = get_recipe("casme2")
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for sample in recipe.read(recipe.find_sheet(root)):
        folder = root / "CASME2_RAW_selected" / sample.subject / sample.clip
        apex = sample.apex if sample.apex is not None else sample.offset
        crops = []
        for number in range(sample.onset, apex + 1):
            image = cv2.cvtColor(cv2.imread(str(folder / f"img{number}.jpg")), cv2.COLOR_BGR2RGB)
            faces = detector(image, upsample)
            if not faces:
                continue
            shape = predictor(image, faces[0])
            points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
            matrix = similarity_from_landmarks(points, SIZE)
            crops.append(cv2.warpAffine(image, matrix, (SIZE, SIZE)))
            count += 1
        clip = np.stack(crops).astype(np.float64)
        t = np.arange(1, len(clip) + 1)
        harmonic = np.concatenate([[0.0], np.cumsum(1.0 / t)])
        alpha = 2.0 * (len(clip) - t + 1) - (len(clip) + 1) * (harmonic[-1] - harmonic[t - 1])
        motion = np.abs(clip - clip[0]).mean(axis=(1, 2, 3))
        for name, frames in (("trdi", clip), ("midi", clip[np.argsort(motion, kind="stable")])):
            pooled = np.tensordot(alpha, frames, axes=1)
            pooled = 255 * (pooled - pooled.min()) / max(np.ptp(pooled), 1e-12)
            cv2.imwrite(str(out / f"{sample.subject}_{sample.clip}_{name}.png"), pooled.astype(np.uint8))
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.perframe", description=__doc__)
    parser.add_argument(
        "--typical", nargs=2, metavar=("ROOT", "OUT"), type=Path, help="run the per-frame pipeline alone"
    )
    parser.add_argument("--upsample", type=int, default=0, help="with --typical: detector upsampling")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.typical:
        print(typical(*args.typical, upsample=args.upsample))
        return
    root = release()
    python = sys.executable
    per_frame = [python, "-m", "bench.perframe", "--typical", str(root), str(OUT / "casme2-12-typical")]
    ours = [
        python,
        "-m",
        "mepipe",
        "build",
        "--dataset",
        "casme2",
        "--root",
        str(root),
        "--out",
        str(OUT / "casme2-12.zarr"),
        "--overwrite",
        "--quiet",
    ]
    ratios: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(args.repeats):
        seconds = wall(ours)
        for upsample, found in ratios.items():
            baseline = wall([*per_frame, "--upsample", str(upsample)])
            found.append(baseline / seconds)
            print(
                f"perframe  12 clips: per-frame pipeline (upsampling {upsample}x) {baseline:5.1f} s, "
                f"mepipe build {seconds:5.2f} s, ratio {found[-1]:5.1f}x",
                flush=True,
            )
    for upsample, found in ratios.items():
        target = " (target >= 10)" if upsample == 0 else ""
        print(
            f"perframe  ratio, upsampling {upsample}x: min {min(found):.1f}x, "
            f"median {statistics.median(found):.1f}x{target}"
        )


if __name__ == "__main__":
    main()
