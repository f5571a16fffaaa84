"""Commands for spotting in long videos: ``spot-eval`` (score predicted intervals)."""

from __future__ import annotations

from pathlib import Path

import click

from mepipe.errors import UsageError


@click.command("spot-eval")
@click.option(
    "--truth",
    required=True,
    type=click.Path(path_type=Path),
    help="Annotated intervals: a CSV video,type,onset,offset[,dataset,emotion] or a spotting store.",
)
@click.option(
    "--pred",
    required=True,
    type=click.Path(path_type=Path),
    help="Predicted intervals: a CSV video,type,onset,offset[,emotion] (type micro or macro).",
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The metrics JSON file to write.")
@click.option(
    "--strs",
    "with_strs",
    is_flag=True,
    help="Also score spot-then-recognise (MEGC 2025): the predictions' emotion column is the recognised "
    "class, the truth's one of negative, positive, surprise.",
)
def spot_eval(truth: Path, pred: Path, out: Path, with_strs: bool) -> None:
    """Score spotted intervals by the MEGC rule: frames inclusive, IoU >= 0.5, one-to-one
    maximum matching per video and type, false positives counted in every video.

    Writes micro, macro and overall (pooled) counts, precision, recall and F1, and one
    block per dataset when the truth spans several. Nothing is written if any row is bad.
    """
    from mepipe.spot.evaluate import evaluate, metrics, read_spans, truth_intervals, write_metrics
    from mepipe.spot.strs import strs

    intervals = truth_intervals(truth)
    predictions = read_spans(pred)
    if with_strs and not any(p.emotion for p in predictions):
        raise UsageError(f"{pred}: --strs needs the recognised class in an emotion column; none has one")
    evaluation = evaluate(intervals, predictions, str(pred))
    record = metrics(evaluation, truth=str(truth), pred=str(pred))
    if with_strs:
        record["strs"] = strs(evaluation).as_dict()
    write_metrics(record, out)
    click.echo(f"{'':8} {'tp':>6} {'fp':>7} {'fn':>6} {'precision':>9} {'recall':>7} {'f1':>7}")
    for kind in ("micro", "macro", "overall"):
        m = record[kind]
        click.echo(
            f"{kind:8} {m['tp']:6d} {m['fp']:7d} {m['fn']:6d} {m['precision']:9.4f} {m['recall']:7.4f} {m['f1']:7.4f}"
        )
    if with_strs:
        s = record["strs"]
        click.echo(
            f"STRS {s['strs']:.4f} = spotting F1 {s['spotting_f1']:.4f} x recognition F1 {s['recognition_f1']:.4f} "
            f"({s['correct']} of {s['recognised']} matched micro-expressions recognised)"
        )
    click.echo(f"{record['videos']} videos; metrics in {out}")


COMMANDS = [spot_eval]
