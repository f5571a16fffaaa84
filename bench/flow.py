"""Optical flow on aligned real faces: accuracy against cost, for each candidate parameter set.

The packaged portrait is placed as the releases show it and deformed by a known smooth
field (``tests/deform.py``: a sub-pixel global shift plus a ~2 px bump at S = 224), the
clip aligned as the build aligns it (one similarity transform from the onset, 224 px
output), and the onset -> apex flow measured by each candidate. Per candidate: the
median CPU time of one pair on one OpenCV thread (the build's per-core cost), its ratio to
OpenCV's default DualTVL1 measured in the same run, the mean end-point error on the face
for each scene, the mean distance to the default DualTVL1's flow, and the error at the
bump's centre relative to the bump. Then mepipe's two methods run from 2 threads at once,
as a 2-worker build runs them: the cost per pair per thread when both cores are busy.
Asserts nothing; ``python -m bench.flow`` from the checkout (it imports ``tests.deform``).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from mepipe.imaging import flow
from mepipe.imaging.align import align_clip
from tests.deform import bump_error, face_clip, face_mask, output_flow

SIZE = 224

#: name: keyword arguments of :func:`tests.deform.face_clip`
SCENES: dict[str, dict[str, Any]] = {
    "casme2": {},
    "noise2": {"noise": 2.0},
    "samm-gray": {
        "n_frames": 3,
        "frame": (2040, 1088),
        "face_width": 400,
        "gray": True,
        "mirror": True,
        "angle": -5.0,
        "landmarks": (54,),
        "direction": (0.6, -0.8),
    },
    "drift": {"shift": (1.5, -1.0), "bump": 3.0},
}

#: name: (method, parameters over flow_parameters(method)); the first is the baseline
CANDIDATES: dict[str, tuple[str, dict[str, Any]]] = {
    "tvl1 OpenCV defaults (mepipe)": ("tvl1", {}),
    "tvl1 s3/0.8 w3 30x10": ("tvl1", {"nscales": 3, "warps": 3}),
    "tvl1 s3/0.5 w2 10x1": ("tvl1-fast", {"innerIterations": 10, "outerIterations": 1}),
    "tvl1 s3/0.5 w2 5x1": ("tvl1-fast", {"innerIterations": 5, "outerIterations": 1}),
    "tvl1 s3/0.5 w1 10x1": ("tvl1-fast", {"warps": 1, "innerIterations": 10, "outerIterations": 1}),
    "tvl1 s3/0.5 w2 3x2 (tvl1-fast)": ("tvl1-fast", {}),
    "tvl1 s3/0.5 w2 3x2 no median": ("tvl1-fast", {"medianFiltering": 1}),
    "tvl1 s3/0.5 w3 3x2": ("tvl1-fast", {"warps": 3}),
    "tvl1 s4/0.5 w2 3x2": ("tvl1-fast", {"nscales": 4}),
    "tvl1 s3/0.5 w2 2x2": ("tvl1-fast", {"innerIterations": 2}),
    "tvl1 s3/0.5 w2 eps0.05": ("tvl1-fast", {"innerIterations": 30, "outerIterations": 10, "epsilon": 0.05}),
    "dis medium preset": ("dis", {"finestScale": 1}),
    "dis medium finest 0 (mepipe)": ("dis", {}),
}


@dataclass
class Scene:
    """One aligned onset/apex pair and its truth."""

    onset: np.ndarray
    apex: np.ndarray
    truth: np.ndarray
    mask: np.ndarray
    bump: Callable[[np.ndarray], float]


def scene(spec: dict[str, Any]) -> Scene:
    """Render, align and measure the truth of one scene."""
    clip = face_clip(size=SIZE, **spec)
    aligned, info = align_clip(clip.frames, size=SIZE)
    last = len(clip.frames) - 1
    matrix = info["matrix"]
    return Scene(
        onset=aligned[0],
        apex=aligned[last],
        truth=output_flow(clip.true_flow, matrix, SIZE, last),
        mask=face_mask(clip.points, matrix, SIZE),
        bump=lambda measured: bump_error(measured, clip, matrix, last)[0],
    )


def epe(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Mean end-point distance of two flows over ``mask``."""
    return float(np.hypot(*(a - b).transpose(2, 0, 1))[mask].mean())


