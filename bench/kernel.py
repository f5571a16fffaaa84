"""Rank-pooling kernel against numpy, hot in cache and streamed from DRAM.

For 224 x 224 x 3 clips, times :func:`mepipe.imaging.rankpool.rank_pool` on the same clip over
and over (hot: the clip stays in L2/L3) and cycling through distinct clips that together
exceed the last-level cache (cold), and ``np.tensordot`` with float32 weights on the same
data in the same run. Then TRDI + MIDI: one pass of :func:`rank_pool_pair` against two
``rank_pool`` calls and the naive numpy path, plus the motion ordering they need.
Prints medians and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Callable
from functools import partial

import numpy as np

from mepipe.imaging import rankpool

SIZE = (224, 224, 3)
CASES = ((16, np.uint8), (64, np.uint8), (64, np.float32), (150, np.uint8))


def times_ms(fn: Callable[[], object], repeats: int) -> np.ndarray:
    """Wall times of ``repeats`` calls of ``fn()``, in milliseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * np.array(times)


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn()`` in milliseconds."""
    return float(np.median(times_ms(fn, repeats)))


def random_clip(T: int, dtype, rng: np.random.Generator) -> np.ndarray:
    """A random ``(T, *SIZE)`` clip; float32 clips hold the same 0..255 integers."""
    return rng.integers(0, 256, (T, *SIZE), dtype=np.uint8).astype(dtype, copy=False)


def relative_error(got: np.ndarray, frames: np.ndarray) -> float:
    """``max|got - ref| / max|ref|`` against the float64 einsum reference."""
    ref = np.einsum("t,t...->...", rankpool.arp_weights(len(frames)), frames.astype(np.float64))
    return float(np.abs(got - ref).max() / np.abs(ref).max())


def kernel_table(cold_bytes: int, repeats: int, rng: np.random.Generator) -> None:
    """One row per (T, dtype): numba hot / cold, cold bandwidth, tensordot, speed-up."""
    print(
        f"rank_pool, {SIZE[0]}x{SIZE[1]}x{SIZE[2]}; medians; cold = cycling through "
        f"{cold_bytes >> 20} MiB of distinct clips; tensordot: float32 weights, hot, "
        "multithreaded BLAS (its min shown too: it swings when the cores are shared)"
    )
    print(
        f"{'T':>4} {'dtype':>8} {'MB':>6} {'numba hot':>10} {'numba cold':>11} "
        f"{'GB/s cold':>10} {'tensordot':>10} {'(min)':>8} {'speed-up':>9} {'rel.err':>9}"
    )
    for T, dtype in CASES:
        base = random_clip(T, dtype, rng)
        # Same content, distinct memory: only where the bytes live matters for timing.
        clips = [base] + [base.copy() for _ in range(max(1, cold_bytes // base.nbytes))]
        alpha = rankpool.arp_weights(T).astype(np.float32)
        hot = median_ms(partial(rankpool.rank_pool, base), repeats)
        cycle = itertools.cycle(clips)
        cold = median_ms(lambda cycle=cycle: rankpool.rank_pool(next(cycle)), max(repeats, len(clips)))
        numpy_times = times_ms(partial(np.tensordot, alpha, base, axes=1), 7)
        numpy_ms = float(np.median(numpy_times))
        error = relative_error(rankpool.rank_pool(base), base)
        print(
            f"{T:>4} {np.dtype(dtype).name:>8} {base.nbytes / 1e6:>6.1f} {hot:>7.3f} ms "
            f"{cold:>8.3f} ms {base.nbytes / cold / 1e6:>10.1f} {numpy_ms:>7.2f} ms "
            f"{numpy_times.min():>8.2f} {numpy_ms / hot:>8.1f}x {error:>9.1e}"
        )
        del clips


def pair_table(repeats: int, rng: np.random.Generator) -> None:
    """TRDI + MIDI for one T = 64 uint8 clip: one pass against two passes and numpy."""
    frames = random_clip(64, np.uint8, rng)
    order = rankpool.motion_order(frames)
    alpha = rankpool.arp_weights(64).astype(np.float32)
    timings = {
        "rank_pool_pair (one pass)": median_ms(lambda: rankpool.rank_pool_pair(frames, order), repeats),
        "rank_pool(x) + rank_pool(x[order])": median_ms(
            lambda: (rankpool.rank_pool(frames), rankpool.rank_pool(frames[order])), repeats
        ),
        "numpy tensordot x2 with x[order]": median_ms(
            lambda: (np.tensordot(alpha, frames, axes=1), np.tensordot(alpha, frames[order], axes=1)), 5
        ),
        "motion_intensity": median_ms(lambda: rankpool.motion_intensity(frames), 5),
        "dynamic_images (motion + one pass)": median_ms(lambda: rankpool.dynamic_images(frames), 5),
    }
    one_pass = timings["rank_pool_pair (one pass)"]
    print("\nTRDI + MIDI, T=64 uint8, hot")
    for name, ms in timings.items():
        print(f"  {name:<36} {ms:>8.3f} ms  {ms / one_pass:>6.2f}x one pass")


def main(argv: list[str] | None = None) -> None:
    """Print the kernel benchmark tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.kernel", description=__doc__)
    parser.add_argument(
        "--cold-mib", type=int, default=320, help="total size of the clips cycled through for cold timings"
    )
    parser.add_argument("--repeats", type=int, default=30, help="samples per hot timing")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    rankpool.warmup()
    print(f"warmup (compile or load numba cache): {time.perf_counter() - start:.2f} s; {os.cpu_count()} CPUs")
    kernel_table(args.cold_mib << 20, args.repeats, rng)
    pair_table(args.repeats, rng)
    print(f"\ntotal {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
