"""Where a build's time goes: each stage's time per clip, against decoding.

The full-size synthetic release (``bench.build``) is built by one worker, OpenCV on one
thread, with the stage functions wrapped in timers (wall and thread CPU time per call).
Decoding is what the decode floor measures, so the other stages, as a ratio to it, are
what the build adds over the floor: the sum plus one is the floor ratio one worker can
reach at best.
"""

from __future__ import annotations

import argparse
import collections
import threading
import time
from collections.abc import Callable
from typing import Any

from bench.build import OUT, release
from mepipe import build as build_module
from mepipe.engine import graph, stages
from mepipe.imaging import align, rankpool
from mepipe.release import frames

#: stage name -> (module or class, function name); decode runs inside warping, and is
#: subtracted from it
STAGES = {
    "decode": (frames, "_decode"),
    "warp (decode excluded)": (align, "warp_clip"),
    "face detection and landmarks": (align.FaceAligner, "detect"),
    "motion order and pooling": (stages, "pool_clip"),
    "writing the images": (graph, "write_images"),
    "finding the frames": (stages, "load_clip"),
}


def timed(totals: dict, name: str, function: Callable) -> Callable:
    lock = threading.Lock()

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            with lock:
                totals[name][0] += time.perf_counter() - start
                totals[name][1] += time.thread_time() - cpu

    return wrapper


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stages", description=__doc__)
    parser.add_argument("--dataset", default="casme2", choices=["casme2", "samm"])
    args = parser.parse_args(argv)
    root = release(args.dataset)
    rankpool.warmup()
    align._predictor()
    totals: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])
    originals = {name: getattr(owner, attr) for name, (owner, attr) in STAGES.items()}
    for name, (owner, attr) in STAGES.items():
        setattr(owner, attr, timed(totals, name, originals[name]))
    opencv_threads = build_module.opencv_threads
    build_module.opencv_threads = lambda scheduler, workers: 1
    try:
        start = time.perf_counter()
        summary = build_module.build(
            args.dataset, root, str(OUT / f"{args.dataset}-stages.zarr"), overwrite=True, workers=1, progress=False
        )
        seconds = time.perf_counter() - start
    finally:
        for name, (owner, attr) in STAGES.items():
            setattr(owner, attr, originals[name])
        build_module.opencv_threads = opencv_threads
    warp = "warp (decode excluded)"
    totals[warp] = [totals[warp][i] - totals["decode"][i] for i in (0, 1)]
    clips = summary.total
    decode = totals["decode"][0]
    accounted = sum(wall for wall, _ in totals.values())
    totals["the rest (driver, scheduler, fields, checksums)"] = [seconds - accounted, float("nan")]
    print(f"stages    {args.dataset}, {clips} clips, 1 worker: build {seconds:.1f} s")
    for name, (wall, cpu) in totals.items():
        print(
            f"stages    {name:48} {1000 * wall / clips:6.1f} ms/clip  {wall / decode:5.2f}x decode"
            + ("" if cpu != cpu else f"  (CPU {1000 * cpu / clips:5.1f} ms)")
        )
    print(f"stages    build / decode, 1 worker: {seconds / decode:.2f}x")


if __name__ == "__main__":
    main()