def cpu_ms(fn: Callable[[], object]) -> float:
    """CPU time of the calling thread spent in ``fn()``, ms: with OpenCV on one thread all
    of the work, and unlike wall time not stretched when other processes share the cores."""
    tick = time.thread_time()
    fn()
    return 1e3 * (time.thread_time() - tick)


def pair_ms(item: Scene, method: str, params: dict[str, Any], repeats: int) -> list[float]:
    """CPU ms of ``repeats`` flows of one scene's pair."""
    return [cpu_ms(lambda: flow.optical_flow(item.onset, item.apex, method, params)) for _ in range(repeats)]


def parallel_ms(scenes: dict[str, Scene], method: str, threads: int, pairs: int) -> tuple[float, float]:
    """CPU ms per pair in each of ``threads`` threads running at once, and wall ms per pair."""
    work = ([scenes[k] for k in sorted(scenes)] * pairs)[:pairs]

    def one(item: Scene) -> float:
        return cpu_ms(lambda: flow.optical_flow(item.onset, item.apex, method))

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, work[:threads]))  # warm every thread
        tick = time.perf_counter()
        cpu = list(pool.map(one, work))
        wall = time.perf_counter() - tick
    return float(np.mean(cpu)), 1e3 * wall / len(work)


def main(argv: list[str] | None = None) -> None:
    """Print the accuracy/speed table."""
    parser = argparse.ArgumentParser(prog="python -m bench.flow", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="timed pairs per candidate and scene")
    parser.add_argument("--threads", type=int, default=2, help="threads of the parallel run (the build's workers)")
    parser.add_argument("--pairs", type=int, default=40, help="pairs of the parallel run")
    parser.add_argument("--only", nargs="*", default=None, help="candidate names to run (the baseline always)")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    start = time.perf_counter()
    scenes = {name: scene(spec) for name, spec in SCENES.items()}
    print(
        f"{len(scenes)} scenes rendered and aligned in {time.perf_counter() - start:.1f} s; "
        f"{os.cpu_count()} CPUs, OpenCV {cv2.__version__} on 1 thread; S = {SIZE}"
    )
    print(
        "ms: median CPU time per onset->apex pair; EPE: mean end-point error on the face, output px; "
        "vs default: mean distance to OpenCV-default TV-L1's flow (casme2); bump: error at the "
        "bump centre / bump (casme2)"
    )
    header = f"{'candidate':<30} {'ms':>7} {'speed-up':>8} " + " ".join(f"{n:>9}" for n in scenes)
    print(header + f" {'vs default':>10} {'bump':>6}")
    names = list(CANDIDATES)
    if args.only:
        names = [names[0]] + [n for n in names[1:] if n in args.only]
    baseline_ms, reference = 0.0, None
    for name in names:
        method, params = CANDIDATES[name]
        flows: dict[str, np.ndarray] = {}
        times: list[float] = []
        for key, item in scenes.items():
            flows[key] = flow.optical_flow(item.onset, item.apex, method, params)
            times += pair_ms(item, method, params, args.repeats)
        ms = float(np.median(times))
        if reference is None:
            baseline_ms, reference = ms, flows["casme2"]
        errors = " ".join(f"{epe(flows[k], s.truth, s.mask):>9.4f}" for k, s in scenes.items())
        main_scene = scenes["casme2"]
        print(
            f"{name:<30} {ms:>7.1f} {baseline_ms / ms:>7.1f}x {errors} "
            f"{epe(flows['casme2'], reference, main_scene.mask):>10.4f} "
            f"{100 * main_scene.bump(flows['casme2']):>5.1f}%",
            flush=True,
        )
    print(f"\nmepipe's parameters, {args.threads} threads at once, 1 OpenCV thread each, {args.pairs} pairs:")
    for method in flow.FLOW_METHODS:
        alone, _ = parallel_ms(scenes, method, 1, args.pairs)
        together, wall = parallel_ms(scenes, method, args.threads, args.pairs)
        print(
            f"  {method:<5} {together:>6.1f} CPU ms per pair in each thread ({alone:.1f} ms alone: "
            f"{together / alone:.2f}x); wall {wall:.1f} ms per pair (load-dependent)"
        )
    print(f"\ntotal {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
