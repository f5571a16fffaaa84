"""Command: ``mepipe train``, leave-one-subject-out training on a store.

PyTorch is an optional extra, so it is imported only when the command runs: the rest
of mepipe works without it, and without it this command fails with one line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mepipe.errors import UsageError, require
from mepipe.train.defaults import DEFAULT_EPOCHS, VARIANTS

from .options import quiet_option
from .scheduling import Placement, dask_options, dask_scheduler
from .store import protocol_option


def _import_train() -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., str], Callable[..., str]]:
    require("torch", "PyTorch", "mepipe train", "train")
    from mepipe.train import results, run, sweep

    return run.train, sweep.sweep, results.format_summary, sweep.format_sweep


def _variants(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown or not names:
        raise UsageError(
            f"--variant: unknown variant(s) {', '.join(unknown) or repr(value)}; known: {', '.join(VARIANTS)}"
        )
    return names


def _seeds(value: str) -> int | list[int]:
    # "3": seeds 0, 1, 2 (a count, as before); "0,4,7" or "5,": exactly those seeds
    try:
        if "," not in value:
            return int(value)
        return [int(s) for s in value.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--seeds takes a count (3) or a comma-separated list (0,1,2), not {value!r}") from None


@click.command()
@click.option(
    "--store", required=True, type=click.Path(exists=True, file_okay=False), help="zarr store from mepipe build"
)
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="run directory for metrics, predictions, figures"
)
@click.option("--classes", default=None, help="class set: raw, or one of the dataset's (default: the store's own)")
@click.option(
    "--variant",
    default="afn",
    show_default=True,
    help=f"fusion variant, or several comma-separated for a sweep: {', '.join(VARIANTS)}",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=DEFAULT_EPOCHS,
    show_default=True,
    help="fixed number of epochs per fold",
)
@click.option("--batch", type=click.IntRange(min=2), default=32, show_default=True, help="samples per batch")
@click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    default=1e-4,
    show_default=True,
    help="backbone learning rate (the head uses 10x)",
)
@click.option(
    "--seeds",
    default="1",
    show_default=True,
    help="N: repeat with seeds 0..N-1; or a list (0,1,2): those seeds; report mean and std",
)
@click.option(
    "--device",
    type=click.Choice(("auto", "cpu", "cuda")),
    default="auto",
    show_default=True,
    help="auto: CUDA if present",
)
@click.option(
    "--init-weights",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="local torchvision ResNet-18 state dict for both streams (never downloaded)",
)
@click.option("--subjects", default=None, help="comma-separated test subjects: run only their folds")
@click.option("--image-size", type=click.IntRange(min=32), default=None, help="resize images on load (pixels)")
@click.option(
    "--width",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="base channels of each ResNet stream (64 = ResNet-18)",
)
@click.option("--focal", is_flag=True, help="focal loss (gamma = 2) on top of the weighted cross-entropy")
@click.option(
    "--folds-at-once/--sequential",
    default=None,
    help="train a run's folds side by side as one grouped network [default: on CUDA]",
)
@click.option(
    "--fold-group",
    type=click.IntRange(min=1),
    default=None,
    help="at most this many (seed, fold) pairs side by side [default: one seed's folds]",
)
@protocol_option
@click.option(
    "--megc-log",
    type=click.Path(dir_okay=False),
    default=None,
    help="also write the predictions in the MEGC 2019 log format (composite stores)",
)
@dask_options(None, "tcp://HOST:PORT of a Dask scheduler: one task per (variant, seed) run.")
@quiet_option
def train(
    store: str,
    out: str,
    classes: str | None,
    variant: str,
    epochs: int,
    batch: int,
    lr: float,
    seeds: str,
    device: str,
    init_weights: str | None,
    subjects: str | None,
    image_size: int | None,
    width: int,
    focal: bool,
    folds_at_once: bool | None,
    fold_group: int | None,
    protocol: str,
    megc_log: Path | None,
    placement: Placement,
    quiet: bool,
) -> None:
    """Leave-one-subject-out (or, --protocol lodo, leave-one-dataset-out) training of the
    TRDI/MIDI fusion network on STORE.

    One fold per subject (or member dataset), a fresh model per fold, a fixed number of
    epochs: nothing is chosen by looking at the test fold. A composite store's metrics
    also hold each member's scores (per_dataset). Writes metrics.json, predictions.csv,
    confusion.png, fusion_weights.png and curves.png to OUT. With several variants, or
    on a Dask cluster, each variant's run goes to OUT/<variant>/ and OUT/sweep.json and
    OUT/sweep.png compare them.
    """
    run, run_sweep, format_summary, format_sweep = _import_train()
    variants = _variants(variant)
    options: dict[str, Any] = dict(
        classes=classes,
        epochs=epochs,
        batch=batch,
        lr=lr,
        device=device,
        init_weights=init_weights,
        subjects=[s.strip() for s in subjects.split(",") if s.strip()] if subjects else None,
        image_size=image_size,
        width=width,
        focal=focal,
        folds_at_once=folds_at_once,
        fold_group=fold_group,
        protocol=protocol,
    )
    if len(variants) == 1 and placement.scheduler is None and placement.cluster is None:
        if placement.dry_run:
            raise UsageError("--dry-run needs --cluster slurm or --cluster pbs")
        metrics = run(
            store, out, variant=variants[0], seeds=_seeds(seeds), megc_log=megc_log, progress=not quiet, **options
        )
        click.echo(format_summary(metrics))
        click.echo(f"wrote {out}/metrics.json, predictions.csv, confusion.png, fusion_weights.png, curves.png")
        return
    if megc_log is not None:
        raise UsageError("--megc-log writes one run's predictions: give one variant, without a cluster")
    with dask_scheduler(placement) as chosen:
        if placement.dry_run:  # the job script is printed
            return
        summary = run_sweep(store, out, variants, _seeds(seeds), scheduler=chosen, progress=not quiet, **options)
    click.echo(format_sweep(summary))
    click.echo(f"wrote {out}/sweep.json, sweep.png and a run folder per variant ({', '.join(variants)})")


COMMANDS = [train]
