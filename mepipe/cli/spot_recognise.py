"""``spot-recognise``: spotted micro-expressions recognised leave one subject out, scored as STRS."""

from __future__ import annotations

from pathlib import Path

import click

from mepipe.errors import UsageError
from mepipe.release.labels import MEGC2019_SET
from mepipe.release.registry import recipe_names
from mepipe.spot.registry import DEFAULT_SPOTTER
from mepipe.train.defaults import RECOGNISE_SIZE as SIZE
from mepipe.train.defaults import RECOGNISE_TRAINING as TRAINING

from .options import ListingOption, quiet_option, registered_spotters


def _check_out(path: Path, option: str) -> None:
    """A file path to write, refused before any work (nothing is written on a bad one)."""
    if path.is_dir():
        raise UsageError(f"{option} {path}: a folder; name the file to write")


@click.command("spot-recognise")
@click.argument("store", type=click.Path(path_type=Path))
@click.option(
    "--dataset",
    required=True,
    type=click.Choice(recipe_names()),
    help="The long-video (spotting) recipe the store was built with.",
)
@click.option(
    "--release",
    required=True,
    type=click.Path(path_type=Path),
    help="The release STORE was built from: the frames the spotted intervals are cut from.",
)
@click.option(
    "--pred",
    type=click.Path(path_type=Path),
    default=None,
    help="Spotted intervals, a CSV video,type,onset,offset (mepipe spot's) [default: --spotter's, "
    "leave one subject out].",
)
@click.option(
    "--spotter",
    cls=ListingOption,
    listing=registered_spotters,
    default=None,
    help=f"Without --pred: the registered spotter that spots the store, with its default options "
    f"[default: {DEFAULT_SPOTTER}].",
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The metrics JSON file to write.")
@click.option(
    "--recognised",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the predictions with the recognised class in an emotion column (mepipe spot-eval --strs "
    "scores it again).",
)
@click.option(
    "--clips",
    type=click.Path(path_type=Path),
    default=None,
    help="Train on this clip store's samples (mepipe build) instead of the release's annotated "
    "micro-expressions; spotted intervals are then cut with its build options.",
)
@click.option(
    "--clip-classes",
    default=MEGC2019_SET,
    show_default=True,
    help="With --clips: the store's class set that gives negative, positive, surprise.",
)
@click.option("--model", default="afn", show_default=True, help="Registered model to train (mepipe.train.models).")
@click.option(
    "--epochs", type=click.IntRange(min=1), default=TRAINING["epochs"], show_default=True, help="Epochs per fold."
)
@click.option(
    "--batch", type=click.IntRange(min=2), default=TRAINING["batch"], show_default=True, help="Training batch size."
)
@click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    default=TRAINING["lr"],
    show_default=True,
    help="Backbone learning rate (the head uses 10x).",
)
@click.option(
    "--width",
    type=click.IntRange(min=1),
    default=TRAINING["width"],
    show_default=True,
    help="Base channels of each AFN stream (64 = ResNet-18).",
)
@click.option(
    "--size",
    type=click.IntRange(min=16, max=2048),
    default=SIZE,
    show_default=True,
    help="Side of the aligned clips cut from the long videos, pixels (without --clips).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Training seed.")
@click.option(
    "--device",
    type=click.Choice(("auto", "cpu", "cuda")),
    default=TRAINING["device"],
    show_default=True,
    help="Where to train.",
)
@quiet_option
def spot_recognise(
    store: Path,
    dataset: str,
    release: Path,
    pred: Path | None,
    spotter: str | None,
    out: Path,
    recognised: Path | None,
    clips: Path | None,
    clip_classes: str,
    model: str,
    epochs: int,
    batch: int,
    lr: float,
    width: int,
    size: int,
    seed: int,
    device: str,
    quiet: bool,
) -> None:
    """Recognise the spotted micro-expressions of a spotting STORE and score STRS (MEGC 2025).

    For each test subject, a model trained only on the other subjects' annotated
    micro-expressions (negative, positive, surprise) classifies every spotted micro
    interval of that subject's videos, cut from the release's frames and made into
    TRDI/MIDI as a clip store's are. Writes the spotting counts, STRS = spotting F1 x
    recognition F1 on the matched intervals, and each fold's training clips.
    """
    from mepipe.release.longvideo import LongVideoRecipe
    from mepipe.release.registry import get_recipe, recipe_task
    from mepipe.spot.evaluate import read_spans, write_metrics, write_spans
    from mepipe.spot.recognise import spot_recognise as run
    from mepipe.spot.registry import get_spotter
    from mepipe.train.run import training_options

    _check_out(out, "--out")
    if pred is not None and spotter is not None:
        raise UsageError("--pred and --spotter: give the spotted intervals or the spotter that spots them, not both")
    if pred is None:
        spotter = spotter or DEFAULT_SPOTTER
        get_spotter(spotter).check_needs(f"mepipe spot-recognise --spotter {spotter}")
    if recognised is not None:
        _check_out(recognised, "--recognised")
    options = training_options(model=model, epochs=epochs, batch=batch, lr=lr, width=width, device=device)
    if recipe_task(dataset) != "spotting":
        raise UsageError(
            f"--dataset {dataset} is a clip dataset; spot-recognise reads the long videos of a spotting one"
        )
    recipe = get_recipe(dataset, LongVideoRecipe)  # type: ignore[type-abstract]
    predictions = read_spans(pred) if pred is not None else None
    result = run(
        store,
        recipe,
        release,
        predictions,
        options=options,
        size=size,
        clips=clips,
        clip_classes=clip_classes,
        seed=seed,
        pred_source=str(pred) if pred is not None else "predictions",
        spotter=spotter or DEFAULT_SPOTTER,
        progress=not quiet,
    )
    record = result.record(truth=str(store), pred=str(pred) if pred is not None else f"{spotter} spotter (LOSO)")
    if recognised is not None:
        write_spans(result.predictions, recognised)
    write_metrics(record, out)
    s = result.score
    for clip_id, why in list(result.not_cut.items())[:20]:
        click.echo(f"mepipe: not cut {clip_id}: {why}", err=True)
    click.echo(f"{s.summary()}; trained on {result.training}; metrics in {out}")


COMMANDS = [spot_recognise]
