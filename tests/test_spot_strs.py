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
    score = strs(evaluate(*_case()), classes="megc2019")
    # micro spotting: 5 found of 5, 7 predictions: F1 = 10 / (10 + 2 + 0)
    assert (score.spotting.tp, score.spotting.fp, score.spotting.fn) == (5, 2, 0)
    assert score.spotting_f1 == pytest.approx(10 / 12)
    # recognised: negative->negative, positive->negative, surprise->surprise
    # F1: negative 2/3 (tp 1, fp 1), positive 0 (fn 1), surprise 1
    assert (score.recognised, score.correct) == (3, 2)
    assert score.per_class == pytest.approx({"negative": 2 / 3, "positive": 0.0, "surprise": 1.0})
    assert score.recognition_f1 == pytest.approx(5 / 9)
    assert score.strs == pytest.approx(10 / 12 * 5 / 9)
    # the other two matched micro intervals are left out, each with its reason
    assert score.left_out_why == {"truth 'others' outside megc2019": 1, "truth without an emotion": 1}
    assert score.scored + score.left_out == score.spotting.tp


def test_macro_expressions_can_be_scored_too():
    score = strs(evaluate(*_case()), types=("micro", "macro"), classes="megc2019")
    assert score.spotting.tp == 6 and score.recognised == 4
    # negative: tp 1, fp 1, fn 1 (the macro one recognised positive) -> 1/2; positive: fp 1, fn 1 -> 0
    assert score.per_class == pytest.approx({"negative": 0.5, "positive": 0.0, "surprise": 1.0})


def test_nothing_found_is_zero_not_nan():
    truth = Truth((Interval("v", "micro", 0, 9, emotion="negative"),), "t")
    score = strs(evaluate(truth, [Interval("v", "micro", 50, 59, emotion="negative")]), classes="megc2019")
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
    for classes in ("own", "megc2019", "megc"):
        result = CliRunner().invoke(
            cli,
            [
                "spot-eval",
                "--truth",
                str(truth),
                "--pred",
                str(pred),
                "--out",
                str(out),
                "--strs",
                "--classes",
                classes,
            ],
        )
        assert result.exit_code == 0, result.output
        record = json.loads(out.read_text())
        # spotting F1 1; recognition: negative 1, positive 0 (fn), surprise 0 (fp) -> 1/3 in every set
        assert record["strs"]["strs"] == pytest.approx(1 / 3)
        assert "STRS 0.3333" in result.output and f"--classes {classes}: 1 of 2" in result.output


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


# ------------------------------------------------ a public-style file, three class sets

#: (truth emotion, recognised emotion) per video, SAMM's own words; v10's truth has none
_PAIRS = [
    ("happiness", "happiness"),
    ("happiness", "surprise"),
    ("surprise", "surprise"),
    ("anger", "anger"),
    ("anger", "disgust"),
    ("contempt", "anger"),
    ("other", "other"),
    ("other", "happiness"),
    ("fear", "sadness"),
    ("disgust", "other"),
    ("", "anger"),
]


def _public_style(tmp_path, with_dataset: bool = True) -> tuple:
    """One micro interval and one prediction per video, the first 8 predictions from frame
    -2 (IoU 10/12 with their interval at 0..9), and a false positive in a video without one."""
    column = ",dataset" if with_dataset else ""
    cell = ",samm" if with_dataset else ""
    truth, pred = tmp_path / "truth.csv", tmp_path / "pred.csv"
    truth.write_text(
        f"video,type,onset,offset,emotion{column}\n"
        + "".join(f"v{k},micro,0,9,{t}{cell}\n" for k, (t, _) in enumerate(_PAIRS))
    )
    pred.write_text(
        "video,type,onset,offset,emotion\n"
        + "".join(f"v{k},micro,{-2 if k < 8 else 0},9,{p}\n" for k, (_, p) in enumerate(_PAIRS))
        + "w,micro,0,9,anger\n"
    )
    return truth, pred


