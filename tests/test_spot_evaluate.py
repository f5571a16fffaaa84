"""The spotting evaluator: the MEGC rule counted by hand, against a brute force, on the
MEGC 2020 baseline's published figures, and its one-line errors."""

from __future__ import annotations

import itertools
import json
import math
import random
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from mepipe.cli import cli
from mepipe.errors import MepipeError, SheetError
from mepipe.release.longvideo import Interval
from mepipe.spot.evaluate import (
    Counts,
    Truth,
    evaluate,
    match,
    metrics,
    overlaps_enough,
    read_spans,
    truth_from_intervals,
    truth_intervals,
    write_spans,
)

HEADER = "video,type,onset,offset"


def _csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def score(truth: Path, pred: Path) -> dict:
    return metrics(evaluate(truth_intervals(truth), read_spans(pred), str(pred)))


def _truth(*spans: Interval) -> Truth:
    return Truth(tuple(spans), "truth.csv")


def _counts(truth: Truth, preds: list[Interval]) -> dict[str, tuple[int, int, int]]:
    record = metrics(evaluate(truth, preds))
    return {
        kind: (record[kind]["tp"], record[kind]["fp"], record[kind]["fn"]) for kind in ("micro", "macro", "overall")
    }


# ---------------------------------------------------------------- hand counts


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((10, 19), (10, 14), True),  # 5 of 10 frames: exactly 0.5, inclusive (exclusive lengths: 4/9)
        ((10, 19), (15, 24), False),  # 5 of 20
        ((10, 19), (12, 21), True),  # 8 of 12
        ((0, 9), (0, 19), True),  # 10 of 20
        ((0, 9), (0, 20), False),  # 10 of 21
        ((5, 5), (5, 5), True),  # one frame each
        ((5, 5), (5, 6), True),  # 1 of 2
        ((5, 5), (6, 6), False),  # adjacent, no common frame
        ((0, 3), (4, 7), False),
    ],
)
def test_iou_counts_frames_inclusively_and_takes_one_half(a, b, expected):
    assert overlaps_enough(*a, *b) is expected
    assert overlaps_enough(*b, *a) is expected


def test_one_prediction_finds_one_interval_only():
    # 3..12 has IoU 7/13 with 0..9 and 8/12 with 5..14: one TP, one FN (STRS-Metric: two TPs)
    truth = _truth(Interval("v", "macro", 0, 9), Interval("v", "macro", 5, 14))
    assert _counts(truth, [Interval("v", "macro", 3, 12)])["macro"] == (1, 0, 1)


def test_matching_is_maximum_not_greedy():
    # A=0..9 B=2..11; p1=1..10 fits both (9/11), p2=0..5 only A (6/10). Greedy best-IoU gives A
    # p1 and B nothing; the maximum matching is A-p2, B-p1.
    truth = [(0, 9), (2, 11)]
    preds = [(1, 10), (0, 5)]
    assert match(truth, preds) == [(0, 1), (1, 0)]
    spans = _truth(Interval("v", "micro", 0, 9), Interval("v", "micro", 2, 11))
    assert _counts(spans, [Interval("v", "micro", 1, 10), Interval("v", "micro", 0, 5)])["micro"] == (2, 0, 0)


def test_a_long_augmenting_path_is_followed():
    # interval i = 100+10i..+19 fits prediction i (IoU 14/26) and, better, i+1 (16/24); taken in
    # order, each grabs prediction i+1, and the last, which fits only its own, moves all five
    truth = [(100 + 10 * i, 119 + 10 * i) for i in range(6)]
    preds = [(94 + 10 * k, 113 + 10 * k) for k in range(6)]
    assert match(truth, preds) == [(i, i) for i in range(6)]


def test_types_and_videos_do_not_mix():
    truth = _truth(Interval("v", "micro", 0, 9), Interval("w", "macro", 100, 149))
    preds = [Interval("v", "macro", 0, 9), Interval("v", "micro", 100, 149), Interval("w", "macro", 100, 149)]
    assert _counts(truth, preds) == {"micro": (0, 1, 1), "macro": (1, 1, 0), "overall": (1, 2, 1)}


def test_predictions_in_videos_without_intervals_are_false_positives():
    truth = _truth(Interval("v", "micro", 0, 9))
    preds = [Interval("v", "micro", 0, 9), *(Interval("quiet", "micro", 10 * i, 10 * i + 9) for i in range(5))]
    counted = evaluate(truth, preds)
    assert counted.total("micro") == Counts(1, 5, 0)
    assert counted.videos == 2


def test_a_duplicate_prediction_is_a_false_positive():
    truth = _truth(Interval("v", "macro", 0, 29))
    assert _counts(truth, [Interval("v", "macro", 0, 29), Interval("v", "macro", 0, 29)])["macro"] == (1, 1, 0)


