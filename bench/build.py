"""Build time over the decode floor, on full-size synthetic releases.

The floor is the time to merely decode the same frames with OpenCV (``cv2.imdecode``, in
the release's colour, nothing else), in as many processes as the build has workers, from
the page cache, in the same run. Alignment, pooling and writing are what the build adds on
top; the target is a ratio of at most 1.3. Each row is one build; ``--repeats`` runs the
floor and the build again and prints the min and median ratio.

Datasets are synthesised once (``mepipe synth --like-sheet`` with the real sheets in
``tests/data``) and cached under ``bench/out``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from mepipe.build import build
from mepipe.engine.stages import frames_needed
from mepipe.imaging import rankpool
from mepipe.pipelines import get_recipe
from mepipe.release import frames
from mepipe.release.discover import open_release
from mepipe.synth import synthesize

OUT = Path(__file__).parent / "out"
DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
CASES = {
    # dataset: (real sheet to reproduce, scale)
    "casme2": (DATA / "annotations" / "casme2" / "CASME2-coding-20140508.xlsx", 1.0),
    "samm": (DATA / "annotations" / "samm" / "SAMM_Micro_FACS_Codes_v2.xlsx", 1.0),
}


def release(dataset: str) -> Path:
    """The cached synthetic release of ``dataset``, made on first use."""
    sheet, scale = CASES[dataset]
    root = OUT / f"{dataset}-like-sheet-{scale}"
    if not (root / ".complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        start = time.perf_counter()
        synthesize(dataset, root, like_sheet=sheet, scale=scale, seed=0)
        (root / ".complete").write_text(f"{time.perf_counter() - start:.1f} s\n")
    return root


def frame_paths(dataset: str, root: Path) -> list[list[Path]]:
    """Per sample, the frames a build decodes (same selection as ``stages.load_clip``)."""
    recipe = get_recipe(dataset)
    release = open_release(recipe, root)
    clips = []
    for sample in release.samples:
        try:
            found = frames.clip_frames(sample, recipe, release.frames[""].path)
        except Exception:
            continue
        by_number = dict(zip(found.numbers, found.paths))
        wanted = frames_needed(found.apex, found.numbers[0], found.numbers[-1], "onset-apex")
        clips.append([by_number[n] for n in wanted])
    return clips


def _decode(job: tuple[list[Path], int]) -> int:
    paths, flag = job
    for path in paths:
        with open(path, "rb") as file:  # read as the build reads them
            cv2.imdecode(np.frombuffer(file.read(), dtype=np.uint8), flag)
    return len(paths)


def decode_floor(dataset: str, clips: list[list[Path]], workers: int) -> float:
    """Seconds to decode ``clips`` in ``workers`` processes (started before the clock)."""
    flag = cv2.IMREAD_GRAYSCALE if get_recipe(dataset).color == "gray" else cv2.IMREAD_COLOR
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        list(pool.map(_decode, [([], flag)] * workers))
        start = time.perf_counter()
        list(pool.map(_decode, [(paths, flag) for paths in clips]))
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.build", description=__doc__)
    parser.add_argument("--datasets", nargs="*", default=list(CASES))
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    rankpool.warmup()
    print(f"{'dataset':8} {'clips':>5} {'frames':>7} {'floor s':>8} {'build s':>8} {'ratio':>6} {'frames/s':>9}")
    for dataset in args.datasets:
        root = release(dataset)
        clips = frame_paths(dataset, root)
        n_frames = sum(len(c) for c in clips)
        decode_floor(dataset, clips, args.workers)  # both sides then read from the page cache
        ratios = []
        for _ in range(args.repeats):
            floor = decode_floor(dataset, clips, args.workers)
            store = OUT / f"{dataset}.zarr"
            start = time.perf_counter()
            summary = build(dataset, root, str(store), overwrite=True, workers=args.workers, progress=False)
            seconds = time.perf_counter() - start
            ratios.append(seconds / floor)
            print(
                f"{dataset:8} {len(clips):5d} {n_frames:7d} {floor:8.2f} {seconds:8.2f} {ratios[-1]:6.2f} "
                f"{n_frames / seconds:9.0f}   (ok {summary.ok}, failed {summary.failed})",
                flush=True,
            )
        if args.repeats > 1:
            print(f"{dataset:8} build / floor: min {min(ratios):.2f}, median {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
