"""Command: ``mepipe train``, leave-one-subject-out training of a registered model on a store.

PyTorch is an optional extra, so it is imported only when the command runs: the rest
of mepipe works without it, and without it this command fails with one line. The
command's options become one :class:`~mepipe.train.options.TrainOptions`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mepipe.errors import UsageError, require
from mepipe.train.defaults import DEFAULT_EPOCHS, DEFAULT_MODEL, VARIANTS

from .options import ListingOption, class_sets_help, quiet_option
from .scheduling import Placement, dask_options, dask_scheduler
from .store import protocol_option


def _registered_models() -> str:
    """The model registry's recognition models, for ``--model``'s help (the registry needs PyTorch)."""
    if importlib.util.find_spec("torch") is None:
        return "(with PyTorch installed, this help lists them)"
    from mepipe.train.models import model_names

    return f"Registered: {', '.join(model_names())}."


def _import_train() -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., str], Callable[..., str]]:
    require("torch", "PyTorch", "mepipe train", "train")
    from mepipe.train import results, run, sweep

    return run.train, sweep.sweep, results.format_summary, sweep.format_sweep


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _models(model: str | None, variant: str | None) -> list[str]:
    """The models to run: ``--model``'s, or ``--variant``'s (AFN fusion variants, each a model)."""
    if variant is None:
        return _names(model or DEFAULT_MODEL) or [DEFAULT_MODEL]
    if model not in (None, DEFAULT_MODEL):
        raise UsageError(f"--variant names AFN fusion variants; it does not apply to --model {model}")
    names = _names(variant)
    unknown = [v for v in names if v not in VARIANTS]
    if unknown or not names:
        raise UsageError(
            f"--variant: unknown variant(s) {', '.join(unknown) or repr(variant)}; known: {', '.join(VARIANTS)}"
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


def _store(store: str | None, store_option: str | None) -> str:
    if store and store_option and store != store_option:
        raise UsageError(f"two stores given: {store} and --store {store_option}; give one")
    chosen = store or store_option
    if not chosen:
        raise UsageError("mepipe train needs a STORE (mepipe train STORE --out RUNDIR)")
    from mepipe.store.kinds import require_kind

    require_kind(
        chosen,
        "clips",
        "mepipe train trains recognition models on clip stores; spot its videos with "
        f"mepipe spot {chosen} --spotter softnet (or baseline), or spot and recognise with mepipe spot-recognise",
    )
    return chosen


@click.command()
@click.argument("store", required=False)
@click.option("--store", "store_option", default=None, help="The store, as an option (the same as STORE).")
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="Run directory for metrics, predictions, figures."
)
@click.option(
    "--model",
    cls=ListingOption,
    listing=_registered_models,
    default=None,
    help=f"Model of mepipe.train.models, or several comma-separated for a comparison [default: {DEFAULT_MODEL}].",
)
@click.option(
    "--variant",
    default=None,
    help=f"AFN fusion variant (each is also a --model), or several comma-separated for a sweep: "
    f"{', '.join(VARIANTS)} [default: {DEFAULT_MODEL}].",
)
@click.option(
    "--classes",
    default=None,
    help=f"{class_sets_help()} [default: the store's own].",
)
@click.option(
    "--epochs", type=click.IntRange(min=1), default=DEFAULT_EPOCHS, show_default=True, help="Epochs per fold (fixed)."
)
@click.option("--batch", type=click.IntRange(min=2), default=32, show_default=True, help="Training batch size.")
@click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    default=1e-4,
    show_default=True,
    help="Backbone learning rate (the head uses 10x).",
)
@click.option(
    "--seeds",
    default="1",
    show_default=True,
    help="N: repeat with seeds 0..N-1; or a list (0,1,2): those seeds; report mean and std.",
)
@click.option(
    "--device",
    type=click.Choice(("auto", "cpu", "cuda")),
    default="auto",
    show_default=True,
    help="Where to train; auto: CUDA if PyTorch sees a GPU.",
)
@click.option(
    "--init-weights",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Local torchvision ResNet-18 state dict for both AFN streams (never downloaded).",
)
@click.option("--subjects", default=None, help="Comma-separated test subjects: run only their folds.")
@click.option(
    "--image-size", type=click.IntRange(min=1), default=None, help="Resize images on load (pixels; AFN: 32 or more)."
)
@click.option(
    "--width",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="Base channels of each AFN ResNet stream (64 = ResNet-18).",
)
@click.option("--focal", is_flag=True, help="Focal loss (gamma = 2) on top of the weighted cross-entropy.")
@click.option(
    "--folds-at-once/--sequential",
    default=None,
    help="Train a run's folds side by side as one grouped network [default: on CUDA, models that stack].",
)
@click.option(
    "--fold-group",
    type=click.IntRange(min=1),
    default=None,
    help="At most this many (seed, fold) pairs side by side [default: one seed's folds].",
)
@protocol_option
@click.option(
    "--megc-log",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the predictions in the MEGC 2019 log format (composite stores).",
)
@dask_options(None, "tcp://HOST:PORT of a Dask scheduler: one task per (model, seed) run.")
@quiet_option
def train(
    store: str | None,
    store_option: str | None,
    out: str,
    model: str | None,
    variant: str | None,
    seeds: str,
    subjects: str | None,
    megc_log: Path | None,
    quiet: bool,
    placement: Placement,
    **options: Any,
) -> None:
    """Leave-one-subject-out (or, --protocol lodo, leave-one-dataset-out) training of a
    model on STORE: the TRDI/MIDI fusion network by default, or any registered --model.

    One fold per subject (or member dataset), a fresh model per fold, a fixed number of
    epochs: nothing is chosen by looking at the test fold. A composite store's metrics
    also hold each member's scores (per_dataset). Writes metrics.json, predictions.csv,
    confusion.png, fusion_weights.png and curves.png to OUT. With several models (or
    variants), or on a Dask cluster, each model's run goes to OUT/<model>/ and
    OUT/sweep.json and OUT/sweep.png compare them.
    """
    path = _store(store, store_option)
    models = _models(model, variant)
    run, run_sweep, format_summary, format_sweep = _import_train()
    from mepipe.train.options import TrainOptions

    chosen = TrainOptions.of(model=models[0], subjects=_names(subjects) if subjects else None, **options)
    if len(models) == 1 and placement.scheduler is None and placement.cluster is None:
        if placement.dry_run:
            raise UsageError("--dry-run needs --cluster slurm or --cluster pbs")
        metrics = run(path, out, chosen, seeds=_seeds(seeds), megc_log=megc_log, progress=not quiet)
        click.echo(format_summary(metrics))
        click.echo(f"wrote {out}/metrics.json, predictions.csv, confusion.png, fusion_weights.png, curves.png")
        return
    if megc_log is not None:
        raise UsageError("--megc-log writes one run's predictions: give one model, without a cluster")
    with dask_scheduler(placement) as scheduler:
        if placement.dry_run:  # the job script is printed
            return
        summary = run_sweep(path, out, models, _seeds(seeds), scheduler=scheduler, progress=not quiet, options=chosen)
    click.echo(format_sweep(summary))
    click.echo(f"wrote {out}/sweep.json, sweep.png and a run folder per model ({', '.join(models)})")


COMMANDS = [train]
