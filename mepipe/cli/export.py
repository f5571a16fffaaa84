"""Command: ``export`` (a store as PNG folders or npz archives for other code)."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from mepipe.dataset.export import FORMATS
from mepipe.dataset.ststnet import FRAMINGS
from mepipe.errors import UsageError

from .options import class_sets_help, quiet_option
from .store import warn_unscorable

#: the ME-VQA format, written by mepipe.vqa rather than mepipe.dataset.export
VQA_FORMAT = "megc-vqa"
#: left-out samples named on stderr; the rest are in left_out.csv
MAX_LISTED = 20


@click.command()
@click.argument("store")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="New or empty folder (or an earlier export, replaced).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice((*FORMATS, VQA_FORMAT)),
    default="png",
    show_default=True,
    help="png: <array>/<label>/<subject>_<clip>.png (ImageFolder); npz: one archive per array; "
    "ststnet: 28x28 u,v,strain PNGs as STSTNet, HTNet and CausalNet read them; megc-vqa: the MEGC 2025 "
    "ME-VQA question-answer records (megc-vqa.jsonl) with each clip's frames and flow.",
)
@click.option(
    "--arrays",
    default=None,
    help="Comma-separated arrays [default: trdi,midi for png, every array for npz; ststnet: the flow].",
)
@click.option("--classes", default=None, help=f"{class_sets_help()} [default: the store's own].")
@click.option(
    "--framing",
    type=click.Choice(FRAMINGS),
    default=FRAMINGS[0],
    show_default=True,
    help="ststnet: published cuts the face from the stored maps as the published files frame it "
    "(eyes 0.52 of the side apart); store keeps the store's own window.",
)
@quiet_option
def export(store: str, out: Path, fmt: str, arrays: str | None, classes: str | None, framing: str, quiet: bool) -> None:
    """Write the ok samples of STORE as files most MER code reads.

    PNG folders, npz archives or STSTNet's flow images, plus samples.csv. Failed and pending samples are left out, named on stderr and listed in
    OUT/left_out.csv. A spotting store: OUT/intervals.csv and one OUT/<video>.npz of each
    built video's per-frame arrays.
    """
    from mepipe.store.kinds import store_kind

    if store_kind(store) == "spotting":
        _export_spotting(store, out, fmt, quiet)
        return
    if fmt == VQA_FORMAT:
        _export_vqa(store, out, quiet)
        return
    from mepipe.dataset.export import export as run_export

    chosen = None if arrays is None else [a.strip() for a in arrays.split(",") if a.strip()]
    summary = run_export(store, out, fmt, chosen, classes, progress=not quiet, framing=framing)
    warn_unscorable(store, classes)
    for sample_id, status, error in summary.left_out[:MAX_LISTED]:
        click.echo(f"mepipe: left out {sample_id} ({status}){': ' + error if error else ''}", err=True)
    if len(summary.left_out) > MAX_LISTED:
        click.echo(f"mepipe: ... and {len(summary.left_out) - MAX_LISTED} more", err=True)
    click.echo(
        f"exported {summary.exported} samples ({', '.join(summary.arrays)}) as {fmt} to {out}; "
        f"{len(summary.left_out)} left out (left_out.csv); table in samples.csv"
    )


def _export_spotting(store: str, out: Path, fmt: str, quiet: bool) -> None:
    from mepipe.dataset.spotting_export import export_spotting

    context = click.get_current_context()
    given = [
        p
        for p in ("fmt", "arrays", "classes", "framing")
        if context.get_parameter_source(p) == ParameterSource.COMMANDLINE
    ]
    if [p for p in given if p != "fmt"]:
        raise UsageError(f"{store} is a spotting store: --arrays, --classes and --framing apply to clip stores")
    summary = export_spotting(store, out, fmt if "fmt" in given else "npz", progress=not quiet)
    for name, status, error in summary.left_out[:MAX_LISTED]:
        click.echo(f"mepipe: left out {name} ({status}){': ' + error if error else ''}", err=True)
    click.echo(
        f"exported {summary.exported} videos as npz to {out}; {len(summary.left_out)} left out (left_out.csv); "
        "intervals in intervals.csv"
    )


def _export_vqa(store: str, out: Path, quiet: bool) -> None:
    """``--format megc-vqa``: the records, then one line per kind of thing counted."""
    from mepipe.vqa.records import VQA_FILE, export_vqa

    summary = export_vqa(store, out, progress=not quiet)
    for why, count in summary.unasked.items():
        click.echo(f"mepipe: not asked for {count} clips: {why}", err=True)
    if summary.missing:
        missing = ", ".join(f"{key} ({count} records)" for key, count in summary.missing.items())
        click.echo(f"mepipe: {store} holds no array for {missing}: left out of those records", err=True)
    asked = ", ".join(f"{count} {kind}" for kind, count in summary.asked.items())
    click.echo(
        f"exported {summary.samples} clips as {sum(summary.asked.values())} ME-VQA records ({asked}) to "
        f"{out / VQA_FILE}; {summary.left_out} samples left out (not ok or no emotion)"
    )


COMMANDS = [export]
