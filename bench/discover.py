"""Finding a release's frames root against merely listing its clip folders once.

A lab's release can hold hundreds of clip folders of thousands of frames each, under
folder names mepipe has never seen. The search (:func:`mepipe.release.discover.open_release`)
lists the tree once; the baseline, measured in the same run, is what every build does
anyway: list each clip folder once. A tree of empty frame files in the CASME-II layout
(255 clips of the 2014 sheet, ``FRAMES`` files each, under ``lab/CASME2/Cropped_original``)
is made once and cached under ``bench/out``.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from mepipe.pipelines import get_recipe
from mepipe.release.discover import open_release

OUT = Path(__file__).parent / "out"
SHEET = Path(__file__).resolve().parent.parent / "tests/data/annotations/casme2/CASME2-coding-20140508.xlsx"
FRAMES = 2000
REPEATS = 5


def tree() -> Path:
    """The cached tree: sheet in ``lab/CASME2``, frames in ``lab/CASME2/Cropped_original``."""
    root = OUT / f"discover-{FRAMES}"
    if (root / ".complete").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    recipe = get_recipe("casme2")
    release = root / "lab" / "CASME2"
    release.mkdir(parents=True)
    shutil.copy(SHEET, release / SHEET.name)
    for sample in recipe.read(SHEET):
        folder = release / "Cropped_original" / recipe.clip_dir(sample)
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(sample.onset, sample.onset + FRAMES):
            (folder / f"reg_img{n}.jpg").touch()
    (root / ".complete").touch()
    return root


def _best(function) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    root = tree()
    recipe = get_recipe("casme2")
    release = open_release(recipe, root)
    folders = [release.frames[""].path / recipe.clip_dir(s) for s in release.samples]
    listing = _best(lambda: [os.listdir(f) for f in folders])
    search = _best(lambda: open_release(recipe, root))
    print(f"discover  {len(folders)} clip folders x {FRAMES} frames, found {release.frames[''].describe()}")
    print(
        f"discover  search {search * 1e3:7.1f} ms, listing every clip folder once {listing * 1e3:7.1f} ms: "
        f"ratio {search / listing:.2f}"
    )


if __name__ == "__main__":
    main()
