"""ME-VQA: export records from clip stores, FACS names, and vqa-eval's scores by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from mepipe.cli import cli
from mepipe.release.au import FACS_AUS, parse_action_units
from mepipe.store import OK, open_store, read_fields
from mepipe.vqa.facs import FACS_NAMES, au_names
from mepipe.vqa.records import ANALYSIS_Q, AU_Q, AUS_Q, COARSE_Q, FINE_Q, VQA_FILE

#: the coarse classes by hand, from the recipes' MEGC 2019 maps (others for the rest)
COARSE = {
    "casme2": {"happiness": "positive", "disgust": "negative", "repression": "negative", "surprise": "surprise"},
    "samm": {
        **dict.fromkeys(("anger", "contempt", "disgust", "fear", "sadness"), "negative"),
        "happiness": "positive",
        "surprise": "surprise",
    },
}


def test_facs_names_cover_every_facs_number_and_keep_the_side():
    assert set(FACS_NAMES) == set(FACS_AUS)
    tokens, _ = parse_action_units("4+L10+(R6 or R12)+ref(7B)+R12")
    # the uncertain "or" and "ref" tokens are left out, as the store's au field leaves them
    assert au_names(tokens) == ["brow lowerer", "left upper lip raiser", "right lip corner puller"]
    assert au_names(parse_action_units("A12+T18")[0]) == ["lip corner puller", "lip pucker"]


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _by_hand(store: str, dataset: str) -> dict[str, int]:
    """The records an export must write, counted from the store's fields alone."""
    fields = read_fields(open_store(store))
    counts = {COARSE_Q: 0, FINE_Q: 0, AU_Q: 0, AUS_Q: 0, ANALYSIS_Q: 0}
    for status, emotion, au in zip(fields["status"], fields["emotion"], fields["au"]):
        if status != OK or not emotion:
            continue
        counts[COARSE_Q] += 1  # every word of these sheets has a coarse class (others included)
        counts[FINE_Q] += 1
        counts[ANALYSIS_Q] += 1
        n = len([a for a in str(au).split("+") if a])
        counts[AU_Q] += n == 1
        counts[AUS_Q] += n > 1
    return counts


