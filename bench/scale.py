"""Scaling: 2 workers over 1, per-task scheduling overhead, peak memory vs dataset size.

* speed-up: the same build with ``--workers 1`` and ``--workers 2`` (target >= 1.8x on 2 cores);
* overhead: empty tasks through each scheduler, per task, against the median cost of one
  sample's chain measured in the same run;
* memory: peak resident memory of full-size synthetic SAMM builds of the first 20, 80 and
  all 159 clips of the real sheet, each in a fresh process; it must not grow with the
  number of clips (memory is bounded by the clips in flight).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import dask

from bench.build import CASES, OUT, decode_floor, frame_paths, release
from mepipe.build import build
from mepipe.imaging import rankpool
from mepipe.pipelines import get_recipe
from mepipe.synth import synthesize

MEMORY_SIZES = (20, 80, 159)


def speedup(dataset: str) -> None:
    root = release(dataset)
    seconds = {}
    for workers in (1, 2):
        start = time.perf_counter()
        summary = build(
            dataset, root, str(OUT / f"{dataset}-w{workers}.zarr"), overwrite=True, workers=workers, progress=False
        )
        seconds[workers] = time.perf_counter() - start
    print(
        f"speed-up  {dataset}: 1 worker {seconds[1]:.1f} s, 2 workers {seconds[2]:.1f} s, "
        f"ratio {seconds[1] / seconds[2]:.2f}x  ({summary.ok} clips)"
    )
    # what the machine itself gives two workers: decoding alone, no mepipe code
    clips = frame_paths(dataset, root)
    decode_floor(dataset, clips, 2)  # warm the page cache for both
    decode = {workers: decode_floor(dataset, clips, workers) for workers in (1, 2)}
    print(
        f"speed-up  {dataset} decode only (the machine's own scaling): 1 worker {decode[1]:.1f} s, "
        f"2 workers {decode[2]:.1f} s, ratio {decode[1] / decode[2]:.2f}x"
    )
    per_sample = seconds[1] / summary.total
    overhead(per_sample)


def _noop(x: int) -> int:
    return x


def overhead(per_sample: float, n: int = 2000) -> None:
    from distributed import Client, LocalCluster

    graph = {("t", i): (_noop, i) for i in range(n)}
    keys = list(graph)
    rows = []
    for name, get in (("sync", dask.get), ("threads", dask.threaded.get), ("processes", dask.multiprocessing.get)):
        start = time.perf_counter()
        get(graph, keys)
        rows.append((name, (time.perf_counter() - start) / n))
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster) as client:
        client.get(graph, keys)  # warm the workers
        start = time.perf_counter()
        client.get(graph, keys)
        rows.append(("distributed", (time.perf_counter() - start) / n))
    for name, seconds in rows:
        print(
            f"overhead  {name:12} {seconds * 1e6:8.0f} us/task = {seconds / per_sample * 100:6.3f} % "
            f"of one sample ({per_sample * 1e3:.0f} ms, 1 worker)"
        )


def _peak_rss_build(root: Path, sheet: Path, store: Path) -> dict:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork/exec,
    # so a child of a big parent would report the parent's peak
    code = (
        "import json, re\n"
        "from mepipe.build import build\n"
        f"s = build('samm', {str(root)!r}, {str(store)!r}, sheet={str(sheet)!r}, overwrite=True, progress=False)\n"
        "hwm = int(re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1))\n"
        "print(json.dumps({'ok': s.ok, 'seconds': s.seconds, 'rss_mib': hwm / 1024}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def memory() -> None:
    sheet, _ = CASES["samm"]
    root = OUT / "samm-like-sheet-1.0"
    if not (root / ".complete").exists():
        synthesize("samm", root, like_sheet=sheet, scale=1.0, seed=0)
        (root / ".complete").write_text("done\n")
    recipe = get_recipe("samm")
    samples = recipe.read(recipe.find_sheet(root))
    frame_mib = 2040 * 1088 / 2**20
    decoded = [len(paths) for paths in frame_paths("samm", root)]
    for n in MEMORY_SIZES:
        subset = OUT / f"samm-first-{n}.xlsx"
        recipe.write_sheet(samples[:n], subset)
        row = _peak_rss_build(root, subset, OUT / f"samm-{n}.zarr")
        # what should bound memory: the largest clips in flight, not how many clips there are
        largest = max(decoded[:n]) * frame_mib
        print(
            f"memory    samm full size, first {n:3d} clips: peak RSS {row['rss_mib']:7.0f} MiB, "
            f"largest decoded clip {largest:5.0f} MiB, {row['seconds']:6.1f} s, ok {row['ok']}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args(argv)
    rankpool.warmup()
    speedup("casme2")
    if not args.skip_memory:
        memory()


if __name__ == "__main__":
    main()
