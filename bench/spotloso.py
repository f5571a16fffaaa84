"""The baseline and the learned (SOFTNet) spotters under the same honest leave-one-subject-out,
scored by the same evaluator, on synthetic long videos.

For each dataset (CAS(ME)^2 ``casme_sq``, SAMM Long Videos ``samm_lv``): a synthetic release
(``mepipe.synth``: the packaged portrait with micro- and macro-expressions at the sheet's
intervals, blinks, drift and jerks; never licensed frames), its spotting store (default
flow: OpenCV's TV-L1), then both spotters on it, every subject's videos spotted by a
spotter that never saw that subject (the baseline's settings by nested LOSO on the other
subjects, SOFTNet trained on the other subjects' windows with its published recipe and
p), and one table of the MEGC counts (``mepipe.spot.evaluate``). ``--doc`` writes the
table into the "Baseline and learned spotters" section of a docs page::

    python -m bench.spotloso --doc docs/spotting.md

The figures describe the synthetic data, not the published datasets. ``--work DIR`` keeps
the releases and stores there and reuses them on the next run (the builds are most of
the time).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from mepipe.build import build
from mepipe.engine.spotting import DEFAULT_WARM
from mepipe.release.longvideo import Interval, LongVideoRecipe
from mepipe.release.registry import get_recipe
from mepipe.spot.baseline import spot_loso, store_videos
from mepipe.spot.evaluate import evaluate, metrics, truth_intervals
from mepipe.spot.learned import LearnedSettings, spot_learned, store_windows
from mepipe.synth.longvideo import synthesize_long

DATASETS = ("casme_sq", "samm_lv")
SPOTTERS = ("baseline", "softnet")
KINDS = ("micro", "macro", "overall")
DEFAULTS: dict[str, Any] = {
    "datasets": ",".join(DATASETS),
    "subjects": 4,
    "scale": 0.25,
    "frames": 600,
    "flow": "tvl1",
    "warm": DEFAULT_WARM,
    "epochs": 10,
    "seed": 0,
    "workers": 2,
}
#: the section of the docs page the table goes into, and the markers around what is written
SECTION = "## Baseline and learned spotters"
BEGIN, END = "<!-- bench.spotloso: begin -->", "<!-- bench.spotloso: end -->"


def store_for(dataset: str, args: argparse.Namespace, work: Path) -> tuple[str, float]:
    """The spotting store of a synthetic ``dataset`` release under ``work`` (made when absent),
    and the seconds spent making it (0 when reused)."""
    folder = work / f"{dataset}-s{args.subjects}-x{args.scale}-f{args.frames}-{args.flow}-{args.warm}-seed{args.seed}"
    store = folder / "spot.zarr"
    if (folder / "done").exists():
        return str(store), 0.0
    start = time.perf_counter()
    recipe = get_recipe(dataset, LongVideoRecipe)  # type: ignore[type-abstract]
    release = folder / "release"
    if folder.exists():  # an interrupted earlier run: start afresh
        shutil.rmtree(folder)
    synthesize_long(
        recipe, release, subjects=args.subjects, scale=args.scale, seed=args.seed, frames=args.frames, progress=False
    )
    summary = build(
        recipe.name, release, str(store), flow=args.flow, warm=args.warm, workers=args.workers, progress=False
    )
    if not summary.ok:
        raise SystemExit(f"bench.spotloso: {summary.format()}")
    (folder / "done").write_text("built\n")
    return str(store), time.perf_counter() - start


def spot(store: str, spotter: str, args: argparse.Namespace, read: Any) -> list[Interval]:
    """One spotter's leave-one-subject-out predictions on ``store``."""
    if spotter == "baseline":
        videos, _ = store_videos(store)
        return spot_loso(videos).spans
    return spot_learned(store, LearnedSettings(epochs=args.epochs, seed=args.seed, model=spotter), read=read).spans


