"""Scoring spotted intervals the way MEGC defines it (see docs/spotting.md).

The rule, with none of the shortcuts public evaluation code takes:

* frames are inclusive: an interval ``onset..offset`` holds ``offset - onset + 1`` frames;
* a prediction and an interval of the same video and type *match* when
  ``IoU = |A ∩ B| / |A ∪ B| >= 0.5``, compared exactly in integers (``2·|A ∩ B| >= |A ∪ B|``);
* each interval is matched by at most one prediction and each prediction to at most one
  interval, and the matching is a maximum one (as many matched pairs as the IoU edges
  allow), found per (video, type) by augmenting paths;
* TP = matched intervals, FN = intervals - TP, FP = predictions - TP over **every** video,
  those without any interval included;
* precision, recall and F1 from the counts pooled over a dataset (never averaged over
  videos), ``overall`` from the pooled micro and macro counts; 0.0 when TP = 0.

Reading (:func:`read_spans`, :func:`truth_intervals`) validates every row and raises a
one-line :class:`~mepipe.errors.SheetError` naming the file and row; the counting
functions are pure.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import math
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mepipe.errors import MepipeError, SheetError, UsageError
from mepipe.release.longvideo import TYPES, Interval
from mepipe.release.sheet import read_text_file

#: the columns a truth or prediction CSV must have
COLUMNS = ("video", "type", "onset", "offset")
#: columns read where present: the dataset a row belongs to, and an emotion (the truth's
#: class, or a prediction's recognised class, for spot-then-recognise)
OPTIONAL_COLUMNS = ("dataset", "emotion")
#: the rule, as metrics.json records it
RULE = "MEGC: frames inclusive; IoU >= 0.5; one-to-one maximum matching per (video, type); FP over every video"


@dataclass(frozen=True)
class Truth:
    """The annotated intervals a prediction file is scored against.

    Attributes
    ----------
    spans : tuple of Interval
        The intervals.
    source : str
        Where they came from (a file or store path), for messages.
    videos : frozenset of str or None
        Every video the truth holds, those without intervals included, where the truth
        knows them (a spotting store); a prediction naming another is an error. ``None``
        for a CSV: the videos are those named in either file.
    dataset : str
        The dataset of videos the truth holds without a row naming it (a store's
        dataset); ``""`` for a CSV.
    last_frames : dict or None
        Video -> its last frame number, where the truth knows it (a spotting store: the
        last of the video's ``numbers``, plus ``step - 1`` where it keeps every
        ``step``-th frame); ``None`` for a CSV.
    """

    spans: tuple[Interval, ...]
    source: str
    videos: frozenset[str] | None = None
    dataset: str = ""
    last_frames: Mapping[str, int] | None = None


@dataclass(frozen=True)
class Counts:
    """True positives, false positives and false negatives of one pool of videos."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def metrics(self) -> dict[str, int | float]:
        """``tp``, ``fp``, ``fn``, ``precision``, ``recall`` and ``f1``; each rate 0.0 when tp = 0."""
        tp, fp, fn = self.tp, self.fp, self.fn
        if tp == 0:  # every denominator below is then positive or the rate is 0 by definition
            return {"tp": 0, "fp": fp, "fn": fn, "precision": 0.0, "recall": 0.0, "f1": 0.0}
        return {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": tp / (tp + fp),
            "recall": tp / (tp + fn),
            "f1": 2 * tp / (2 * tp + fp + fn),
        }


@dataclass(frozen=True)
class Evaluation:
    """What scoring a prediction set found.

    Attributes
    ----------
    counts : dict
        ``(dataset, type) -> Counts`` for every dataset and both types.
    matches : tuple of (Interval, Interval)
        The matched (interval, prediction) pairs.
    videos : int
        Videos scored: those of the truth and of the predictions.
    """

    counts: dict[tuple[str, str], Counts]
    matches: tuple[tuple[Interval, Interval], ...] = field(default=())
    videos: int = 0

    def total(self, type: str | None = None, dataset: str | None = None) -> Counts:
        """Counts pooled over every dataset (or one) and both types (or one)."""
        total = Counts()
        for (d, t), counts in self.counts.items():
            if (type is None or t == type) and (dataset is None or d == dataset):
                total = total + counts
        return total

    @property
    def datasets(self) -> list[str]:
        """The datasets scored, in order."""
        return sorted({d for d, _ in self.counts})


# ---------------------------------------------------------------- reading


