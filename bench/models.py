"""AFN against STSTNet under the same honest leave-one-subject-out protocol, on synthetic data.

Synthesises a CASME-II release (``mepipe.synth``: made-up faces with a per-emotion
motion, never licensed frames), builds it with ``--arrays flow`` (the AFN eats the TRDI
and MIDI, STSTNet the 28 px u, v, strain image), and runs both models through one
:func:`mepipe.train.sweep.sweep`: the same folds, a fresh model per fold, a fixed number
of epochs, nothing chosen on a test subject. Small enough for a CPU in a few minutes;
``--doc`` writes the page with the table (docs/models.md is made this way)::

    python -m bench.models --doc docs/models.md

The figures describe the synthetic data, not the published datasets: the check that the
published STSTNet figures come out is ``python -m bench.ststnet``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from mepipe.build import build
from mepipe.synth import synthesize
from mepipe.train.models import get_model
from mepipe.train.sweep import SCORES, sweep

MODELS = ("afn", "ststnet")


def run(args: argparse.Namespace, work: Path) -> tuple[dict, dict]:
    """Synthesise, build, train both models; (sweep summary, what was run)."""
    release, store = work / "release", str(work / "casme2.zarr")
    synthesize(
        "casme2",
        release,
        subjects=args.subjects,
        clips_per_subject=args.clips,
        scale=0.5,
        seed=0,
        classes="3",
        progress=False,
    )
    build(
        "casme2",
        release,
        store,
        size=args.size,
        classes="3",
        arrays=("trdi", "midi", "onset", "apex", "flow"),
        progress=False,
    )
    start = time.perf_counter()
    summary = sweep(
        store,
        work / "runs",
        MODELS,
        args.seeds,
        progress=False,
        epochs=args.epochs,
        batch=args.batch,
        lr=args.lr,
        width=args.width,
        device="cpu",
    )
    return summary, {"seconds": time.perf_counter() - start, "store": store}


def table(summary: dict) -> str:
    """The sweep as a markdown table: mean +- std over seeds of each score."""
    lines = ["| model | eats | " + " | ".join(SCORES) + " |", "|---|---|" + "---:|" * len(SCORES)]
    for name, scores in summary["variants"].items():
        cells = [f"{scores[k]:.3f} ± {scores[k + '_std']:.3f}" for k in SCORES]
        lines.append(f"| `{name}` | {', '.join(get_model(name).arrays)} | " + " | ".join(cells) + " |")
    chance = summary["chance"]
    lines.append(f"| chance | | {chance['majority_accuracy']:.3f} (majority) | | {chance['uar']:.3f} |")
    return "\n".join(lines)


def page(summary: dict, args: argparse.Namespace, seconds: float) -> str:
    command = "python -m bench.models --doc docs/models.md" + "".join(
        f" --{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "doc" and v != DEFAULTS[k]
    )
    return f"""# Models

`mepipe train --model NAME` trains any registered model (`mepipe.train.models`; adding one:
`tests/test_extend_model.py`) under one leave-one-subject-out protocol: a fresh model per
fold, a fixed number of epochs, nothing chosen on the test subject, predictions pooled over
the folds (docs/training.md). The built-in models:

| model | eats | what it is |
|---|---|---|
{chr(10).join(f"| `{n}` | {', '.join(get_model(n).arrays)} | {get_model(n).summary} |" for n in _names())}

`ststnet` is the published STSTNet (Liong et al. 2019) layer for layer, with the
authors' parameter names, so their per-subject checkpoints load unchanged:
`python -m bench.ststnet --weights STSTNet/STSTNet_Weights --folds
HTNet/datasets/three_norm_u_v_os` evaluates them on the published folds through
`build_model("ststnet", 3)` and gives UF1 0.7209, UAR 0.7250 over the 442 samples, the
published figures. Its input is the 28 px image of `mepipe export --format ststnet` (u, v
and strain of the onset-apex flow) as OpenCV reads the PNG: build the store with
`--arrays flow`.

## AFN against STSTNet on one synthetic store

Made by `{command}` ({seconds / 60:.0f} min of wall time on the machine that ran it): a synthetic CASME-II
release of {args.subjects} subjects x {args.clips} clips (made-up faces, `mepipe.synth`),
built at {args.size} px with `--arrays flow`, class set `3`, {summary["n_samples"]} samples;
both models trained by one sweep on the same folds: {args.epochs} epochs, batch {args.batch},
learning rate {args.lr} (the AFN's head 10x; every STSTNet parameter at it), AFN stream width {args.width},
{len(summary["seeds"])} seed(s) (mean ± std over seeds).

{table(summary)}

These are figures of the synthetic data and of these small settings (the AFN's ResNet
streams are far from their ImageNet-sized width), not of any published dataset; they
show that the two models run under the same protocol from one store, not which is better.
"""


def _names() -> list[str]:
    from mepipe.train.models import model_names

    return list(model_names())


DEFAULTS = {"subjects": 6, "clips": 6, "size": 64, "epochs": 15, "batch": 16, "lr": 1e-3, "width": 8, "seeds": 2}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.models", description=__doc__.split("\n\n")[0])
    for key, value in DEFAULTS.items():
        parser.add_argument(f"--{key}", type=type(value), default=value)
    parser.add_argument("--doc", type=Path, default=None, help="write the docs page here")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as work:
        summary, done = run(args, Path(work))
    print(table(summary))
    if args.doc is not None:
        args.doc.write_text(page(summary, args, done["seconds"]))
        print(f"wrote {args.doc}")


if __name__ == "__main__":
    main(sys.argv[1:])
