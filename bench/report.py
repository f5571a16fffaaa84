"""``mepipe report`` on a 1000-sample store against the time to merely read its images.

The store is made by repeating the samples of a small synthetic build (224 px) 1000
times, so the report sees real faces; the baseline reads the four images per sample it
shows, through the same zarr arrays, on the same number of threads.

``python -m bench.report [--samples N] [--workers N]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from mepipe.build import build
from mepipe.pipelines import get_recipe
from mepipe.report.page import THUMBS, write_report
from mepipe.store import OK, SampleResult, create_store, open_store, read_columns, write_sample
from mepipe.synth import synthesize

OUT = Path(__file__).parent / "out" / "report"
SIZE = 224


def make_store(samples: int) -> str:
    """A store of ``samples`` ok samples, the images of a 16-clip build repeated."""
    shutil.rmtree(OUT, ignore_errors=True)
    root, small, big = OUT / "release", str(OUT / "small.zarr"), str(OUT / "big.zarr")
    synthesize("casme2", root, subjects=4, clips_per_subject=4, scale=0.5, seed=5, progress=False)
    build("casme2", root, small, size=SIZE, progress=False)
    source = open_store(small)
    table = read_columns(source)
    recipe = get_recipe("casme2")
    base = recipe.read(recipe.find_sheet(root))
    repeated = [replace(base[i % len(base)], sample_id=f"{base[i % len(base)].sample_id}#{i}") for i in range(samples)]
    group = create_store(big, repeated, size=SIZE, attrs=dict(source.attrs["mepipe"]))
    images = {name: source[name][:] for name in THUMBS}
    for i in range(samples):
        j = i % len(base)
        write_sample(
            group,
            i,
            SampleResult(
                status=OK,
                repair=str(table["repair"][j]),
                n_frames=int(table["n_frames"][j]),
                images={name: images[name][j] for name in THUMBS},
            ),
        )
    return big


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    store = make_store(args.samples)
    group = open_store(store)
    arrays = {name: group[name] for name in THUMBS}
    start = time.perf_counter()
    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(lambda i: [arrays[n][i] for n in THUMBS], range(args.samples)))
    floor = time.perf_counter() - start
    start = time.perf_counter()
    page = write_report(store, OUT / "page", workers=args.workers, progress=False)
    seconds = time.perf_counter() - start
    thumbs = sum(p.stat().st_size for p in (page.parent / "thumbs").iterdir())
    print(f"{args.samples} samples at {SIZE} px, {args.workers} threads")
    print(f"  read the four images of every sample: {floor:.1f} s")
    print(
        f"  mepipe report:                        {seconds:.1f} s  "
        f"({seconds / args.samples * 1e3:.1f} ms/sample, {seconds / floor:.1f}x the read)"
    )
    print(
        f"  page {page.stat().st_size / 1e6:.2f} MB, thumbnails {thumbs / 1e6:.1f} MB "
        f"({thumbs / (len(THUMBS) * args.samples) / 1e3:.1f} kB each)"
    )


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
