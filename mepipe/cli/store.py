"""Commands that look at a store of either kind: inspect, preview, report, verify, splits.

Each asks the store's kind first (:func:`mepipe.store.kinds.store_kind`), so a clip store
and a spotting store get the same one-line messages.
"""

from __future__ import annotations

from pathlib import Path

import click

from mepipe.errors import MepipeError

from .options import class_sets_help, quiet_option


def unscorable(store: str, classes: str | None = None) -> str:
    """Why the samples of ``store`` under ``classes`` cannot score a classifier, in one
    line (:func:`mepipe.release.labels.label_problem`); ``""`` when they can."""
    from mepipe.dataset.select import select_samples
    from mepipe.release.labels import label_problem
    from mepipe.store import open_store

    selection = select_samples(open_store(store), classes, ok_only=False)
    return label_problem(list(selection.labels), selection.classes)


def warn_unscorable(store: str, classes: str | None = None) -> None:
    """A ``mepipe: warning:`` line on stderr when :func:`unscorable` finds a problem; the
    command goes on."""
    problem = unscorable(store, classes)
    if problem:
        click.echo(f"mepipe: warning: {store}: {problem}; mepipe train refuses it", err=True)


@click.command()
@click.argument("store")
@quiet_option
def inspect(store: str, quiet: bool) -> None:
    """Counts per status, class and subject, and the build's provenance.

    Also the build's configuration, the arrays held with their dtypes and shapes, and the
    faces by detection step.
    """
    from mepipe.store.kinds import store_kind

    if store_kind(store) == "spotting":
        from mepipe.report.summary import describe_spotting
        from mepipe.store.spotting import open_spotting_store

        click.echo(describe_spotting(open_spotting_store(store)))
        return
    from mepipe.report.summary import describe
    from mepipe.store import open_store

    click.echo(describe(open_store(store)))


@click.command()
@click.argument("store")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder for the PNGs.")
@click.option("--per-class", type=click.IntRange(min=1), default=8, show_default=True, help="Samples shown per class.")
@quiet_option
def preview(store: str, out: Path, per_class: int, quiet: bool) -> None:
    """PNG contact sheets of onset, apex, TRDI and MIDI, one per class.

    Each row is one ok sample: its aligned onset and apex frames, its TRDI and its MIDI.
    Of a spotting store: one PNG per video, its motion curve with the intervals and the
    region images at their apexes.
    """
    from mepipe.store.kinds import store_kind

    if store_kind(store) == "spotting":
        from mepipe.report.spotting import write_spotting_previews

        paths = write_spotting_previews(store, out)
        what = "videos"
    else:
        from mepipe.report.preview import write_previews
        from mepipe.store import open_store

        paths = write_previews(open_store(store), out, per_class=per_class)
        what = "samples"
    if not paths:
        raise MepipeError(f"{store}: no ok {what} to preview")
    for path in paths:
        click.echo(str(path))


@click.command()
@click.argument("store")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder for index.html and its thumbnails.")
@click.option("--workers", type=click.IntRange(min=1), help="Threads [default: one per core, at most 8].")
@quiet_option
def report(store: str, out: Path, workers: int | None, quiet: bool) -> None:
    """An HTML page of every sample: thumbnails, status, quality flags.

    Also each sample's repairs and errors; of a spotting store, every video's motion curve
    with its intervals and apex regions. Prints the page's path.
    """
    from mepipe.store.kinds import store_kind

    if store_kind(store) == "spotting":
        from mepipe.report.spotting import write_spotting_report

        click.echo(str(write_spotting_report(store, out)))
        return
    from mepipe.report.page import write_report

    warn_unscorable(store)
    click.echo(str(write_report(store, out, workers=workers, progress=not quiet)))


@click.command()
@click.argument("store")
@quiet_option
def verify(store: str, quiet: bool) -> int:
    """Re-read what a store holds against its checksums (exit 1 on damage).

    A clip store: every ok sample. A spotting store: every finished block of every video
    (damaged blocks are marked for rebuilding). Either way, what an interrupted build left
    unfinished is counted; rerunning the build finishes it.
    """
    from mepipe.store.verify import verify_store

    report = verify_store(store, progress=not quiet)
    for index, name, reason in report.damaged:
        where = f"(#{index})" if report.unit == "sample" else f"block {index}"
        click.echo(f"damaged  {name} {where}: {reason}")
    click.echo(report.format())
    return 0 if report.ok else 1


#: shared with ``mepipe train``
protocol_option = click.option(
    "--protocol",
    type=click.Choice(("loso", "lodo")),
    default="loso",
    show_default=True,
    help="loso: one fold per subject; lodo: one fold per member dataset (composite stores).",
)


@click.command()
@click.argument("store")
@protocol_option
@click.option("--classes", default=None, help=f"{class_sets_help()} [default: the store's own].")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="CSV file to write.")
@quiet_option
def splits(store: str, protocol: str, classes: str | None, out: Path, quiet: bool) -> None:
    """Write the folds mepipe train runs as a CSV manifest.

    Columns sample_id, fold, held_out, split (train or test), one row per fold and
    sample, for other trainers to use; of a spotting store, one row per fold and video
    (leave one subject out).
    """
    from mepipe.dataset import split_manifest

    rows = split_manifest(store, protocol, classes, out=out)
    folds = len({row["fold"] for row in rows})
    click.echo(f"wrote {out}: {folds} {protocol} folds, {len(rows)} rows")


COMMANDS = [inspect, preview, report, verify, splits]