def test_no_hit_gives_zeros_never_nan(tmp_path):
    record = metrics(evaluate(_truth(Interval("v", "micro", 0, 9)), [Interval("v", "micro", 50, 59)]))
    assert record["micro"] == {"tp": 0, "fp": 1, "fn": 1, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert record["macro"] == {"tp": 0, "fp": 0, "fn": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    text = json.dumps(record, allow_nan=False)  # raises on NaN or infinity
    assert "null" not in text


def test_rates_are_the_pooled_formulas():
    assert Counts(3, 1, 2).metrics() == {"tp": 3, "fp": 1, "fn": 2, "precision": 0.75, "recall": 0.6, "f1": 6 / 9}


def test_datasets_get_their_own_blocks_and_sum_to_the_top(tmp_path):
    truth = _csv(
        tmp_path / "t.csv",
        ["a1,micro,0,9,casme2", "a1,macro,100,159,casme2", "b1,micro,0,39,samm"],
        header=HEADER + ",dataset",
    )
    # b2 has no interval: its dataset comes from the prediction's own column
    pred = _csv(
        tmp_path / "p.csv",
        ["a1,micro,0,9,", "a1,macro,0,59,", "b1,micro,0,39,", "b2,macro,0,9,samm"],
        header=HEADER + ",dataset",
    )
    record = score(truth, pred)
    assert set(record["datasets"]) == {"casme2", "samm"}
    casme2, samm = record["datasets"]["casme2"], record["datasets"]["samm"]
    assert (casme2["micro"]["tp"], casme2["macro"]["tp"], casme2["macro"]["fp"], casme2["macro"]["fn"]) == (1, 0, 1, 1)
    assert (samm["micro"]["tp"], samm["macro"]["fp"]) == (1, 1)
    for key in ("tp", "fp", "fn"):
        assert record["overall"][key] == casme2["overall"][key] + samm["overall"][key]
    assert record["videos"] == 3


def test_one_dataset_has_no_datasets_block(tmp_path):
    truth = _csv(tmp_path / "t.csv", ["a1,micro,0,9,casme2"], header=HEADER + ",dataset")
    pred = _csv(tmp_path / "p.csv", ["a1,micro,0,9", "elsewhere,micro,0,9"])
    record = score(truth, pred)
    assert "datasets" not in record
    assert (record["micro"]["tp"], record["micro"]["fp"]) == (1, 1)


def test_a_prediction_whose_dataset_cannot_be_told_is_named(tmp_path):
    truth = _csv(tmp_path / "t.csv", ["a1,micro,0,9,casme2", "b1,micro,0,9,samm"], header=HEADER + ",dataset")
    pred = _csv(tmp_path / "p.csv", ["a1,micro,0,9", "nowhere,micro,0,9"])
    with pytest.raises(MepipeError, match=r"p\.csv: row 3: video 'nowhere' has no interval .* dataset column"):
        score(truth, pred)


# ---------------------------------------------------------------- brute force


def _frames(span: tuple[int, int]) -> set[int]:
    return set(range(span[0], span[1] + 1))


def _brute_pairs(truth: list[tuple[int, int]], preds: list[tuple[int, int]]) -> int:
    """The largest one-to-one matching, by trying every assignment of intervals to
    predictions (or to none), IoU from sets of frames as exact fractions."""
    fits = [
        {
            j
            for j, p in enumerate(preds)
            if Fraction(len(_frames(t) & _frames(p)), len(_frames(t) | _frames(p))) >= Fraction(1, 2)
        }
        for t in truth
    ]
    best = 0
    for choice in itertools.product(*[[None, *sorted(f)] for f in fits]):
        taken = [c for c in choice if c is not None]
        if len(taken) == len(set(taken)):
            best = max(best, len(taken))
    return best


def _random_spans(rng: random.Random, n: int, span: int = 40) -> list[tuple[int, int]]:
    spans = []
    for _ in range(n):
        onset = rng.randrange(span)
        spans.append((onset, onset + rng.randrange(1, 12)))
    return spans


def test_matching_size_equals_brute_force_on_random_cases():
    rng = random.Random(27)
    nonzero = 0
    for _ in range(400):
        truth = _random_spans(rng, rng.randrange(0, 6))
        preds = _random_spans(rng, rng.randrange(0, 7))
        pairs = match(truth, preds)
        assert len({i for i, _ in pairs}) == len({p for _, p in pairs}) == len(pairs)
        assert all(overlaps_enough(*truth[i], *preds[p]) for i, p in pairs)
        assert len(pairs) == _brute_pairs(truth, preds), (truth, preds)
        nonzero += bool(pairs)
    assert nonzero > 100  # the cases do exercise matching


def test_counts_equal_brute_force_over_videos_and_types():
    rng = random.Random(2020)
    for _ in range(40):
        truth, preds = [], []
        for video, kind in itertools.product(("v1", "v2", "v3"), ("micro", "macro")):
            truth += [Interval(video, kind, *s) for s in _random_spans(rng, rng.randrange(0, 4))]
            preds += [Interval(video, kind, *s) for s in _random_spans(rng, rng.randrange(0, 5))]
        counted = evaluate(_truth(*truth), preds)
        for kind in ("micro", "macro"):
            tp = sum(
                _brute_pairs(
                    [(s.onset, s.offset) for s in truth if (s.video, s.type) == (video, kind)],
                    [(s.onset, s.offset) for s in preds if (s.video, s.type) == (video, kind)],
                )
                for video in ("v1", "v2", "v3")
            )
            n_truth = sum(s.type == kind for s in truth)
            n_pred = sum(s.type == kind for s in preds)
            assert counted.total(kind) == Counts(tp, n_pred - tp, n_truth - tp)


def test_thousands_of_predictions_in_one_video_are_matched():
    # one prediction per frame start, all 20 long, over 10,000 frames: only near pairs are
    # considered, so this stays quick; each interval finds an exact copy of itself
    truth = [(500 * i, 500 * i + 19) for i in range(20)]
    preds = [(f, f + 19) for f in range(10_000)]
    pairs = match(truth, preds)
    assert [preds[p] for _, p in pairs] == truth


# ---------------------------------------------------------------- published figures


def test_megc2020_baseline_counts_give_its_published_overall_f1(tmp_path):
    """CAS(ME)^2 under the MEGC 2020 baseline (He et al. 2020): 130 of 357 intervals found
    with 6,558 predictions -> overall F1 0.0376. The baseline's own matching rule differed,
    so this checks the arithmetic through the whole command, not a rerun. The split by type
    (21 of 57 micro from 5,035 predictions, 109 of 300 macro from 1,523) is solved from the
    paper's per-type F1s, 0.0082 and 0.1196, with the totals fixed."""
    found = {"micro": 21, "macro": 109}
    intervals = {"micro": 57, "macro": 300}
    predictions = {"micro": 5035, "macro": 1523}
    truth_rows, pred_rows = [], []
    for kind in ("micro", "macro"):
        length = 10 if kind == "micro" else 60
        for i in range(intervals[kind]):
            onset = 1000 * i
            truth_rows.append(f"casme2_{kind}_{i % 49},{kind},{onset},{onset + length - 1}")
            if i < found[kind]:
                pred_rows.append(f"casme2_{kind}_{i % 49},{kind},{onset},{onset + length - 1}")
        # the rest miss: in the videos with intervals, between them, and in 9 videos without any
        for i in range(predictions[kind] - found[kind]):
            video = f"casme2_{kind}_{i % 58}"
            pred_rows.append(f"{video},{kind},{1000 * (i // 58) + 400},{1000 * (i // 58) + 400 + length - 1}")
    truth = _csv(tmp_path / "truth.csv", truth_rows)
    pred = _csv(tmp_path / "pred.csv", pred_rows)
    assert len(pred_rows) == 6558 and len(truth_rows) == 357

    result = CliRunner().invoke(
        cli, ["spot-eval", "--truth", str(truth), "--pred", str(pred), "--out", str(tmp_path / "m.json")]
    )
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "m.json").read_text())
    overall = record["overall"]
    assert (overall["tp"], overall["fp"], overall["fn"]) == (130, 6558 - 130, 357 - 130)
    assert overall["f1"] == 260 / 6915
    assert round(overall["f1"], 4) == 0.0376
    assert round(record["micro"]["f1"], 4) == 0.0082
    assert round(record["macro"]["f1"], 4) == 0.1196
    assert math.isclose(overall["precision"], 130 / 6558) and math.isclose(overall["recall"], 130 / 357)
    assert "0.0376" in result.output


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("v,micro,20,10", "row 3: onset 20 after offset 10"),
        ("v,micro,ten,20", "row 3: onset 'ten' is not a frame number"),
        ("v,micro,10,20.5", "row 3: offset '20.5' is not a whole frame number"),
        ("v,micro,,20", "row 3: onset '' is not a frame number"),
        ("v,mirco,10,20", "row 3: unknown type 'mirco' (expected micro or macro)"),
        (",micro,10,20", "row 3: no video name"),
    ],
)
def test_a_bad_prediction_row_is_one_line_and_nothing_is_written(tmp_path, row, message):
    truth = _csv(tmp_path / "truth.csv", ["v,micro,10,20"])
    pred = _csv(tmp_path / "pred.csv", ["v,micro,10,20", row])
    out = tmp_path / "metrics.json"
    done = subprocess.run(
        [sys.executable, "-m", "mepipe", "spot-eval", "--truth", str(truth), "--pred", str(pred), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr == f"mepipe: error: {pred}: {message}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.csv", "truth.csv"]  # no metrics, no scratch


def test_a_bad_truth_row_names_the_truth_file(tmp_path):
    truth = _csv(tmp_path / "truth.csv", ["v,macro,10,20", "v,macro,30,25"])
    with pytest.raises(SheetError, match=rf"^{tmp_path / 'truth.csv'}: row 3: onset 30 after offset 25$"):
        read_spans(truth)


def test_a_missing_column_or_file_is_named(tmp_path):
    with pytest.raises(SheetError, match=r"t\.csv: no column offset"):
        read_spans(_csv(tmp_path / "t.csv", ["v,micro,1"], header="video,type,onset"))
    with pytest.raises(SheetError, match=r"gone\.csv: no such file"):
        read_spans(tmp_path / "gone.csv")


def test_an_earlier_metrics_file_survives_a_failed_run(tmp_path):
    truth = _csv(tmp_path / "truth.csv", ["v,micro,10,20"])
    pred = _csv(tmp_path / "pred.csv", ["v,micro,20,10"])
    out = tmp_path / "metrics.json"
    out.write_text("earlier\n")
    result = CliRunner().invoke(cli, ["spot-eval", "--truth", str(truth), "--pred", str(pred), "--out", str(out)])
    assert result.exit_code == 1
    assert out.read_text() == "earlier\n"


def test_store_truth_rejects_a_prediction_in_a_video_it_lacks():
    intervals = [Interval("s1_v1", "micro", 10, 20, apex=14, subject="s1", emotion="positive", row=2)]
    truth = truth_from_intervals(intervals, ["s1_v1", "s1_quiet"], "cas.zarr", dataset="casme2")
    preds = [Interval("s1_quiet", "micro", 0, 9, row=2), Interval("s9_v1", "micro", 0, 9, row=3)]
    with pytest.raises(MepipeError, match=r"^p\.csv: row 3: video 's9_v1' is not in the store cas\.zarr$"):
        evaluate(truth, preds, "p.csv")
    # the store's quiet video is scored: its prediction is a false positive
    counted = evaluate(truth, preds[:1], "p.csv")
    assert counted.total("micro") == Counts(0, 1, 1)
    assert counted.videos == 2


def test_a_folder_truth_that_is_no_store_is_refused_in_one_line(tmp_path):
    pred = _csv(tmp_path / "pred.csv", ["v,micro,10,20"])
    (tmp_path / "store.zarr").mkdir()
    result = CliRunner().invoke(
        cli,
        ["spot-eval", "--truth", str(tmp_path / "store.zarr"), "--pred", str(pred), "--out", str(tmp_path / "m.json")],
    )
    assert result.exit_code == 2
    assert result.output == f"mepipe: error: {tmp_path / 'store.zarr'}: not a mepipe store (no zarr group there)\n"
    assert not (tmp_path / "m.json").exists()


def test_a_csv_truth_scores_a_header_only_file_with_one_line_and_no_frame_ends(tmp_path):
    truth = _csv(tmp_path / "truth.csv", ["v,micro,10,20", "v,macro,30,90"])
    pred = _csv(tmp_path / "pred.csv", [])
    out = tmp_path / "m.json"
    result = CliRunner().invoke(cli, ["spot-eval", "--truth", str(truth), "--pred", str(pred), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"mepipe: {pred}: no predicted rows (a header only); every interval scored as a miss\n"
    record = json.loads(out.read_text())
    assert (record["overall"]["fn"], record["overall"]["f1"]) == (2, 0.0)
    assert "past_last_frame" not in record  # a CSV truth does not know the videos' ends
    # one row before frame 0 is said in the singular
    _csv(pred, ["v,micro,-1,9"])
    result = CliRunner().invoke(cli, ["spot-eval", "--truth", str(truth), "--pred", str(pred), "--out", str(out)])
    assert result.stderr == f"mepipe: {pred}: 1 predicted row starts before frame 0; scored as written\n"


def test_written_spans_read_back_the_same(tmp_path):
    spans = [
        Interval("s1_v1", "micro", 10, 19, row=2),
        Interval('s1,v2 "quoted"', "macro", 0, 59, emotion="positive", row=3),
    ]
    out = write_spans(spans, tmp_path / "p.csv")
    assert out.read_text().splitlines()[0] == "video,type,onset,offset,emotion"
    assert read_spans(out) == spans