def _frame(text: str, column: str, where: str) -> int:
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        raise SheetError(f"{where}: {column} {text!r} is not a frame number") from None
    if not math.isfinite(value) or value != int(value):
        raise SheetError(f"{where}: {column} {text!r} is not a whole frame number")
    return int(value)  # a negative one is scored as written: the field's files start some before frame 0


def _type(text: str, where: str) -> str:
    kind = text.strip().lower()
    if kind not in TYPES:
        raise SheetError(f"{where}: unknown type {text.strip()!r} (expected {' or '.join(TYPES)})")
    return kind


def read_spans(path: str | Path) -> list[Interval]:
    """Read a truth or prediction CSV with the columns ``video,type,onset,offset``.

    ``dataset`` and ``emotion`` columns are read where present; other columns are ignored.

    Parameters
    ----------
    path : str or Path
        The CSV file.

    Returns
    -------
    list of Interval
        One per row, in file order.

    Raises
    ------
    SheetError
        One line naming the file and row: a missing column, an empty video name, a frame
        that is not a whole number, an unknown type, onset after offset. A frame before
        the video's first or past its last is read as written (a negative onset included):
        the IoU rule scores it as any other.
    """
    path = Path(path)
    text = read_text_file(path, "a CSV file")
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise SheetError(f"{path}: empty file, no header row (expected {','.join(COLUMNS)})")
    names = [name.strip().lower() for name in header]
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise SheetError(
            f"{path}: no column {', '.join(missing)} (header: {','.join(header)}; expected {','.join(COLUMNS)})"
        )
    index = {name: names.index(name) for name in (*COLUMNS, *OPTIONAL_COLUMNS) if name in names}
    spans = []
    for row, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        where = f"{path}: row {row}"
        if len(cells) < len(header):
            cells = [*cells, *[""] * (len(header) - len(cells))]
        video = cells[index["video"]].strip()
        if not video:
            raise SheetError(f"{where}: no video name")
        kind = _type(cells[index["type"]], where)
        onset = _frame(cells[index["onset"]], "onset", where)
        offset = _frame(cells[index["offset"]], "offset", where)
        if onset > offset:
            raise SheetError(f"{where}: onset {onset} after offset {offset}")
        spans.append(
            Interval(
                video=video,
                type=kind,
                onset=onset,
                offset=offset,
                dataset=cells[index["dataset"]].strip() if "dataset" in index else "",
                emotion=cells[index["emotion"]].strip() if "emotion" in index else "",
                row=row,
            )
        )
    return spans


def truth_from_intervals(
    intervals: Iterable[Interval],
    videos: Iterable[str],
    source: str,
    dataset: str = "",
    last_frames: Mapping[str, int] | None = None,
) -> Truth:
    """The truth a spotting store holds: its intervals and every video, as :class:`Truth`.

    Parameters
    ----------
    intervals : iterable of Interval
        The store's intervals (:class:`mepipe.release.longvideo.Interval`).
    videos : iterable of str
        Every video the store holds, those without intervals included.
    source : str
        The store's path, for messages.
    dataset : str
        The store's dataset name.
    last_frames : dict, optional
        Video -> last frame number, for the videos the store has built.
    """
    spans = tuple(replace(i, dataset=dataset) for i in intervals)
    known = frozenset(videos)
    unheld = sorted({s.video for s in spans} - known)
    if unheld:
        raise MepipeError(f"{source}: intervals name videos the store does not hold: {', '.join(unheld[:5])}")
    return Truth(spans, source, videos=known, dataset=dataset, last_frames=last_frames)


def _store_truth(path: Path) -> Truth:
    """A spotting store's intervals table and every video it holds."""
    from mepipe.store.spotting import open_spotting_store, read_intervals, video_groups, video_names

    root = open_spotting_store(path)
    videos = video_names(root)
    last_frames = {}
    for name, group in video_groups(root):
        count = group["numbers"].shape[0]
        if count:
            last_frames[name] = int(group["numbers"][count - 1]) + int(group.attrs.get("step", 1)) - 1
    return truth_from_intervals(read_intervals(root), videos, str(path), last_frames=last_frames)


def past_last_frame(truth: Truth, preds: Iterable[Interval]) -> int:
    """How many predictions end past their video's last frame, where the truth knows it
    (:attr:`Truth.last_frames`); 0 for a CSV truth. They are scored as written."""
    last = truth.last_frames or {}
    return sum(p.video in last and p.offset > last[p.video] for p in preds)


def truth_intervals(path: str | Path) -> Truth:
    """The truth at ``path``: a CSV (:func:`read_spans`) or a spotting store (a folder).

    Parameters
    ----------
    path : str or Path
        A CSV with the columns ``video,type,onset,offset`` (``dataset``, ``emotion``
        optional) or a spotting store.

    Returns
    -------
    Truth
    """
    path = Path(path)
    if path.is_dir():
        return _store_truth(path)
    return Truth(tuple(read_spans(path)), str(path))


