"""Commands that look at a release: ``samples`` (list the sheet) and ``check`` (validate on disk)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click

from mepipe.errors import UsageError
from mepipe.release.check import check_release, format_report, release_samples, sample_errors
from mepipe.release.longcheck import (
    INTERVAL_COLUMNS,
    check_long_release,
    format_long_report,
    interval_errors,
    interval_record,
    release_intervals,
)
from mepipe.release.longvideo import LongVideoRecipe
from mepipe.release.recipe import Sample
from mepipe.release.registry import get_recipe, recipe_names, recipe_task

from .options import class_sets_help, quiet_option, release_root, root_option

#: the columns of ``mepipe samples --format csv``, in order
SAMPLE_COLUMNS = (
    "sample_id",
    "subject",
    "clip",
    "onset",
    "apex",
    "offset",
    "emotion",
    "label",
    "repair",
    "action_units",
    "au",
    "objective_class",
)

_dataset = click.option("--dataset", required=True, type=click.Choice(recipe_names()), help="Dataset recipe.")
_classes = click.option(
    "--classes",
    default="raw",
    show_default=True,
    help=f"{class_sets_help()}.",
)
#: shared with ``mepipe build``
objective_sheet_option = click.option(
    "--objective-sheet",
    type=click.Path(path_type=Path),
    help="CASME-II's objective-class sheet [default: the CASME2-ObjectiveClasses sheet beside the coding sheet].",
)


def _record(sample: Sample) -> dict:
    record = {column: getattr(sample, column) for column in SAMPLE_COLUMNS}
    record["apex"] = "" if sample.apex is None else sample.apex
    return record


def _csv(records: list[dict], columns: tuple[str, ...] = SAMPLE_COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue().rstrip("\n")


def _table(records: list[dict], columns: tuple[str, ...] = SAMPLE_COLUMNS) -> str:
    rows = [list(columns)] + [[str(r[c]) for c in columns] for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def _long_videos(dataset: str, **clip_options: bool) -> LongVideoRecipe | None:
    """The recipe of a long-video (spotting) dataset, else None; a clip-only option given
    for one is a one-line refusal."""
    if recipe_task(dataset) != "spotting":
        return None
    given = [name for name, was_given in clip_options.items() if was_given]
    if given:
        options = " and ".join(f"--{name.replace('_', '-')}" for name in given)
        raise UsageError(
            f"{options} appl{'y' if len(given) > 1 else 'ies'} to clip datasets; {dataset} holds long videos"
        )
    return get_recipe(dataset, LongVideoRecipe)  # type: ignore[type-abstract]


def _given(name: str) -> bool:
    """Whether the current command's option ``name`` was given (not its default)."""
    source = click.get_current_context().get_parameter_source(name)
    return source not in (None, click.core.ParameterSource.DEFAULT)


@click.command()
@_dataset
@root_option
@click.option(
    "--sheet", type=click.Path(path_type=Path), help="Annotation sheet (.xlsx or .csv export); alone, without --root."
)
@_classes
@objective_sheet_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
def samples(
    dataset: str, root: Path | None, sheet: Path | None, classes: str, objective_sheet: Path | None, fmt: str
) -> None:
    """List the samples of a dataset's annotation sheet.

    With their labels, repairs and action units. Rows that cannot be used are still
    listed; their errors go to stderr, one per line, and so do AU strings that could not
    be read or code no AU for certain, such as '?' or 'L12 or L14' (as warning:
    lines: their au is left blank). A long-video dataset lists its intervals (video, type,
    onset, apex, offset, AUs, emotion, sheet row, repairs, error).
    """
    long_videos = _long_videos(dataset, classes=_given("classes"), objective_sheet=objective_sheet is not None)
    if long_videos is not None:
        intervals = release_intervals(long_videos, release_root(dataset, root) if sheet is None else root, sheet)
        rows = [interval_record(i) for i in intervals]
        text = {"json": json.dumps(rows, indent=1), "csv": _csv(rows, INTERVAL_COLUMNS)}
        click.echo(text.get(fmt) or _table(rows, INTERVAL_COLUMNS))
        for line in interval_errors(intervals):
            click.echo(f"mepipe: {line}", err=True)
        return
    recipe = get_recipe(dataset)
    recipe.check_classes(classes)
    if sheet is None:
        root = release_root(dataset, root)
    found = release_samples(recipe, root, sheet, classes, objective_sheet)
    records = [_record(s) for s in found]
    if fmt == "json":
        click.echo(json.dumps(records, indent=1))
    else:
        click.echo(_csv(records) if fmt == "csv" else _table(records))
    for line in sample_errors(found):
        click.echo(f"mepipe: {line}", err=True)


@click.command()
@_dataset
@root_option
@click.option("--sheet", type=click.Path(path_type=Path), help="Annotation sheet, if not the release's own.")
@click.option(
    "--frames",
    type=click.Path(path_type=Path),
    help="Folder holding the <subject>/<clip> folders [default: found under --root].",
)
@_classes
@click.option("--quick", is_flag=True, help="Only check that the frame files exist; do not decode them.")
@quiet_option
def check(
    dataset: str, root: Path | None, sheet: Path | None, frames: Path | None, classes: str, quick: bool, quiet: bool
) -> int:
    """Validate a release on disk against its sheet.

    Prints the frames folder it used and each sample's problems. Exit status 0 when
    every sample is usable (ok or repaired), 1 when any is broken. A long-video dataset
    is checked video by video (frames found, missing, their first and last decoded unless
    --quick), then interval by interval against the videos' ends.
    """
    long_videos = _long_videos(dataset, classes=_given("classes"))
    if long_videos is not None:
        found = check_long_release(
            long_videos, release_root(dataset, root), sheet, decode=not quick, progress=not quiet, frames=frames
        )
        click.echo(format_long_report(found, long_videos))
        return 0 if found.usable else 1
    recipe = get_recipe(dataset)
    recipe.check_classes(classes)
    report = check_release(
        recipe, release_root(dataset, root), sheet, classes, decode=not quick, progress=not quiet, frames=frames
    )
    click.echo(format_report(report, recipe))
    return 0 if report.usable else 1


COMMANDS = [samples, check]
