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

Before that (issue 35), mepipe's own TV-L1 (``tvl1``, :mod:`mepipe.imaging.tvl1`) against
OpenCV's (``tvl1-opencv``) at OpenCV's defaults, both on one thread, warm, ratios measured
in the same run: OpenCV's time split (pyramid, warps, medians, inner iterations; per
iteration), the per-iteration ratio of the two inner kernels, a per-pair table at 224 px
(clip onset/apex pairs) and 128 px (long-video pairs, still and moving), and an agreement
table (mean end-point difference inside an 8 px margin against the bound 0.03 px + 10 % of
OpenCV's mean motion, strain r). ``--sections`` picks the parts.

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

from bench.agreement import MOTIONS
from mepipe.imaging import flow, tvl1
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
    "tvl1 OpenCV defaults (opencv)": ("tvl1-opencv", {}),
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


# --- issue 35: mepipe's TV-L1 against OpenCV's ------------------------------------------------

#: OpenCV's solver, by :func:`mepipe.imaging.flow.optical_flow`'s name for it
OPENCV = "tvl1-opencv"


def gray_pair(size: int, **spec: Any) -> tuple[np.ndarray, np.ndarray]:
    """An aligned onset/last-frame pair of a deformed face at ``size`` px, as luma planes."""
    clip = face_clip(size=size, **spec)
    aligned, _ = align_clip(clip.frames, size=size)
    return cv2.cvtColor(aligned[0], cv2.COLOR_RGB2GRAY), cv2.cvtColor(aligned[-1], cv2.COLOR_RGB2GRAY)


def pairs_at(size: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The pairs the project makes: clip onset/apex pairs at 224 px; long-video pairs at
    128 px (consecutive crops, still with sensor noise, or moving). Sizes of motion in
    output pixels."""
    k = size / 224
    if size >= 224:
        specs: dict[str, dict[str, Any]] = {
            "onset/apex casme2": {"n_frames": 3},
            "onset/apex noise 2": {"n_frames": 3, "noise": 2.0},
            "onset/apex drift": {"n_frames": 3, "shift": (1.5, -1.0), "bump": 3.0},
            "onset/apex 10 px head": {"n_frames": 3, "shift": (8.0, -6.0), "bump": 2.0},
        }
    else:
        specs = {
            "long-video still": {"n_frames": 2, "bump": 0.0, "shift": (0.0, 0.0), "noise": 1.0},
            "long-video still, noise 2": {"n_frames": 2, "bump": 0.0, "shift": (0.0, 0.0), "noise": 2.0},
            "long-video moving": {"n_frames": 2, "bump": 1.0 / k, "shift": (0.4 / k, -0.3 / k), "noise": 1.0},
            "long-video head turn": {"n_frames": 2, "bump": 0.5 / k, "shift": (3.0 / k, 1.0 / k), "noise": 1.0},
        }
    return {name: gray_pair(size, sigma=12.0 * k, **spec) for name, spec in specs.items()}


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    """Median CPU ms of ``repeats`` calls, after one untimed (warm) call."""
    fn()
    return float(np.median([cpu_ms(fn) for _ in range(repeats)]))


def opencv_ms(pair: tuple[np.ndarray, np.ndarray], repeats: int, **params: Any) -> float:
    """CPU ms of OpenCV's solver at its defaults updated by ``params``."""
    return median_ms(lambda: flow.optical_flow(pair[0], pair[1], OPENCV, params), repeats)


def split(size: int, repeats: int) -> tuple[float, float]:
    """Print OpenCV's time split on one pair at ``size``; return its and mepipe's ms per
    full-size inner iteration.

    OpenCV's solver cannot be timed inside; mepipe's runs the same schedule (the same
    iterations, medians and warps: its flow is OpenCV's bit for bit) and calls the same
    OpenCV functions for the pyramid, the warps' remaps and the medians, so those steps'
    times, measured in mepipe's run, are OpenCV's too, and OpenCV's inner iterations are
    the rest of its time (the gradient and residual passes, numba here, are counted as
    OpenCV's: they are a few percent of a warp)."""
    pair = gray_pair(size, n_frames=3, sigma=12.0 * size / 224)
    full = median_ms(lambda: flow.optical_flow(pair[0], pair[1], OPENCV), repeats)
    runs = []
    for _ in range(repeats + 1):
        counts: dict[str, int] = {}
        tvl1.dual_tvl1(*pair, stats=counts)
        runs.append(counts)
    step = {key: float(np.median([r[key] for r in runs[1:]])) / 1e6 for key in runs[0] if key.startswith("ns_")}
    counts = runs[0]
    pyramid, warps, medians = step["ns_pyramid"], step["ns_warps"], step["ns_medians"]
    others = step["ns_total"] - pyramid - warps - medians - step["ns_inner"]  # upsampling, output
    inner = full - (step["ns_total"] - step["ns_inner"])
    equivalent = counts["pixel_iterations"] / (size * size)  # iterations at full size
    opencv_iteration = inner / equivalent
    ours_iteration = step["ns_inner"] / equivalent
    alone = kernel_ms(size, repeats)
    print(
        f"\nS = {size}: OpenCV's split on one pair, {full:.1f} ms ({counts['iterations']} inner iterations over "
        f"{counts['levels']} levels = {equivalent:.0f} at full size; {counts['medians']} outer iterations with a "
        f"median; {counts['warps']} warps)"
    )
    print(f"  pyramid and buffers        {pyramid:7.2f} ms")
    print(f"  warps (3 cubic remaps, I1 gradient, rho)  {warps:7.2f} ms  ({warps / counts['warps']:.3f} ms each)")
    print(f"  medians (5 x 5, u1 and u2) {medians:7.2f} ms  ({medians / max(counts['medians'], 1):.3f} ms each)")
    print(f"  flow upsampling, output    {others:7.2f} ms")
    print(
        f"  inner iterations           {inner:7.2f} ms  ({100 * inner / full:.0f} %; "
        f"{opencv_iteration:.3f} ms per full-size iteration)"
    )
    print(
        f"  mepipe: inner {step['ns_inner']:.2f} ms, {ours_iteration:.3f} ms per full-size iteration "
        f"({alone:.3f} ms for the kernel alone on {size} px planes): per-iteration ratio "
        f"{opencv_iteration / ours_iteration:.2f}x; whole pair {step['ns_total']:.1f} ms, {full / step['ns_total']:.2f}x"
    )
    return opencv_iteration, ours_iteration


def kernel_ms(size: int, repeats: int, iterations: int = 50) -> float:
    """mepipe's inner kernel alone: CPU ms per iteration on ``size`` x ``size`` planes of a
    real warp (the stop disabled)."""
    rng = np.random.default_rng(0)
    planes = [rng.normal(0, 10, (size, size)).astype(np.float32) for _ in range(2)]
    grad = planes[0] ** 2 + planes[1] ** 2
    rho = rng.normal(0, 5, (size, size)).astype(np.float32)
    state = [np.zeros((size, size), np.float32) for _ in range(6)]
    row = np.empty(size, np.float32)
    f = np.float32

    def run() -> None:
        tvl1._iterate(*planes, grad, rho, *state, row, f(0.045), f(0.3), f(0.25 / 0.3), f(-1.0), f(1e30), iterations)

    return median_ms(run, repeats) / iterations


def pair_table(size: int, repeats: int) -> None:
    """Per pair: OpenCV's ms, mepipe's ms, their ratio (same run, one thread, warm)."""
    print(f"\nS = {size}: CPU ms per pair, one thread, warm (median of {repeats}); ratio = OpenCV / mepipe")
    print(f"  {'pair':<28} {'OpenCV':>8} {'mepipe':>8} {'ratio':>6}  identical")
    ratios = []
    for name, (a, b) in pairs_at(size).items():
        theirs = median_ms(lambda a=a, b=b: flow.optical_flow(a, b, OPENCV), repeats)
        ours = median_ms(lambda a=a, b=b: flow.optical_flow(a, b, "tvl1"), repeats)
        same = np.array_equal(flow.optical_flow(a, b, OPENCV), flow.optical_flow(a, b, "tvl1"))
        ratios.append(theirs / ours)
        print(f"  {name:<28} {theirs:>8.1f} {ours:>8.1f} {theirs / ours:>5.2f}x  {same}", flush=True)
    print(f"  {'geometric mean':<28} {'':>8} {'':>8} {float(np.exp(np.mean(np.log(ratios)))):>5.2f}x")


def agreement_table(size: int) -> None:
    """bench.agreement's motions (and this size's pairs): mepipe's against OpenCV's."""
    k = size / 224
    print(
        f"\nS = {size}: mepipe's tvl1 against OpenCV's defaults inside an 8 px margin: "
        "mean end-point difference, bound 0.03 + 10 % of motion, strain r"
    )
    print(f"  {'pair':<34} {'motion':>7} {'bound':>6} {'EPE':>8} {'max':>8} {'r':>6}")
    pairs = {
        name: gray_pair(
            size,
            n_frames=3,
            sigma=12.0 * k,
            **{**spec, "bump": spec["bump"] * k, "shift": tuple(v * k for v in spec["shift"])},
        )
        for name, spec in MOTIONS.items()
    }
    pairs.update(pairs_at(size))
    inside = (slice(8, -8), slice(8, -8))
    for name, (a, b) in pairs.items():
        theirs, ours = flow.optical_flow(a, b, OPENCV), flow.optical_flow(a, b, "tvl1")
        distance = np.hypot(*(ours - theirs).transpose(2, 0, 1))[inside]
        motion = float(np.hypot(*theirs.transpose(2, 0, 1))[inside].mean())
        s1, s2 = flow.strain(ours)[inside].ravel(), flow.strain(theirs)[inside].ravel()
        r = float(np.corrcoef(s1, s2)[0, 1]) if s1.std() > 0 and s2.std() > 0 else float("nan")
        ok = distance.mean() <= 0.03 + 0.1 * motion and not r < 0.9
        print(
            f"  {name:<34} {motion:>7.3f} {0.03 + 0.1 * motion:>6.3f} {distance.mean():>8.5f} {distance.max():>8.5f} "
            f"{r:>6.3f} {'ok' if ok else 'NO'}",
            flush=True,
        )


SECTIONS = ("split", "pairs", "agreement", "candidates", "parallel")


def main(argv: list[str] | None = None) -> None:
    """Print the tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.flow", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="timed pairs per candidate and scene")
    parser.add_argument("--threads", type=int, default=2, help="threads of the parallel run (the build's workers)")
    parser.add_argument("--pairs", type=int, default=40, help="pairs of the parallel run")
    parser.add_argument("--only", nargs="*", default=None, help="candidate names to run (the baseline always)")
    parser.add_argument("--sections", nargs="*", default=list(SECTIONS), choices=SECTIONS, help="parts to run")
    parser.add_argument("--sizes", nargs="*", type=int, default=[224, 128], help="sizes of the issue-35 tables")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    start = time.perf_counter()
    print(f"{os.cpu_count()} CPUs, OpenCV {cv2.__version__} on 1 thread; mepipe's TV-L1 {tvl1.VERSION}")
    for size in args.sizes:
        if "split" in args.sections:
            split(size, args.repeats)
        if "pairs" in args.sections:
            pair_table(size, args.repeats)
        if "agreement" in args.sections:
            agreement_table(size)
    if "candidates" not in args.sections and "parallel" not in args.sections:
        print(f"\ntotal {time.perf_counter() - start:.1f} s")
        return
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
    names = list(CANDIDATES) if "candidates" in args.sections else []
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
    if "parallel" not in args.sections:
        print(f"\ntotal {time.perf_counter() - start:.1f} s")
        return
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
