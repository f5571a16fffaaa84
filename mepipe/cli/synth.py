"""Command: ``synth`` (a synthetic dataset in a release's exact layout)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from mepipe.release.registry import recipe_names
from mepipe.synth import synthesize

from .options import quiet_option


@click.command()
@click.option("--dataset", required=True, type=click.Choice(recipe_names()), help="Dataset recipe.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="New or empty release folder.")
@click.option("--subjects", type=int, default=3, show_default=True, help="Subjects made up.")
@click.option("--clips-per-subject", type=int, default=4, show_default=True, help="Clips per subject.")
@click.option(
    "--like-sheet",
    type=click.Path(path_type=Path),
    help="Reproduce every row of this real annotation sheet instead (full-size benchmark data).",
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
    out: Path,
    subjects: int,
    clips_per_subject: int,
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
    """
    start = time.perf_counter()
    report = synthesize(
        dataset,
        out,
        subjects=subjects,
        clips_per_subject=clips_per_subject,
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
