"""The docs' figures, made from synthetic data: ``python docs/figures.py``.

``docs/figures/one-sample.png``: one synthetic CASME-II clip as ``mepipe build`` stores it,
its aligned onset and apex, TRDI, MIDI, the onset -> apex optical flow (colour wheel:
hue = direction, brightness = magnitude) and its optical strain. Shown on the method and
arrays pages.

``docs/figures/classes.png``: one sample of each class of a small synthetic CASME-II store
(5 classes), its onset, apex, TRDI and MIDI, as ``mepipe preview`` draws them
(:func:`mepipe.report.preview.contact_sheet`). Shown on the README and the method page.

``docs/figures/spotting.png``: a synthetic CAS(ME)^2 long video's spotting store as
``mepipe report`` draws it (:func:`mepipe.report.spotting.video_picture`): the motion
curve with the sheet's micro (red) and macro (blue) intervals, and each interval's
thumbnails. Shown on the spotting page.

``docs/figures/confusion.png``: the confusion matrices of a tiny CPU training run
(:func:`mepipe.train.train`, a small AFN, leave one subject out) on that clip store,
as the run writes them. Shown on the training page.

``make docs`` does not run this: the PNGs are committed (each under 150 KB), and rerun by
hand after a change that moves what the build computes (licensed frames never go in).
Same arguments, same bytes.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from mepipe.build import build, build_long_videos
from mepipe.imaging.flowcolor import flow_key, flow_picture, strain_picture
from mepipe.release.longvideo import LongVideoRecipe
from mepipe.release.registry import get_recipe
from mepipe.report.preview import COLUMNS, contact_sheet
from mepipe.report.spotting import video_picture
from mepipe.store import OK, open_store, read_array, read_columns
from mepipe.store.spotting import open_spotting_store, read_intervals, spotting_record
from mepipe.synth import synthesize
from mepipe.synth.longvideo import synthesize_long

OUT = Path(__file__).resolve().parent / "figures"
#: what the panels show, in order
PANELS = ("onset", "apex", "trdi", "midi", "flow", "strain")
#: every figure the script makes, and the pages that show it
FIGURES = {
    "one-sample": ("method.md", "arrays.md"),
    "classes": ("method.md", "../README.md"),
    "spotting": ("spotting.md",),
    "confusion": ("training.md",),
}
#: the largest a committed figure may be
MAX_BYTES = 150_000


def write_png(picture: np.ndarray, out: Path) -> Path:
    """``picture`` (BGR uint8) as a 256-colour PNG at ``out`` (median-cut palette,
    Floyd-Steinberg dithering: deterministic, and a third of the full-colour bytes)."""
    from PIL import Image

    out.parent.mkdir(parents=True, exist_ok=True)
    rgb = Image.fromarray(cv2.cvtColor(picture, cv2.COLOR_BGR2RGB))
    rgb.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(out, optimize=True)
    return out


def clip_store(work: Path, seed: int) -> str:
    """A small synthetic CASME-II store (4 subjects x 5 clips, 5 classes), for the class
    previews and the training run."""
    root = work / "casme2-classes"
    synthesize("casme2", root, subjects=4, clips_per_subject=5, scale=0.25, seed=seed, progress=False)
    store = str(work / "casme2-classes.zarr")
    summary = build(
        "casme2", root, store, classes="5", size=64, arrays="trdi,midi,onset,apex", progress=False, scheduler="sync"
    )
    if summary.ok != summary.total:
        raise RuntimeError(f"the synthetic clips did not build: {summary.failures}")
    return store


def classes_figure(store: str, out: Path, side: int = 96) -> Path:
    """The first ok sample of each class: onset, apex, TRDI, MIDI, captioned."""
    group = open_store(store)
    table = read_columns(group)
    rows, captions = [], []
    for label in dict.fromkeys(str(x) for x in table["label"]):
        i = int(np.flatnonzero((table["status"] == OK) & (table["label"] == label))[0])
        rows.append({name: read_array(group, name, i) for name in COLUMNS})
        captions.append(f"{label}: {table['sample_id'][i]}")
    return write_png(cv2.cvtColor(contact_sheet(rows, captions, side), cv2.COLOR_RGB2BGR), out)


def spotting_figure(work: Path, out: Path, seed: int) -> Path:
    """One synthetic CAS(ME)^2 video of 240 frames, built into a spotting store and drawn."""
    recipe = get_recipe("casme_sq", LongVideoRecipe)  # type: ignore[type-abstract]
    root = work / "casme_sq"
    synthesize_long(recipe, root, subjects=1, videos=1, frames=240, scale=0.25, seed=seed, progress=False)
    store = str(work / "casme_sq.zarr")
    summary = build_long_videos("casme_sq", root, store, scheduler="sync", progress=False)
    if not summary.ok:
        raise RuntimeError(f"the synthetic long video did not build: {summary.format()}")
    group = open_spotting_store(store)
    record = spotting_record(group)
    name = record.videos[0]
    own = [i for i in read_intervals(group) if i.video == name]
    return write_png(video_picture(group[f"videos/{name}"], name, own, record.held), out)


def confusion_figure(store: str, work: Path, out: Path, epochs: int) -> Path:
    """The confusion matrices of a tiny CPU run (a small AFN) on ``store``."""
    import torch

    from mepipe.train import train

    torch.set_num_threads(1)  # the same sums in the same order, run after run
    run = work / "run"
    train(store, run, epochs=epochs, image_size=32, width=8, batch=16, progress=False, device="cpu")
    made = cv2.imread(str(run / "confusion.png"))
    return write_png(made, out)


def sample_arrays(work: Path, size: int, seed: int) -> dict[str, np.ndarray]:
    """The arrays of the first sample of a one-clip synthetic CASME-II build."""
    root = work / "casme2"
    synthesize("casme2", root, subjects=1, clips_per_subject=1, scale=0.5, seed=seed, progress=False)
    store = str(work / "casme2.zarr")
    arrays = "trdi,midi,onset,apex,flow"
    summary = build("casme2", root, store, size=size, arrays=arrays, progress=False, scheduler="sync")
    if summary.ok != summary.total:
        raise RuntimeError(f"the synthetic sample did not build: {summary.failures}")
    group = open_store(store)
    assert read_array(group, "status")[0] == OK
    return {name: read_array(group, name, 0) for name in ("onset", "apex", "trdi", "midi", "flow", "strain")}


def one_sample_figure(arrays: dict[str, np.ndarray], out: Path) -> Path:
    """The six panels side by side, captioned, as a PNG at ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    flow, scale = flow_picture(arrays["flow"])
    strain, top = strain_picture(arrays["strain"])
    pictures = {**{name: arrays[name] for name in ("onset", "apex", "trdi", "midi")}, "flow": flow, "strain": strain}
    captions = {
        "onset": "aligned onset",
        "apex": "aligned apex",
        "trdi": "TRDI (time order)",
        "midi": "MIDI (motion order)",
        "flow": f"flow onset→apex\n(full brightness {scale:.2f} px)",
        "strain": f"optical strain\n(bright at {top:.3f})",
    }
    figure, axes = plt.subplots(1, len(PANELS), figsize=(2.1 * len(PANELS), 2.6), dpi=110)
    for axis, name in zip(axes, PANELS):
        axis.imshow(pictures[name], interpolation="nearest")
        axis.set_title(captions[name], fontsize=8)
        axis.set_axis_off()
    key = axes[PANELS.index("flow")].inset_axes((0.72, 0.0, 0.28, 0.28))
    key.imshow(flow_key(64))
    key.set_axis_off()
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)
    return write_png(cv2.imread(str(out)), out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python docs/figures.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs")
    parser.add_argument("--size", type=int, default=160, help="side of the aligned images")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic release")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the training run")
    parser.add_argument(
        "--only", default=",".join(FIGURES), help=f"comma-separated figures to make (default: {','.join(FIGURES)})"
    )
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in FIGURES]
    if unknown:
        parser.error(f"--only: unknown figure {', '.join(unknown)} (known: {', '.join(FIGURES)})")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        if "one-sample" in chosen:
            print(one_sample_figure(sample_arrays(work / "one", args.size, args.seed), args.out / "one-sample.png"))
        if "spotting" in chosen:
            print(spotting_figure(work / "spot", args.out / "spotting.png", args.seed))
        if {"classes", "confusion"} & set(chosen):
            store = clip_store(work / "clips", args.seed)
            if "classes" in chosen:
                print(classes_figure(store, args.out / "classes.png"))
            if "confusion" in chosen:
                print(confusion_figure(store, work / "clips", args.out / "confusion.png", args.epochs))
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