# ---------------------------------------------------------------- matching


def _overlap(a_onset: int, a_offset: int, b_onset: int, b_offset: int) -> tuple[int, int]:
    """Intersection and union of two inclusive frame intervals, in frames."""
    inter = max(0, min(a_offset, b_offset) - max(a_onset, b_onset) + 1)
    return inter, (a_offset - a_onset + 1) + (b_offset - b_onset + 1) - inter


def overlaps_enough(a_onset: int, a_offset: int, b_onset: int, b_offset: int) -> bool:
    """Whether two inclusive frame intervals have IoU >= 0.5 (exact, in integers)."""
    inter, union = _overlap(a_onset, a_offset, b_onset, b_offset)
    return inter > 0 and 2 * inter >= union


def _edges(truth: Sequence[tuple[int, int]], preds: Sequence[tuple[int, int]]) -> list[list[int]]:
    """For each interval, the predictions with IoU >= 0.5, best IoU first.

    Only a window of predictions is examined per interval: one of length L can reach
    IoU 0.5 only with a prediction whose onset lies in ``[onset - L, offset]`` (further
    left, the union exceeds 2L while the intersection is at most L). So a video with
    thousands of predictions costs a sort and a few binary searches, not their product.
    """
    order = sorted(range(len(preds)), key=lambda j: preds[j][0])
    onsets = [preds[j][0] for j in order]
    edges = []
    for onset, offset in truth:
        lo = bisect.bisect_left(onsets, onset - (offset - onset + 1))
        hi = bisect.bisect_right(onsets, offset)
        near = []
        for j in order[lo:hi]:
            inter, union = _overlap(onset, offset, *preds[j])
            if inter > 0 and 2 * inter >= union:
                near.append((-inter / union, j))
        edges.append([j for _, j in sorted(near)])
    return edges


