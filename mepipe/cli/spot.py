"""Commands for spotting in long videos: ``spot`` (the baseline or a learned spotter on a
spotting store) and ``spot-eval`` (score predicted intervals)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mepipe.errors import UsageError
from mepipe.release.classmap import CLASS_SETS
from mepipe.spot.registry import DEFAULT_SPOTTER

from .options import ListingOption, quiet_option, registered_spotters


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
    "class, scored against the truth's emotion on the matched intervals.",
)
@click.option(
    "--classes",
    type=click.Choice(("own", *CLASS_SETS)),
    default="own",
    show_default=True,
    help="--strs: own: the truth's emotions as written; megc2019: negative/positive/surprise mapped as "
    "MEGC 2019 maps each dataset; megc: the four MEGC coarse classes (negative/positive/surprise/others).",
)
@click.option(
    "--dataset",
    default="",
    help="--strs with megc2019/megc: the dataset (recipe name) of rows without a dataset column "
    "[default: a word is mapped where every dataset maps it alike].",
)
def spot_eval(truth: Path, pred: Path, out: Path, with_strs: bool, classes: str, dataset: str) -> None:
    """Score spotted intervals by the MEGC rule: frames inclusive, IoU >= 0.5, one-to-one
    maximum matching per video and type, false positives counted in every video.

    Writes micro, macro and overall (pooled) counts, precision, recall and F1, and one
    block per dataset when the truth spans several. Nothing is written if any row is bad.
    Predictions starting before frame 0, or ending past their video's last frame (a
    spotting store truth knows it), are scored as written and counted on stderr; so is a
    predictions file with a header only (every interval a miss).
    """
    from mepipe.release.classmap import dataset_name
    from mepipe.spot.evaluate import evaluate, metrics, past_last_frame, read_spans, truth_intervals, write_metrics
    from mepipe.spot.strs import strs

    if dataset:
        dataset_name(dataset)  # an unknown name refused before any work
    intervals = truth_intervals(truth)
    predictions = read_spans(pred)
    if with_strs and not any(p.emotion for p in predictions):
        raise UsageError(f"{pred}: --strs needs the recognised class in an emotion column; none has one")
    if not predictions:
        click.echo(f"mepipe: {pred}: no predicted rows (a header only); every interval scored as a miss", err=True)
    early = sum(p.onset < 0 for p in predictions)
    if early:
        click.echo(f"mepipe: {pred}: {_rows(early, 'start')} before frame 0; scored as written", err=True)
    late = past_last_frame(intervals, predictions)
    if late:
        click.echo(
            f"mepipe: {pred}: {_rows(late, 'end')} past their video's last frame in {truth}; scored as written",
            err=True,
        )
    evaluation = evaluate(intervals, predictions, str(pred))
    ends = {} if intervals.last_frames is None else {"past_last_frame": late}
    record = metrics(evaluation, truth=str(truth), pred=str(pred), before_frame_0=early, **ends)
    score = strs(evaluation, classes=classes, dataset=dataset or intervals.dataset) if with_strs else None
    if score is not None:
        record["strs"] = score.as_dict()
    write_metrics(record, out)
    click.echo(f"{'':8} {'tp':>6} {'fp':>7} {'fn':>6} {'precision':>9} {'recall':>7} {'f1':>7}")
    for kind in ("micro", "macro", "overall"):
        m = record[kind]
        click.echo(
            f"{kind:8} {m['tp']:6d} {m['fp']:7d} {m['fn']:6d} {m['precision']:9.4f} {m['recall']:7.4f} {m['f1']:7.4f}"
        )
    if score is not None:
        click.echo(score.summary())
    click.echo(f"{record['videos']} videos; metrics in {out}")


def _rows(count: int, verb: str) -> str:
    """``1 predicted row starts``, ``8 predicted rows start``."""
    return f"{count} predicted row{'s' if count != 1 else ''} {verb}{'s' if count == 1 else ''}"


#: left-out videos named on stderr
MAX_LISTED = 20


def spotter_options(spotter: Any, given: dict[str, object], extra: tuple[str, ...]) -> dict[str, Any]:
    """The options ``spotter`` runs with: ``given`` (the shorthands given, as ``--epochs``)
    and each ``--option NAME=VALUE``, checked against those it declares."""
    for item in extra:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--option takes NAME=VALUE, not {item!r}")
        given[name.strip()] = value.strip()
    return dict(spotter.parse_options(given))


@click.command("spot")
@click.argument("store", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The predictions CSV to write.")
@click.option(
    "--spotter",
    cls=ListingOption,
    listing=registered_spotters,
    default=DEFAULT_SPOTTER,
    show_default=True,
    help="A registered spotter (mepipe.spot.registry; a package adds its own in the group mepipe.spotters).",
)
@click.option(
    "--epochs", type=click.IntRange(min=1), default=None, help="For a spotter that trains: passes over the windows."
)
@click.option("--seed", type=int, default=None, help="For a spotter that trains: initial weights and sampling.")
@click.option(
    "--option",
    "extra",
    multiple=True,
    metavar="NAME=VALUE",
    help="An option the spotter declares (repeatable); --epochs N is --option epochs=N.",
)
@quiet_option
def spot(
    store: Path, out: Path, spotter: str, epochs: int | None, seed: int | None, extra: tuple[str, ...], quiet: bool
) -> None:
    """Spot every video of a spotting STORE, leave one subject out.

    Each subject's videos are spotted by the chosen spotter without that subject's
    intervals. The baseline spots each subject's videos with settings chosen on the
    other subjects only (nested leave-one-subject-out; fixed defaults with fewer than 3
    of them). softnet trains SOFTNet per type on the other subjects' windows and spots
    the held-out subject's videos from its scores (SOFTNet's p = 0.55, nothing tuned).
    Writes video,type,onset,offset in the release's frame numbers; score it with
    mepipe spot-eval --truth STORE --pred OUT.
    """
    from mepipe.spot.registry import get_spotter

    chosen = get_spotter(spotter)
    shorthands: dict[str, object] = {
        name: value for name, value in (("epochs", epochs), ("seed", seed)) if value is not None
    }
    options = spotter_options(chosen, shorthands, extra)
    chosen.check_needs(f"mepipe spot --spotter {spotter}")
    from mepipe.spot.baseline import store_videos
    from mepipe.spot.evaluate import write_spans

    videos, left_out = store_videos(store, flow=False)
    for name, why in list(left_out.items())[:MAX_LISTED]:
        click.echo(f"mepipe: left out {name}: {why}", err=True)
    if len(left_out) > MAX_LISTED:
        click.echo(f"mepipe: ... and {len(left_out) - MAX_LISTED} more", err=True)
    if not videos:
        raise UsageError(f"{store}: no video built to spot")
    found = chosen.spot(store, progress=not quiet, **options)
    for note in found.notes:
        click.echo(f"mepipe: {note}", err=True)
    spans = found.spans
    write_spans(spans, out)
    kinds = {kind: sum(s.type == kind for s in spans) for kind in ("micro", "macro")}
    click.echo(
        f"spotted {kinds['micro']} micro and {kinds['macro']} macro intervals in {len(videos)} videos of "
        f"{found.subjects} subjects, {found.how}; {len(left_out)} left out; predictions in {out}"
    )


COMMANDS = [spot, spot_eval]
