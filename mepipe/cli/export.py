"""Command: ``export`` (a store as PNG folders or npz archives for other code)."""

from __future__ import annotations

from pathlib import Path

import click

from mepipe.dataset.export import FORMATS
from mepipe.dataset.ststnet import FRAMINGS

from .options import class_sets_help, quiet_option
from .store import warn_unscorable

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
    type=click.Choice(FORMATS),
    default="png",
    show_default=True,
    help="png: <array>/<label>/<subject>_<clip>.png (ImageFolder); npz: one archive per array; "
    "ststnet: 28x28 u,v,strain PNGs as STSTNet, HTNet and CausalNet read them.",
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
    OUT/left_out.csv.
    """
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


COMMANDS = [export]
