"""Command: ``synth`` (a synthetic dataset in a release's exact layout)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from mepipe.errors import UsageError
from mepipe.release.longvideo import LongVideoRecipe
from mepipe.release.registry import get_recipe, recipe_names, recipe_task
from mepipe.synth import synthesize
from mepipe.synth.longvideo import FRAMES, VIDEOS, synthesize_long

from .options import quiet_option


@click.command()
@click.option("--dataset", required=True, type=click.Choice(recipe_names()), help="Dataset recipe.")
@click.option("--out", type=click.Path(path_type=Path), help="New or empty release folder [default: data/<dataset>].")
@click.option("--subjects", type=int, default=3, show_default=True, help="Subjects made up.")
@click.option("--clips-per-subject", type=int, help="Clips per subject (clip datasets)  [default: 4]")
@click.option(
    "--videos", type=int, help=f"Videos per subject (long-video datasets)  [default: {VIDEOS}; with --like-sheet all]"
)
@click.option("--frames", type=int, help=f"Frames per video (long-video datasets)  [default: {FRAMES}]")
@click.option(
    "--like-sheet",
    type=click.Path(path_type=Path),
    help="Reproduce every row of this real annotation sheet instead (full-size benchmark data); "
    "for long videos, the first --subjects subjects' videos at their full lengths.",
)
@click.option(
    "--scale", type=float, default=1.0, show_default=True, help="Frame size relative to the release's resolution."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same bytes.")
@click.option("--classes", help="Class set the clips' emotions cycle over [default: the dataset's first, 5 or 6].")
@click.option("--workers", type=int, help="Rendering threads [default: one per core].")
@quiet_option
def synth(
    dataset: str,
    out: Path | None,
    subjects: int,
    clips_per_subject: int | None,
    videos: int | None,
    frames: int | None,
    like_sheet: Path | None,
    scale: float,
    seed: int,
    classes: str | None,
    workers: int | None,
    quiet: bool,
) -> None:
    """Write a synthetic DATASET release under OUT.

    Frames, folders and sheet in the real release's layout. Faces come from one public-domain portrait, varied per subject; each clip holds a
    small emotion-specific deformation rising from onset to apex and fading to offset.
    A long-video dataset (casme_sq, samm_lv, casme3_lv) gets videos of a neutral face
    with micro- and macro-expressions at its sheet's intervals, blinks, drift and jerks.
    """
    start = time.perf_counter()
    out = out or Path("data") / dataset
    if recipe_task(dataset) == "spotting":
        if clips_per_subject is not None or classes is not None:
            raise UsageError(f"--clips-per-subject and --classes apply to clip datasets; {dataset} holds long videos")
        # mypy's type-abstract: the registry checks isinstance against the (abstract) base
        recipe = get_recipe(dataset, LongVideoRecipe)  # type: ignore[type-abstract]
        long = synthesize_long(
            recipe,
            out,
            subjects=subjects,
            scale=scale,
            seed=seed,
            videos=videos,
            frames=frames or FRAMES,
            like_sheet=like_sheet,
            workers=workers,
            progress=not quiet,
        )
        broken = sum(1 for i in long.intervals if i.error)
        click.echo(
            f"{len(long.plans)} videos, {len(long.intervals)} intervals ({broken} not placed: sheet errors), "
            f"{long.frames} frames in {time.perf_counter() - start:.1f} s; sheet {long.sheet}"
        )
        return
    if videos is not None or frames is not None:
        raise UsageError(f"--videos and --frames apply to long-video datasets; {dataset} holds clips")
    report = synthesize(
        dataset,
        out,
        subjects=subjects,
        clips_per_subject=4 if clips_per_subject is None else clips_per_subject,
        like_sheet=like_sheet,
        scale=scale,
        seed=seed,
        classes=classes,
        workers=workers,
        progress=not quiet,
    )
    broken = sum(1 for s in report.samples if s.error)
    click.echo(
        f"{len(report.samples)} samples ({broken} without frames: sheet errors), {report.frames} frames "
        f"in {time.perf_counter() - start:.1f} s; sheet {report.sheet}"
    )


COMMANDS = [synth]
