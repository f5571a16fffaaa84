"""Start-up: from the command to the first sample's work, against the parts it is made of.

``mepipe build`` of a one-clip full-size synthetic CASME-II release, run as a fresh
process (what a user types), takes the start-up plus that one sample's own work; the same
build run again in a warm process (imports done, models loaded, kernels compiled) takes
only the sample's work and the store's creation and finish. The difference is the
start-up: interpreter, imports, numba's cached kernels, dlib's models. The target is at
most 1.5 s. The parts are timed alone, each in a fresh process, for what bounds it (the
``+`` rows include importing ``mepipe.imaging.align``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.build import OUT
from mepipe.build import build
from mepipe.synth import synthesize

PARTS = {
    "interpreter": "pass",
    "import mepipe.cli": "import mepipe.cli",
    "import mepipe.build": "import mepipe.build",
    "numba kernels (cache)": "from mepipe.imaging import rankpool; rankpool.warmup()",
    "import mepipe.imaging.align": "import mepipe.imaging.align",
    "+ dlib detector": "import dlib; from mepipe.imaging import align; dlib.fhog_object_detector(str(align.DETECTOR))",
    "+ dlib predictor": "from mepipe.imaging import align; align._predictor()",
}


def release() -> Path:
    """A cached one-clip full-size synthetic CASME-II release."""
    root = OUT / "casme2-one-clip"
    if not (root / ".complete").exists():
        synthesize("casme2", root, subjects=1, clips_per_subject=1, seed=0, progress=False)
        (root / ".complete").write_text("done\n")
    return root


def wall(command: list[str]) -> float:
    """Seconds ``command`` takes as a fresh process."""
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    root, store = release(), OUT / "casme2-one-clip.zarr"
    command = [
        sys.executable,
        "-m",
        "mepipe",
        "build",
        "--dataset",
        "casme2",
        "--root",
        str(root),
        "--out",
        str(store),
        "--overwrite",
        "--quiet",
    ]
    build("casme2", root, str(store), overwrite=True, progress=False)  # warms this process
    rows = []
    for _ in range(args.repeats):
        cold = wall(command)
        start = time.perf_counter()
        build("casme2", root, str(store), overwrite=True, progress=False)
        warm = time.perf_counter() - start
        rows.append((cold, warm))
        print(
            f"startup   mepipe build, 1 clip: fresh process {cold:5.2f} s, warm process {warm:5.2f} s, "
            f"start-up {cold - warm:5.2f} s",
            flush=True,
        )
    startups = [cold - warm for cold, warm in rows]
    print(f"startup   start-up min {min(startups):.2f} s, median {statistics.median(startups):.2f} s (target <= 1.5 s)")
    python = sys.executable
    base = min(wall([python, "-c", PARTS["interpreter"]]) for _ in range(args.repeats))
    for name, code in PARTS.items():
        seconds = min(wall([python, "-c", code]) for _ in range(args.repeats))
        extra = seconds if name == "interpreter" else seconds - base
        print(
            f"startup   part: {name:24} {extra:5.2f} s" + ("" if name == "interpreter" else " (over the interpreter)")
        )


if __name__ == "__main__":
    main()