def run(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    """Every (dataset, spotter): its metrics record and seconds."""
    results = []
    for dataset in args.datasets.split(","):
        store, built = store_for(dataset, args, work)
        print(f"{dataset}: store {store}" + (f" built in {built:.0f} s" if built else " reused"), flush=True)
        truth = truth_intervals(store)
        read = store_windows(store)
        for spotter in SPOTTERS:
            start = time.perf_counter()
            spans = spot(store, spotter, args, read)
            seconds = time.perf_counter() - start
            record = metrics(evaluate(truth, spans))
            results.append(
                {"dataset": dataset, "spotter": spotter, "metrics": record, "seconds": seconds, "built": built}
            )
            print(f"  {spotter}: overall F1 {record['overall']['f1']:.4f} in {seconds:.0f} s", flush=True)
    return results


def table(results: Sequence[dict[str, Any]]) -> str:
    """The results as one markdown table: a row per dataset, spotter and type."""
    lines = [
        "| dataset | spotter | type | TP | FP | FN | precision | recall | F1 |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        for kind in KINDS:
            m = result["metrics"][kind]
            lines.append(
                f"| {result['dataset']} | {result['spotter']} | {kind} | {m['tp']} | {m['fp']} | {m['fn']} | "
                f"{m['precision']:.4f} | {m['recall']:.4f} | {m['f1']:.4f} |"
            )
    return "\n".join(lines)


def command(args: argparse.Namespace) -> str:
    """The command line that makes the table (the options away from their defaults)."""
    extra = "".join(
        f" --{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k in DEFAULTS and v != DEFAULTS[k]
    )
    return f"python -m bench.spotloso --doc {args.doc}{extra}"


def section(results: Sequence[dict[str, Any]], args: argparse.Namespace) -> str:
    """What goes between the markers: how the table was made, and the table."""
    built = {r["dataset"]: r["built"] for r in results}
    builds = ", ".join(f"{d} {t:.0f} s" if t else f"{d} reused" for d, t in built.items())
    spotting = ", ".join(f"{r['dataset']} {r['spotter']} {r['seconds']:.0f} s" for r in results)
    return f"""Made by `{command(args)}`: synthetic releases of {args.subjects} subjects x 2 videos x
{args.frames} frames at scale {args.scale} (`mepipe synth --dataset DATASET --subjects {args.subjects}
--scale {args.scale} --frames {args.frames} --seed {args.seed}`), spotting stores built with the
`{args.flow}` flow (warm starts: {args.warm}) and the default k (0.2 s) on {args.workers} workers, both spotters leave one
subject out (`mepipe spot STORE --out P.csv --spotter baseline|softnet`, SOFTNet {args.epochs}
epochs, seed {args.seed}), every video scored by `mepipe spot-eval --truth STORE` (counts pooled
over the videos of a dataset). Wall time on the 2-core machine that ran it, shared, PyTorch on
one thread: builds {builds}; spotting {spotting}.

{table(results)}"""


def write_doc(path: Path, text: str) -> None:
    """Put ``text`` between the markers of ``path``'s section (made at the end if absent)."""
    page = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in page and END in page:
        page = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, page, flags=re.S)
    else:
        page = page.rstrip("\n") + f"\n\n{SECTION}\n\n{block}\n"
    path.write_text(page, encoding="utf-8")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.spotloso", description=__doc__.split("\n\n")[0])
    for key, value in DEFAULTS.items():
        parser.add_argument(f"--{key}", type=type(value), default=value)
    parser.add_argument("--work", type=Path, default=None, help="keep (and reuse) releases and stores here")
    parser.add_argument("--doc", type=Path, default=None, help="write the table into this docs page")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
        results = run(args, args.work)
    else:
        with tempfile.TemporaryDirectory() as work:
            results = run(args, Path(work))
    print(table(results))
    for result in results:
        if result["spotter"] == "baseline":
            f1 = result["metrics"]["overall"]["f1"]
            print(
                f"{result['dataset']}: baseline overall F1 {f1:.4f} {'>=' if f1 >= 0.3 else '<'} 0.3 (issue 27's must)"
            )
    if args.doc is not None:
        write_doc(args.doc, section(results, args))
        print(f"wrote {args.doc}")


if __name__ == "__main__":
    main(sys.argv[1:])
