"""Spot-then-recognise: STRS = spotting F1 x recognition F1 on the matched intervals."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from mepipe.cli import cli
from mepipe.release.longvideo import Interval
from mepipe.spot.evaluate import Truth, evaluate
from mepipe.spot.strs import CLASSES, macro_f1, strs


def _case() -> tuple[Truth, list[Interval]]:
    truth = Truth(
        (
            Interval("v", "micro", 0, 9, emotion="negative"),
            Interval("v", "micro", 100, 109, emotion="positive"),
            Interval("v", "micro", 200, 209, emotion="surprise"),
            Interval("v", "micro", 300, 309, emotion=""),  # no class: spotting only
            Interval("v", "micro", 400, 409, emotion="others"),  # outside the three: spotting only
            Interval("v", "macro", 500, 559, emotion="negative"),  # not a micro-expression
        ),
        "truth.csv",
    )
    preds = [
        Interval("v", "micro", 0, 9, emotion="negative"),
        Interval("v", "micro", 101, 110, emotion="negative"),  # wrong class
        Interval("v", "micro", 200, 209, emotion="surprise"),
        Interval("v", "micro", 300, 309, emotion="positive"),
        Interval("v", "micro", 400, 409, emotion="negative"),
        Interval("v", "micro", 700, 709, emotion="positive"),  # FP
        Interval("w", "micro", 0, 9, emotion="surprise"),  # FP in a video without intervals
        Interval("v", "macro", 500, 559, emotion="positive"),
    ]
    return truth, preds


def test_strs_by_hand():
    score = strs(evaluate(*_case()))
    # micro spotting: 5 found of 5, 7 predictions: F1 = 10 / (10 + 2 + 0)
    assert (score.spotting.tp, score.spotting.fp, score.spotting.fn) == (5, 2, 0)
    assert score.spotting_f1 == pytest.approx(10 / 12)
    # recognised: negative->negative, positive->negative, surprise->surprise
    # F1: negative 2/3 (tp 1, fp 1), positive 0 (fn 1), surprise 1
    assert (score.recognised, score.correct) == (3, 2)
    assert score.per_class == pytest.approx({"negative": 2 / 3, "positive": 0.0, "surprise": 1.0})
    assert score.recognition_f1 == pytest.approx(5 / 9)
    assert score.strs == pytest.approx(10 / 12 * 5 / 9)


def test_macro_expressions_can_be_scored_too():
    score = strs(evaluate(*_case()), types=("micro", "macro"))
    assert score.spotting.tp == 6 and score.recognised == 4
    # negative: tp 1, fp 1, fn 1 (the macro one recognised positive) -> 1/2; positive: fp 1, fn 1 -> 0
    assert score.per_class == pytest.approx({"negative": 0.5, "positive": 0.0, "surprise": 1.0})


def test_nothing_found_is_zero_not_nan():
    truth = Truth((Interval("v", "micro", 0, 9, emotion="negative"),), "t")
    score = strs(evaluate(truth, [Interval("v", "micro", 50, 59, emotion="negative")]))
    assert (score.spotting_f1, score.recognition_f1, score.strs) == (0.0, 0.0, 0.0)
    json.dumps(score.as_dict(), allow_nan=False)


def _reference_f1(truth: list[str], predicted: list[str]) -> float:
    """Macro F1 from precision and recall per class (the harmonic mean), over the classes
    present in either list: a second route to the same number."""
    present = [c for c in CLASSES if c in truth or c in predicted]
    scores = []
    for c in present:
        hits = sum(1 for t, p in zip(truth, predicted) if t == p == c)
        said = sum(1 for p in predicted if p == c)
        real = sum(1 for t in truth if t == c)
        precision = hits / said if said else 0.0
        recall = hits / real if real else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def test_recognition_f1_equals_precision_recall_route_on_random_labels():
    rng = random.Random(2025)
    for _ in range(300):
        n = rng.randrange(0, 12)
        truth = [rng.choice(CLASSES) for _ in range(n)]
        predicted = [rng.choice([*CLASSES, "others"]) for _ in range(n)]
        per_class = macro_f1(truth, predicted)
        mean = sum(per_class.values()) / len(per_class) if per_class else 0.0
        assert mean == pytest.approx(_reference_f1(truth, predicted))


def test_spot_eval_writes_strs_when_asked(tmp_path):
    truth = tmp_path / "t.csv"
    truth.write_text("video,type,onset,offset,emotion\nv,micro,0,9,negative\nv,micro,100,109,positive\n")
    pred = tmp_path / "p.csv"
    pred.write_text("video,type,onset,offset,emotion\nv,micro,0,9,negative\nv,micro,100,109,surprise\n")
    out = tmp_path / "m.json"
    result = CliRunner().invoke(
        cli, ["spot-eval", "--truth", str(truth), "--pred", str(pred), "--out", str(out), "--strs"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    # spotting F1 1; recognition: negative 1, positive 0 (fn), surprise 0 (fp) -> 1/3
    assert record["strs"]["strs"] == pytest.approx(1 / 3)
    assert "STRS 0.3333" in result.output


def test_strs_without_recognised_classes_is_refused(tmp_path):
    truth = tmp_path / "t.csv"
    truth.write_text("video,type,onset,offset\nv,micro,0,9\n")
    out = tmp_path / "m.json"
    result = CliRunner().invoke(
        cli, ["spot-eval", "--truth", str(truth), "--pred", str(truth), "--out", str(out), "--strs"]
    )
    assert result.exit_code == 2
    assert "needs the recognised class in an emotion column" in result.output
    assert not out.exists()
