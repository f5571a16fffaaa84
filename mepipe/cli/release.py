"""Commands that look at a release: ``samples`` (list the sheet) and ``check`` (validate on disk)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click

from mepipe.release.check import check_release, format_report, release_samples, sample_errors
from mepipe.release.recipe import Sample
from mepipe.release.registry import get_recipe, recipe_names

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


def _csv(records: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SAMPLE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue().rstrip("\n")


def _table(records: list[dict]) -> str:
    rows = [list(SAMPLE_COLUMNS)] + [[str(r[c]) for c in SAMPLE_COLUMNS] for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(SAMPLE_COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


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
    be read (as warning: lines).
    """
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
    every sample is usable (ok or repaired), 1 when any is broken.
    """
    recipe = get_recipe(dataset)
    recipe.check_classes(classes)
    report = check_release(
        recipe, release_root(dataset, root), sheet, classes, decode=not quick, progress=not quiet, frames=frames
    )
    click.echo(format_report(report, recipe))
    return 0 if report.usable else 1


COMMANDS = [samples, check]
