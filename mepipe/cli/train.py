"""Command: ``mepipe train``, leave-one-subject-out training on a store.

PyTorch is an optional extra, so it is imported only when the command runs: the rest
of mepipe works without it, and without it this command fails with one line.
"""

from __future__ import annotations

import click

from ..errors import require
from ..train.defaults import DEFAULT_EPOCHS, VARIANTS


def _import_train():
    require("torch", "PyTorch", "mepipe train", "train")
    from ..train.report import format_summary
    from ..train.run import train as run

    return run, format_summary


@click.command()
@click.option("--store", required=True, type=click.Path(exists=True, file_okay=False), help="zarr store from mepipe build")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="run directory for metrics, predictions, figures")
@click.option("--classes", default=None, help="class set: raw, 5, 3, megc2019, ... (default: the store's own)")
@click.option("--variant", type=click.Choice(VARIANTS), default="afn", show_default=True, help="fusion variant")
@click.option("--epochs", type=click.IntRange(min=1), default=DEFAULT_EPOCHS, show_default=True,
              help="fixed number of epochs per fold")
@click.option("--batch", type=click.IntRange(min=2), default=32, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-4, show_default=True,
              help="backbone learning rate (the head uses 10x)")
@click.option("--seeds", type=click.IntRange(min=1), default=1, show_default=True,
              help="repeat the run with seeds 0..N-1; report mean and std")
@click.option("--device", type=click.Choice(("auto", "cpu", "cuda")), default="auto", show_default=True)
@click.option("--init-weights", type=click.Path(exists=True, dir_okay=False), default=None,
              help="local torchvision ResNet-18 state dict for both streams (never downloaded)")
@click.option("--subjects", default=None, help="comma-separated test subjects: run only their folds")
@click.option("--image-size", type=click.IntRange(min=32), default=None, help="resize images on load (pixels)")
@click.option("--width", type=click.IntRange(min=1), default=64, show_default=True,
              help="base channels of each ResNet stream (64 = ResNet-18)")
@click.option("--focal", is_flag=True, help="focal loss (gamma = 2) on top of the weighted cross-entropy")
def train(store, out, classes, variant, epochs, batch, lr, seeds, device, init_weights, subjects,
          image_size, width, focal) -> None:
    """Leave-one-subject-out training of the TRDI/MIDI fusion network on STORE.

    One fold per subject, a fresh model per fold, a fixed number of epochs: nothing is
    chosen by looking at the test subject. Writes metrics.json, predictions.csv,
    confusion.png, fusion_weights.png and curves.png to OUT.
    """
    run, format_summary = _import_train()
    metrics = run(
        store, out, classes=classes, variant=variant, epochs=epochs, batch=batch, lr=lr,
        seeds=seeds, device=device, init_weights=init_weights,
        subjects=[s.strip() for s in subjects.split(",") if s.strip()] if subjects else None,
        image_size=image_size, width=width, focal=focal, progress=True,
    )
    click.echo(format_summary(metrics))
    click.echo(f"wrote {out}/metrics.json, predictions.csv, confusion.png, fusion_weights.png, curves.png")


COMMANDS = [train]