# the hand counts (spotting: TP 11, FP 1, FN 0 -> F1 22/23)
#   own: 10 scored (v10 left out); classes happiness 1/2, surprise 2/3, anger 1/2, disgust 0,
#        contempt 0, other 1/2, fear 0, sadness 0 -> 13/6 / 8 = 13/48
#   megc2019 (SAMM: anger, contempt, disgust, fear, sadness negative; other left out):
#        8 scored, v6 v7 (other) and v10 left out; negative 8/9 (tp 4, fn v9: other is outside),
#        positive 2/3, surprise 2/3 -> 20/27
#   megc (other -> others): 10 scored; negative 8/9, positive 1/2 (fp v7), surprise 2/3,
#        others 1/2 -> 23/36
HAND = {
    "own": (13 / 48, 10, {"truth without an emotion": 1}),
    "megc2019": (20 / 27, 8, {"truth 'other' outside megc2019": 2, "truth without an emotion": 1}),
    "megc": (23 / 36, 10, {"truth without an emotion": 1}),
}


@pytest.mark.parametrize("classes", list(HAND))
def test_public_style_file_by_hand(tmp_path, classes):
    truth, pred = _public_style(tmp_path)
    out = tmp_path / "m.json"
    arguments = ["spot-eval", "--truth", str(truth), "--pred", str(pred), "--out", str(out), "--strs"]
    result = CliRunner().invoke(cli, [*arguments, "--classes", classes])
    assert result.exit_code == 0, result.output + result.stderr
    assert "8 predicted rows start before frame 0; scored as written" in result.stderr
    block = json.loads(out.read_text())["strs"]
    f1, scored, why = HAND[classes]
    assert block["spotting_f1"] == pytest.approx(22 / 23)
    assert block["recognition_f1"] == pytest.approx(f1)
    assert block["strs"] == pytest.approx(22 / 23 * f1)
    assert (block["scored"], block["left_out"], block["left_out_why"]) == (scored, 11 - scored, why)
    assert f"{11 - scored} left out" in result.stdout


def test_without_a_dataset_a_word_the_datasets_map_apart_is_refused(tmp_path):
    truth, pred = _public_style(tmp_path, with_dataset=False)
    out = tmp_path / "m.json"
    arguments = ["spot-eval", "--truth", str(truth), "--pred", str(pred), "--out", str(out), "--strs"]
    refused = CliRunner().invoke(cli, [*arguments, "--classes", "megc2019"])
    assert refused.exit_code != 0 and not out.exists()
    assert "emotion 'fear' maps differently by dataset" in refused.output and "casme2: left out" in refused.output
    assert "Traceback" not in refused.output
    named = CliRunner().invoke(cli, [*arguments, "--classes", "megc2019", "--dataset", "samm"])
    assert named.exit_code == 0, named.output
    assert json.loads(out.read_text())["strs"]["recognition_f1"] == pytest.approx(20 / 27)


def test_class_maps_are_the_recipes():
    from mepipe.release.classmap import class_map

    megc2019, megc = class_map("megc2019"), class_map("megc")
    # alike in every dataset that writes them: mapped without one
    assert [megc2019.map(w) for w in ("disgust", "Repression", "happy", "negative", "others")] == [
        "negative",
        "negative",
        "positive",
        "negative",
        None,
    ]
    assert megc.map("others") == "others" and megc.map("other") == "others"
    # by dataset: CASME-II leaves fear out of MEGC 2019 (others in the coarse set), SAMM calls it negative
    assert (megc2019.map("fear", "casme2"), megc2019.map("fear", "SAMM")) == (None, "negative")
    assert (megc.map("fear", "CASME-II"), megc.map("sad", "casme3_lv")) == ("others", "negative")
    assert megc.map("banana", "samm") is None


def test_negative_frames_are_read_bad_rows_still_refused(tmp_path):
    from mepipe.errors import SheetError
    from mepipe.spot.evaluate import read_spans

    path = tmp_path / "p.csv"
    path.write_text("video,type,onset,offset\nv,micro,-3,4\n")
    assert [(s.onset, s.offset) for s in read_spans(path)] == [(-3, 4)]
    for row, message in (
        ("v,micro,5,-1", "row 2: onset 5 after offset -1"),
        ("v,micro,-1.5,4", "row 2: onset '-1.5' is not a whole frame number"),
        ("v,blink,0,4", "row 2: unknown type 'blink'"),
    ):
        path.write_text(f"video,type,onset,offset\n{row}\n")
        with pytest.raises(SheetError, match=message):
            read_spans(path)