def match(truth: Sequence[tuple[int, int]], preds: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """A maximum one-to-one matching of intervals to predictions with IoU >= 0.5.

    Parameters
    ----------
    truth, preds : sequence of (onset, offset)
        Inclusive frame intervals of one video and one type.

    Returns
    -------
    list of (int, int)
        ``(interval index, prediction index)`` pairs, by interval index; their number is
        the largest any one-to-one matching reaches (augmenting paths, Kuhn's algorithm:
        each interval tries its predictions best IoU first, taking one already held only
        if the holder can move to another).
    """
    edges = _edges(truth, preds)
    holder: dict[int, int] = {}  # prediction -> interval
    for start in range(len(truth)):
        if not edges[start]:
            continue
        # depth-first search for an augmenting path, kept on an explicit stack so a video
        # with many intervals cannot reach Python's recursion limit
        seen: set[int] = set()
        stack = [(start, iter(edges[start]))]
        path: list[tuple[int, int]] = []  # (interval, prediction) tried along the path
        while stack:
            interval, options = stack[-1]
            for pred in options:
                if pred in seen:
                    continue
                seen.add(pred)
                path.append((interval, pred))
                if pred not in holder:
                    for i, p in path:  # flip the path: every interval takes its tried prediction
                        holder[p] = i
                    stack = []
                    break
                stack.append((holder[pred], iter(edges[holder[pred]])))
                break
            else:
                stack.pop()
                if path:
                    path.pop()
    return sorted((i, p) for p, i in holder.items())


# ---------------------------------------------------------------- counting


def _pred_dataset(pred: Interval, truth: Truth, video_datasets: Mapping[str, set[str]], pred_source: str) -> str:
    """The dataset a prediction is counted in: its video's in the truth, else its own
    column, else the truth's only dataset."""
    where = f"{pred_source}: row {pred.row}"
    if truth.videos is not None and pred.video not in truth.videos:
        raise MepipeError(f"{where}: video {pred.video!r} is not in the store {truth.source}")
    known = video_datasets.get(pred.video, set())
    if pred.dataset and known and pred.dataset not in known:
        raise MepipeError(
            f"{where}: video {pred.video!r} is in {', '.join(sorted(known))} in {truth.source}, not {pred.dataset!r}"
        )
    if pred.dataset:
        return pred.dataset
    if len(known) == 1:
        return next(iter(known))
    every = {d for names in video_datasets.values() for d in names} or {truth.dataset}
    if not known and len(every) == 1:
        return next(iter(every))
    raise MepipeError(
        f"{where}: video {pred.video!r} "
        + (f"is in several datasets ({', '.join(sorted(known))})" if known else "has no interval")
        + f" in {truth.source}, which spans several datasets: give the predictions a dataset column"
    )


def evaluate(truth: Truth, preds: Sequence[Interval], pred_source: str = "predictions") -> Evaluation:
    """Score predictions against the truth by the MEGC rule (module docstring).

    Parameters
    ----------
    truth : Truth
        The annotated intervals (:func:`truth_intervals`).
    preds : sequence of Interval
        The predictions (:func:`read_spans`).
    pred_source : str
        The predictions' file, for messages.

    Returns
    -------
    Evaluation
        Counts per (dataset, type), the matched pairs, the number of videos.

    Raises
    ------
    MepipeError
        A prediction naming a video a store truth does not hold, or one whose dataset
        cannot be told (the truth spans several datasets and neither it nor the
        prediction names the video's).
    """
    video_datasets: dict[str, set[str]] = defaultdict(set)
    for span in truth.spans:
        video_datasets[span.video].add(span.dataset or truth.dataset)
    groups: dict[tuple[str, str, str], tuple[list[Interval], list[Interval]]] = defaultdict(lambda: ([], []))
    for span in truth.spans:
        groups[(span.dataset or truth.dataset, span.video, span.type)][0].append(span)
    for pred in preds:
        dataset = _pred_dataset(pred, truth, video_datasets, pred_source)
        groups[(dataset, pred.video, pred.type)][1].append(pred)

    counts: dict[tuple[str, str], Counts] = {}
    datasets = {dataset for dataset, _, _ in groups} or {truth.dataset}
    for dataset in datasets:
        for kind in TYPES:
            counts[(dataset, kind)] = Counts()
    matches = []
    for (dataset, _video, kind), (intervals, predicted) in sorted(groups.items()):
        pairs = match([(s.onset, s.offset) for s in intervals], [(s.onset, s.offset) for s in predicted])
        matches += [(intervals[i], predicted[j]) for i, j in pairs]
        tp = len(pairs)
        counts[(dataset, kind)] += Counts(tp, len(predicted) - tp, len(intervals) - tp)
    videos = {(d, v) for d, v, _ in groups} | {(truth.dataset, v) for v in truth.videos or ()}
    return Evaluation(counts, tuple(matches), len(videos))


def _block(evaluation: Evaluation, dataset: str | None = None) -> dict[str, dict[str, int | float]]:
    micro = evaluation.total("micro", dataset)
    macro = evaluation.total("macro", dataset)
    return {"micro": micro.metrics(), "macro": macro.metrics(), "overall": (micro + macro).metrics()}


def metrics(evaluation: Evaluation, **about: Any) -> dict[str, Any]:
    """The metrics.json record of an evaluation.

    ``micro``, ``macro`` and ``overall`` (their pooled counts) at the top level, each with
    ``tp``, ``fp``, ``fn``, ``precision``, ``recall``, ``f1``; a ``datasets`` block of the
    same form per dataset when there are several; ``rule`` and ``videos``, and whatever
    ``about`` adds (the input paths, say).
    """
    record: dict[str, Any] = {"rule": RULE, **about, "videos": evaluation.videos, **_block(evaluation)}
    if len(evaluation.datasets) > 1:
        record["datasets"] = {dataset: _block(evaluation, dataset) for dataset in evaluation.datasets}
    return record


def _write_whole(text: str, out: str | Path, what: str) -> Path:
    """Write ``text`` to ``out`` whole or not at all (a scratch file renamed)."""
    out = Path(out)
    if out.is_dir():
        raise UsageError(f"{out}: a folder; --out names the {what} file to write")
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = out.with_name(f".{out.name}.partial")
    scratch.write_text(text, encoding="utf-8")
    os.replace(scratch, out)
    return out


def write_metrics(record: Mapping[str, Any], out: str | Path) -> Path:
    """Write ``record`` as JSON to ``out``, whole or not at all."""
    return _write_whole(json.dumps(record, indent=2) + "\n", out, "metrics")


def write_spans(spans: Iterable[Interval], out: str | Path) -> Path:
    """Write intervals as the CSV :func:`read_spans` reads (``video,type,onset,offset``, and
    ``dataset`` and ``emotion`` where any span has one), whole or not at all."""
    spans = list(spans)
    columns = [*COLUMNS, *(c for c in OPTIONAL_COLUMNS if any(getattr(s, c) for s in spans))]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([getattr(s, c) for c in columns] for s in spans)
    return _write_whole(buffer.getvalue(), out, "predictions")
