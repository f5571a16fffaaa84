"""Spot-then-recognise on synthetic CAS(ME)^2 long videos: spotting F1, recognition F1, STRS.

``python -m bench.strs [--subjects 4] [--dataset casme_sq] [--doc docs/spotting.md]``

A synthetic ``casme_sq`` release (each subject 2 videos of 600 frames, each with 2 micro-
and 2 macro-expressions of the sheet's lengths, classes drawn from negative, positive,
surprise and others), its spotting store (``mepipe build``'s defaults), then, leave one
subject out throughout:

* **baseline + AFN**: the baseline spotter (:func:`mepipe.spot.baseline.spot_loso`), each
  spotted micro interval recognised by an AFN trained on the other subjects' annotated
  micro-expressions (:func:`mepipe.spot.recognise.spot_recognise`);
* **baseline + majority**: the same spots, each recognised as its training subjects' most
  common class: the reference a recogniser must beat (measured in the same run);
* **annotated + AFN**: the annotated micro intervals given as the spots (spotting F1 1),
  the same recogniser: what recognition alone reaches on these clips.

Prints the table and the seconds of each phase; ``--doc`` writes them into that page
between its ``bench.strs <dataset>`` markers. Asserts nothing.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from mepipe.release.longvideo import Interval, LongVideoRecipe
from mepipe.release.registry import get_recipe
from mepipe.spot.baseline import spot_loso, store_videos
from mepipe.spot.evaluate import evaluate, truth_intervals
from mepipe.spot.recognise import SIZE, TRAINING, FoldRecord, spot_recognise, store_subjects
from mepipe.spot.strs import CLASSES, RECOGNISER_CLASSES, StrsScore, strs
from mepipe.synth.longvideo import synthesize_long
from mepipe.train.run import training_options

#: the markers of the page's block, per dataset: ``<!-- bench.strs casme_sq: begin -->``
MARKERS = "<!-- bench.strs {dataset}: begin -->", "<!-- bench.strs {dataset}: end -->"


def majority(predictions: Sequence[Interval], folds: Sequence[FoldRecord], subjects: dict[str, str]) -> list[Interval]:
    """Each micro prediction recognised as the most common class of its fold's training clips."""
    common = {f.subject: max(CLASSES, key=lambda c: (f.classes[c], -CLASSES.index(c))) for f in folds}
    return [replace(p, emotion=common.get(subjects[p.video], "")) if p.type == "micro" else p for p in predictions]


def row(name: str, score: StrsScore) -> str:
    c = score.spotting
    return (
        f"| {name} | {c.tp} / {c.tp + c.fp} / {c.tp + c.fn} | {score.spotting_f1:.3f} | "
        f"{score.correct} of {score.recognised} | {score.recognition_f1:.3f} | {score.strs:.3f} |"
    )


def table(rows: Sequence[tuple[str, StrsScore]], reference: StrsScore) -> str:
    lines = [
        "| spotter + recogniser | micro TP / predictions / intervals | spotting F1 | correct of matched | "
        "recognition F1 (`--classes megc2019`) | STRS (`--classes megc2019`) |",
        "|---|---|---|---|---|---|",
        *(row(name, score) for name, score in rows),
    ]
    ratio = rows[0][1].strs / reference.strs if reference.strs else float("nan")
    lines.append("")
    lines.append(f"STRS of baseline + AFN over baseline + majority class: {ratio:.2f}x")
    return "\n".join(lines)


def write_doc(path: Path, text: str, dataset: str) -> None:
    begin, end = (marker.format(dataset=dataset) for marker in MARKERS)
    page = path.read_text()
    if begin not in page or end not in page:
        raise SystemExit(f"bench.strs: {path} has no {begin} ... {end} markers")
    block = f"{begin}\n{text}\n{end}"
    path.write_text(re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, page, flags=re.S))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.strs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="casme_sq", help="long-video recipe synthesised (casme_sq, samm_lv)")
    parser.add_argument("--subjects", type=int, default=4, help="synthetic subjects")
    parser.add_argument("--scale", type=float, default=0.25, help="frame size relative to the release's")
    parser.add_argument("--seed", type=int, default=0, help="synthesis and training seed")
    parser.add_argument("--epochs", type=int, default=TRAINING["epochs"], help="training epochs per fold")
    parser.add_argument("--size", type=int, default=SIZE, help="side of the clips cut, pixels")
    parser.add_argument("--workers", type=int, default=2, help="build workers")
    parser.add_argument("--data", type=Path, default=None, help="keep the release and store here (reused)")
    parser.add_argument("--doc", type=Path, default=None, help="write the table into this page's markers")
    args = parser.parse_args(argv)
    recipe = get_recipe(args.dataset, object)
    assert isinstance(recipe, LongVideoRecipe)
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        base = args.data or Path(scratch)
        release, store = base / "release", base / "release.zarr"
        start = time.perf_counter()
        if not release.exists():
            synthesize_long(recipe, release, subjects=args.subjects, scale=args.scale, seed=args.seed, progress=False)
        seconds["synth"] = time.perf_counter() - start
        start = time.perf_counter()
        if not store.exists():
            from mepipe.build import build

            summary = build(recipe.name, release, str(store), workers=args.workers, progress=False)
            if not summary.ok:
                raise SystemExit(summary.format())
        seconds["build"] = time.perf_counter() - start
        start = time.perf_counter()
        videos, _ = store_videos(store)
        spots = spot_loso(videos).spans
        seconds["spot"] = time.perf_counter() - start
        options = training_options(**{**TRAINING, "epochs": args.epochs})
        start = time.perf_counter()
        found = spot_recognise(
            store, recipe, release, spots, options=options, size=args.size, seed=args.seed, pred_source="baseline"
        )
        seconds["recognise"] = time.perf_counter() - start
        truth = truth_intervals(store)
        subjects = store_subjects(store)
        chance = strs(
            evaluate(truth, majority(found.predictions, found.folds, subjects)),
            classes=RECOGNISER_CLASSES,
            dataset=recipe.name,
        )
        annotated = [replace(s, emotion="") for s in truth.spans if s.type == "micro"]
        start = time.perf_counter()
        oracle = spot_recognise(store, recipe, release, annotated, options=options, size=args.size, seed=args.seed)
        seconds["recognise annotated"] = time.perf_counter() - start
    micro = sum(s.type == "micro" for s in truth.spans)
    classed = sum(s.type == "micro" and s.emotion in CLASSES for s in truth.spans)
    rows = [("baseline + AFN", found.score), ("baseline + majority class", chance), ("annotated + AFN", oracle.score)]
    command = "python -m bench.strs" + "".join(
        f" --{k} {v}" for k, v in vars(args).items() if k not in ("doc", "data") and v != parser.get_default(k)
    )
    text = "\n".join(
        [
            f"`{command}`: synthetic {args.dataset}, {args.subjects} subjects, {len(videos)} videos, {micro} micro-"
            f"expressions ({classed} with a MEGC class), scale {args.scale}; clips {args.size} px, AFN width "
            f"{options.width}, {options.epochs} epochs, batch {options.batch}, lr {options.lr}, CPU, seed {args.seed}.",
            "",
            table(rows, chance),
            "",
            "seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()),
        ]
    )
    print(text)
    if args.doc is not None:
        write_doc(args.doc, text, args.dataset)
        print(f"wrote {args.doc}")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
