"""Command: ``vqa-eval`` (ME-VQA answers scored as the MEGC 2025 challenge scores them)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("vqa-eval")
@click.option(
    "--truth",
    required=True,
    type=click.Path(path_type=Path),
    help="The questions and true answers, JSON lines image_id,question,answer (mepipe export --format megc-vqa).",
)
@click.option(
    "--pred", required=True, type=click.Path(path_type=Path), help="Predicted answers, JSON lines in the same fields."
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The metrics JSON file to write.")
def vqa_eval(truth: Path, pred: Path, out: Path) -> None:
    """Score ME-VQA answers: UF1 and UAR of the coarse and fine classes, BLEU-4 and ROUGE-L
    of the analysis answers, matched by (image_id, question).

    Nothing is written if any row of either file is bad.
    """
    from mepipe.spot.evaluate import write_metrics
    from mepipe.vqa.score import score_vqa

    record = score_vqa(truth, pred)
    write_metrics(record, out)
    for kind in ("coarse", "fine"):
        m = record[kind]
        click.echo(f"{kind:6} n {m['n']:5d}  uf1 {m['uf1']:.4f}  uar {m['uar']:.4f}  ({len(m['classes'])} classes)")
    if record["bleu"] is None:
        click.echo("analysis: no free-text question in the truth; bleu and rouge_l not scored")
    else:
        click.echo(f"analysis n {record['analysis']:5d}  bleu {record['bleu']:.4f}  rouge_l {record['rouge_l']:.4f}")
    click.echo(
        f"{record['questions']} questions, {record['unanswered']} unanswered (scored wrong), "
        f"{record['unmatched']} predictions asked of no truth; metrics in {out}"
    )


COMMANDS = [vqa_eval]
