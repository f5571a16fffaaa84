"""What ``--arrays`` costs: a full-size synthetic CASME-II build with and without flow.

Each round builds the same release (``mepipe synth --like-sheet`` with the real CASME-II
sheet: 255 clips, 640 x 480, cached under ``bench/out``) into fresh stores, side by side
in the same run: the default arrays (the baseline), then the same plus ``flow`` (TV-L1 at
OpenCV's defaults, the default), ``flow`` with ``--flow tvl1-fast`` and ``--flow dis``, and every array; and last the flow added to
the finished baseline store (only the flow is computed). Printed: wall seconds, CPU
seconds of the build's process (the threaded scheduler runs every task in it; CPU time is
what a machine shared with other jobs leaves least noisy), and both ratios to the
baseline of the same round; the target for ``flow`` is at most 2x. ``--repeats`` runs
more rounds and prints the median ratios.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.build import OUT, release
from mepipe.build import build
from mepipe.imaging import rankpool
from mepipe.store import ARRAY_SETS, IMAGES

BASE = ",".join(IMAGES)
VARIANTS = {
    # name: (build options, into the finished baseline store)
    "flow (tvl1)": ({"arrays": f"{BASE},flow"}, False),
    "flow (tvl1-fast)": ({"arrays": f"{BASE},flow", "flow": "tvl1-fast"}, False),
    "flow (dis)": ({"arrays": f"{BASE},flow", "flow": "dis"}, False),
    "every array": ({"arrays": ",".join(ARRAY_SETS)}, False),
    "flow added to it": ({"arrays": f"{BASE},flow"}, True),
}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(run: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    """``run(*args, **kwargs)``, its wall seconds and the CPU seconds this process spent on it."""
    wall, cpu = time.perf_counter(), _cpu()
    result = run(*args, **kwargs)
    return result, time.perf_counter() - wall, _cpu() - cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.arrays", description=__doc__)
    parser.add_argument("--dataset", default="casme2")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args(argv)
    rankpool.warmup()
    root = release(args.dataset)
    ratios: dict[str, list[tuple[float, float]]] = {name: [] for name in args.variants}
    print(
        f"{'build':22} {'samples':>7} {'frames':>7} {'wall s':>8} {'ratio':>6} {'CPU s':>8} {'ratio':>6}"
        f"   ({args.workers} workers)"
    )
    for _ in range(args.repeats):
        base_store = OUT / f"{args.dataset}-arrays-base.zarr"
        base, wall0, cpu0 = timed(
            build, args.dataset, root, str(base_store), overwrite=True, workers=args.workers, progress=False
        )
        print(
            f"{'trdi,midi,onset,apex':22} {base.ok:7d} {base.frames:7d} {wall0:8.2f} {1:6.2f} {cpu0:8.2f} {1:6.2f}",
            flush=True,
        )
        for name in args.variants:
            options, into_base = VARIANTS[name]
            store = OUT / f"{args.dataset}-arrays.zarr"
            if into_base:
                shutil.rmtree(store, ignore_errors=True)
                shutil.copytree(base_store, store)
            summary, wall, cpu = timed(
                build,
                args.dataset,
                root,
                str(store),
                overwrite=not into_base,
                workers=args.workers,
                progress=False,
                **options,
            )
            ratios[name].append((wall / wall0, cpu / cpu0))
            print(
                f"{name:22} {summary.ok:7d} {summary.frames:7d} {wall:8.2f} {wall / wall0:6.2f} {cpu:8.2f} "
                f"{cpu / cpu0:6.2f}   (failed {summary.failed})",
                flush=True,
            )
    if args.repeats > 1:
        for name, values in ratios.items():
            walls, cpus = [w for w, _ in values], [c for _, c in values]
            print(
                f"{name:22} / baseline: wall median {statistics.median(walls):.2f} (min {min(walls):.2f}), "
                f"CPU median {statistics.median(cpus):.2f} (min {min(cpus):.2f})"
            )


if __name__ == "__main__":
    main()