def _check_export(store: str, dataset: str, out, held: set[str]) -> list[dict]:
    result = CliRunner().invoke(cli, ["export", store, "--format", "megc-vqa", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    records = _records(out / VQA_FILE)
    asked = {q: sum(r["question"] == q for r in records) for q in _by_hand(store, dataset)}
    assert asked == _by_hand(store, dataset)
    fields = read_fields(open_store(store))
    emotions = {
        (str(s), str(c)): str(e)
        for s, c, e, ok in zip(fields["subject"], fields["clip"], fields["emotion"], fields["status"])
        if ok == OK
    }
    for record in records:
        assert set(record) >= {"image_id", "dataset", "subject", "filename", "question", "answer"}
        assert record["dataset"] == dataset and record["answer"] == record["answer"].lower()
        emotion = emotions[(record["subject"], record["filename"])].lower()
        if record["question"] == FINE_Q:
            assert record["answer"] == emotion
        if record["question"] == COARSE_Q:
            assert record["answer"] == COARSE[dataset].get(emotion, "others")
        # the files the store has are written beside the records; the others are left out
        files = {key for key in ("onset_frame", "apex_frame", "offset_frame", "flow") if key in record}
        assert files == held
        for key in files:
            assert (out / record[key]).is_file()
    missing = sorted({"onset_frame", "apex_frame", "offset_frame", "flow"} - held)
    # counted in one line, never refused
    assert sum("holds no array for" in line for line in result.output.splitlines()) == (1 if missing else 0)
    for key in missing:
        assert f"{key} ({len(emotions)} records)" in result.output
    assert f"exported {len(emotions)} clips as {len(records)} ME-VQA records" in result.output
    return records


def test_export_casme2_store(casme2_store, tmp_path):
    records = _check_export(casme2_store, "casme2", tmp_path / "vqa", {"onset_frame", "apex_frame"})
    # the synthetic sheet's 4+L10 keeps its side; its "?" and "L12 or L14" ask no AU question
    first = next(r for r in records if r["question"] in (AU_Q, AUS_Q) and r["filename"] == "EP01_01")
    assert first["answer"] == "brow lowerer, left upper lip raiser" and first["question"] == AUS_Q
    assert first["image_id"] == f"{first['subject']}_EP01_01"
    analysis = next(r for r in records if r["question"] == ANALYSIS_Q and r["image_id"] == first["image_id"])
    assert "brow lowerer and left upper lip raiser" in analysis["answer"]
    # a second export into the same folder replaces the first
    again = CliRunner().invoke(cli, ["export", casme2_store, "--format", "megc-vqa", "--out", str(tmp_path / "vqa")])
    assert again.exit_code == 0, again.output


def test_export_samm_store_with_flow(samm_release, tmp_path):
    from mepipe.build import build

    store = str(tmp_path / "samm.zarr")
    build("samm", samm_release, store, size=32, arrays="onset,apex,flow", progress=False, workers=1)
    records = _check_export(store, "samm", tmp_path / "vqa", {"onset_frame", "apex_frame", "flow"})
    flow = np.load(tmp_path / "vqa" / records[0]["flow"])
    assert flow.shape == (32, 32, 2)
    assert all(r["image_id"] == r["filename"] for r in records)  # SAMM's clip names start with the subject


# ------------------------------------------------ vqa-eval by hand


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _row(image, question, answer):
    return {"image_id": image, "question": question, "answer": answer}


def _files(tmp_path):
    truth = [
        _row("a", COARSE_Q, "negative"),
        _row("b", COARSE_Q, "negative"),
        _row("c", COARSE_Q, "positive"),
        _row("d", COARSE_Q, "surprise"),
        _row("a", FINE_Q, "disgust"),
        _row("b", FINE_Q, "happiness"),
        _row("c", FINE_Q, "surprise"),
        _row("a", ANALYSIS_Q, "no action unit is coded"),
        _row("b", ANALYSIS_Q, "the face shows brow lowerer"),
        _row("a", AU_Q, "brow lowerer"),
    ]
    pred = [
        _row("a", COARSE_Q, "negative"),
        _row("b", COARSE_Q, "positive"),
        _row("c", COARSE_Q, " Positive "),
        _row("d", COARSE_Q, "others"),
        _row("a", FINE_Q, "Disgust."),
        _row("b", FINE_Q, "happiness"),
        # c's fine class unanswered
        _row("a", ANALYSIS_Q, "no action unit is coded"),
        _row("b", ANALYSIS_Q, "the face shows cheek raiser"),
        _row("z", FINE_Q, "fear"),  # asked of no truth
    ]
    return _write(tmp_path / "t.jsonl", truth), _write(tmp_path / "p.jsonl", pred)


def test_vqa_eval_by_hand(tmp_path):
    truth, pred = _files(tmp_path)
    out = tmp_path / "m.json"
    result = CliRunner().invoke(cli, ["vqa-eval", "--truth", str(truth), "--pred", str(pred), "--out", str(out)])
    assert result.exit_code == 0, result.output
    m = json.loads(out.read_text())
    # coarse: classes negative, positive, surprise, others; F1 2/3, 2/3, 0, 0 -> 1/3;
    # recall over the truth's negative 1/2, positive 1, surprise 0 -> 1/2
    assert (m["coarse"]["n"], m["coarse"]["uf1"], m["coarse"]["uar"]) == (4, pytest.approx(1 / 3), pytest.approx(0.5))
    # fine: disgust 1, happiness 1, surprise 0 (unanswered: a miss, no class) -> 2/3 both
    assert (m["fine"]["uf1"], m["fine"]["uar"]) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert m["fine"]["classes"] == ["disgust", "happiness", "surprise"]
    # BLEU-4 over both analysis answers (10 tokens each side, brevity 1): n-gram precisions
    # 8/10, 6/8, 4/6, 2/4 -> (0.2)^(1/4); ROUGE-L: 1 and LCS 3 of 5 (0.6) -> 0.8
    assert m["bleu"] == pytest.approx(0.2**0.25) and m["rouge_l"] == pytest.approx(0.8)
    assert (m["questions"], m["unanswered"], m["unmatched"], m["analysis"]) == (10, 2, 1, 2)
    assert "uf1 0.3333" in result.output and f"bleu {0.2**0.25:.4f}" in result.output


def test_vqa_eval_scores_one_class_as_the_reference_route(tmp_path):
    """uf1 equals the mean of precision/recall F1s computed another way, on random labels."""
    from mepipe.vqa.score import class_scores

    rng = np.random.default_rng(7)
    names = ["negative", "positive", "surprise", "others"]
    for _ in range(100):
        n = int(rng.integers(1, 15))
        t = [names[k] for k in rng.integers(0, 3, n)]
        p = [names[k] for k in rng.integers(0, 4, n)]
        present = sorted(set(t) | set(p))
        f1s = []
        for c in present:
            said, real = p.count(c), t.count(c)
            hits = sum(a == b == c for a, b in zip(t, p))
            prec, rec = (hits / said if said else 0.0), (hits / real if real else 0.0)
            f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
        got = class_scores(t, p)
        assert math.isclose(got["uf1"], sum(f1s) / len(f1s))
        recalls = [sum(a == b == c for a, b in zip(t, p)) / t.count(c) for c in sorted(set(t))]
        assert math.isclose(got["uar"], sum(recalls) / len(recalls))


@pytest.mark.parametrize(
    "line, message",
    [
        ("not json", "row 2: not JSON"),
        ('["a"]', "row 2: a JSON list, not an object"),
        ('{"image_id": "a", "question": "q"}', "row 2: field 'answer' missing"),
        ('{"image_id": "a", "question": "q", "answer": 3}', "row 2: field 'answer' int, not text"),
        (json.dumps(_row("a", COARSE_Q, "x")), f"row 2: image_id 'a' asked {COARSE_Q!r} twice"),
    ],
)
def test_vqa_eval_refuses_bad_rows_in_one_line(tmp_path, line, message):
    truth = tmp_path / "t.jsonl"
    truth.write_text(json.dumps(_row("a", COARSE_Q, "negative")) + "\n" + line + "\n")
    out = tmp_path / "m.json"
    result = CliRunner().invoke(cli, ["vqa-eval", "--truth", str(truth), "--pred", str(truth), "--out", str(out)])
    assert result.exit_code != 0 and not out.exists()
    assert f"{truth}: {message}" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
