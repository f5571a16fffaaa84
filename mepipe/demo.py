"""``make demo``: the whole job on embedded synthetic data, end to end.

Synthesises a small SAMM and a small CASME-II release (real face photograph, synthetic
micro-expressions), builds both stores (CASME-II's with onset->apex optical flow and
strain too), writes previews and a quality report of each, and trains a small AFN on the
CASME-II store, printing where everything went.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from mepipe.build import build
from mepipe.errors import MepipeError
from mepipe.report.page import write_report
from mepipe.report.preview import write_previews
from mepipe.store import open_store
from mepipe.synth import synthesize

DATASETS = {
    # dataset: (subjects, clips per subject, scale)
    "samm": (4, 5, 0.25),
    "casme2": (8, 6, 0.5),
}
#: what each store holds (mepipe build --arrays); the CASME-II one shows the flow
ARRAYS = {"samm": "trdi,midi,onset,apex", "casme2": "trdi,midi,onset,apex,flow"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mepipe.demo", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo"))
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--no-train", action="store_true")
    args = parser.parse_args(argv)
    out = args.out
    stores = {}
    for dataset, (subjects, clips, scale) in DATASETS.items():
        release = out / "data" / dataset
        # synthesis is deterministic: a rerun of the demo starts from the same release
        shutil.rmtree(release, ignore_errors=True)
        print(f"== {dataset}: synthesising {subjects} subjects x {clips} clips into {release}")
        synthesize(dataset, release, subjects=subjects, clips_per_subject=clips, scale=scale, seed=0)
        store = str(out / f"{dataset}.zarr")
        print(f"== {dataset}: building {store}")
        summary = build(dataset, release, store, classes="5", overwrite=True, arrays=ARRAYS[dataset])
        print(summary.format())
        previews = write_previews(open_store(store), out / "previews" / dataset, per_class=4)
        print(f"previews: {', '.join(str(p) for p in previews)}")
        print(f"report:   {write_report(store, out / 'reports' / dataset, progress=False)}")
        stores[dataset] = store
    if not args.no_train:
        from mepipe.train import train

        run = out / "runs" / "casme2-afn"
        print(f"== training the AFN on {stores['casme2']} (leave-one-subject-out) into {run}")
        metrics = train(stores["casme2"], run, epochs=args.epochs, image_size=64, width=16, batch=16)
        print(
            f"pooled: accuracy {metrics['accuracy']:.3f}  UF1 {metrics['uf1']:.3f}  "
            f"UAR {metrics['uar']:.3f}  (chance: accuracy {metrics['chance']['majority_accuracy']:.3f}, UAR {metrics['chance']['uar']:.3f})"
        )
        print(f"run outputs: {run}/metrics.json, predictions.csv, confusion.png, fusion_weights.png, curves.png")
    print("\nresults:")
    command = installed_command()
    for store in stores.values():
        print(f"  {store}    ({command} inspect {store})")
    print(f"  {out / 'previews'}/<dataset>/<class>.png")
    print(f"  {out / 'reports'}/<dataset>/index.html    (every sample, with quality flags; casme2 with its flow)")
    return 0


def installed_command() -> str:
    """The ``mepipe`` this demo's Python installed, as a user can type it from here
    (``.venv/bin/mepipe`` after ``make demo``): the venv is not on the shell's PATH."""
    found = Path(sys.executable).parent / "mepipe"
    if not found.exists():
        return f"{sys.executable} -m mepipe"
    try:
        return str(found.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(found)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except MepipeError as exc:
        sys.exit(f"mepipe demo: error: {exc}")
