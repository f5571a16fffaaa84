"""The docs' figures, made from synthetic data: ``python docs/figures.py``.

``docs/figures/one-sample.png``: one synthetic CASME-II clip as ``mepipe build`` stores it,
its aligned onset and apex, TRDI, MIDI, the onset -> apex optical flow (colour wheel:
hue = direction, brightness = magnitude) and its optical strain. Shown on the method and
arrays pages. ``make docs`` does not run this: the PNG is committed, and rerun by hand
after a change that moves what the build computes (licensed frames never go in).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from mepipe.build import build
from mepipe.imaging.flowcolor import flow_key, flow_picture, strain_picture
from mepipe.store import OK, open_store, read_array
from mepipe.synth import synthesize

OUT = Path(__file__).resolve().parent / "figures"
#: what the panels show, in order
PANELS = ("onset", "apex", "trdi", "midi", "flow", "strain")


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
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python docs/figures.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs")
    parser.add_argument("--size", type=int, default=160, help="side of the aligned images")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic release")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        arrays = sample_arrays(Path(work), args.size, args.seed)
    print(one_sample_figure(arrays, args.out / "one-sample.png"))


if __name__ == "__main__":
    main()
