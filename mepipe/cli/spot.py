"""Commands for spotting in long videos: ``spot-eval`` (score predicted intervals)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("spot-eval")
@click.option(
    "--truth",
    required=True,
    type=click.Path(path_type=Path),
    help="Annotated intervals: a CSV video,type,onset,offset[,dataset] or a spotting store.",
)
@click.option(
    "--pred",
    required=True,
    type=click.Path(path_type=Path),
    help="Predicted intervals: a CSV video,type,onset,offset (type micro or macro).",
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The metrics JSON file to write.")
def spot_eval(truth: Path, pred: Path, out: Path) -> None:
    """Score spotted intervals by the MEGC rule: frames inclusive, IoU >= 0.5, one-to-one
    maximum matching per video and type, false positives counted in every video.

    Writes micro, macro and overall (pooled) counts, precision, recall and F1, and one
    block per dataset when the truth spans several. Nothing is written if any row is bad.
    """
    from mepipe.spot.evaluate import score, write_metrics

    record = score(truth, pred)
    write_metrics(record, out)
    click.echo(f"{'':8} {'tp':>6} {'fp':>7} {'fn':>6} {'precision':>9} {'recall':>7} {'f1':>7}")
    for kind in ("micro", "macro", "overall"):
        m = record[kind]
        click.echo(
            f"{kind:8} {m['tp']:6d} {m['fp']:7d} {m['fn']:6d} {m['precision']:9.4f} {m['recall']:7.4f} {m['f1']:7.4f}"
        )
    click.echo(f"{record['videos']} videos; metrics in {out}")


COMMANDS = [spot_eval]
