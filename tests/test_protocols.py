"""Protocols and challenge scores: leave one dataset out, split manifests, MEGC 2019 scores
per member dataset and its log format, on a small synthetic composite."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from mepipe.build import build
from mepipe.cli import cli
from mepipe.dataset import lodo_splits, loso_splits, open_dataset, split_manifest
from mepipe.synth import synthesize

CLASSES = ("negative", "positive", "surprise")


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _read(path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def composite(tmp_path_factory) -> str:
    """A MEGC 2019 store with 2 subjects x 2 clips of each member built (12 ok samples)."""
    root = tmp_path_factory.mktemp("megc")
    synthesize("megc2019", root / "release", subjects=2, clips_per_subject=2, scale=0.4, seed=5, progress=False)
    store = str(root / "megc.zarr")
    assert build("megc2019", root / "release", store, size=48, progress=False, workers=2).ok == 12
    return store


@pytest.fixture(scope="module")
def lodo_run(composite, tmp_path_factory):
    pytest.importorskip("torch")
    out = tmp_path_factory.mktemp("lodo")
    result = _run(
        "train", "--store", composite, "--out", out / "run", "--protocol", "lodo", "--megc-log", out / "megc.csv",
        "--epochs", "1", "--batch", "4", "--width", "4", "--image-size", "32", "--device", "cpu",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out, result.stdout


def test_lodo_folds_leave_out_one_member_each(composite):
    subjects = open_dataset(composite)["subject"].values
    folds = list(lodo_splits(composite))
    assert [name for name, _, _ in folds] == ["casme2", "samm", "smic"]
    for name, train, test in folds:
        assert {s.split("/")[0] for s in subjects[test]} == {name}
        assert name not in {s.split("/")[0] for s in subjects[train]}
        assert len(train) + len(test) == len(subjects)
    assert sorted(np.concatenate([test for _, _, test in folds]).tolist()) == list(range(len(subjects)))


def test_split_manifests_hold_the_folds_train_runs(composite, tmp_path):
    ids = open_dataset(composite)["sample"].values
    for protocol, folds in (("loso", list(loso_splits(composite))), ("lodo", list(lodo_splits(composite)))):
        out = tmp_path / f"{protocol}.csv"
        result = _run("splits", composite, "--protocol", protocol, "--out", out)
        assert (
            result.exit_code == 0
            and result.stdout == f"wrote {out}: {len(folds)} {protocol} folds, {len(ids) * len(folds)} rows\n"
        )
        rows = _read(out)
        assert list(rows[0]) == ["sample_id", "fold", "held_out", "split"]
        assert rows == [{k: str(v) for k, v in row.items()} for row in split_manifest(composite, protocol)]
        for index, (name, train, test) in enumerate(folds):
            mine = [r for r in rows if r["fold"] == str(index)]
            assert {r["held_out"] for r in mine} == {name}
            assert [r["sample_id"] for r in mine if r["split"] == "test"] == ids[test].tolist()
            assert [r["sample_id"] for r in mine if r["split"] == "train"] == ids[train].tolist()
        # every sample is tested exactly once
        assert sorted(r["sample_id"] for r in rows if r["split"] == "test") == sorted(ids.tolist())
    assert len(list(loso_splits(composite))) == 6  # casme2/sub01, ..., smic/s02


def _challenge_scores(rows: list[dict]) -> dict:
    """Accuracy, UF1 and UAR the MEGC 2019 way, from TP/FP/FN counts summed over folds."""
    n = len(rows)
    f1, recall = [], []
    for c in CLASSES:
        tp = fp = fn = 0
        for fold in sorted({r["fold"] for r in rows}):
            mine = [r for r in rows if r["fold"] == fold]
            tp += sum(r["true"] == c and r["pred"] == c for r in mine)
            fp += sum(r["true"] != c and r["pred"] == c for r in mine)
            fn += sum(r["true"] == c and r["pred"] != c for r in mine)
        if tp + fn:  # classes absent from the truth are left out (as mepipe does)
            f1.append(2 * tp / (2 * tp + fp + fn))
            recall.append(tp / (tp + fn))
    return {
        "n": n,
        "accuracy": sum(r["true"] == r["pred"] for r in rows) / n,
        "uf1": np.mean(f1),
        "uar": np.mean(recall),
    }


def test_per_dataset_scores_recomputed_from_predictions(lodo_run):
    out, _ = lodo_run
    metrics = json.loads((out / "run" / "metrics.json").read_text())
    rows = _read(out / "run" / "predictions.csv")
    assert metrics["config"]["protocol"] == "lodo"
    assert [f["subject"] for f in metrics["folds"]] == ["casme2", "samm", "smic"]
    assert set(metrics["per_dataset"]) == {"casme2", "samm", "smic"}
    for name, scores in metrics["per_dataset"].items():
        expected = _challenge_scores([r for r in rows if r["sample_id"].startswith(f"{name}/")])
        assert scores["n"] == expected["n"] == 4
        for key in ("accuracy", "uf1", "uar"):
            assert scores[key] == pytest.approx(expected[key])
    whole = _challenge_scores(rows)
    assert (metrics["accuracy"], metrics["uf1"], metrics["uar"]) == pytest.approx(
        (whole["accuracy"], whole["uf1"], whole["uar"])
    )


def test_table_shows_the_composite_and_each_member(lodo_run):
    out, stdout = lodo_run
    metrics = json.loads((out / "run" / "metrics.json").read_text())
    lines = stdout.splitlines()
    composite = next(line for line in lines if line.startswith("composite"))
    assert composite.split() == ["composite", "12", *(f"{metrics[k]:.3f}" for k in ("accuracy", "uf1", "uar"))]
    for name, scores in metrics["per_dataset"].items():
        line = next(line for line in lines if line.startswith(f"  {name} "))
        assert line.split() == [name, "4", *(f"{scores[k]:.3f}" for k in ("accuracy", "uf1", "uar"))]


def test_megc_log_in_the_lists_spelling(lodo_run):
    out, _ = lodo_run
    predictions = {r["sample_id"]: r for r in _read(out / "run" / "predictions.csv")}
    with open(out / "megc.csv", newline="") as handle:
        log = list(csv.reader(handle))
    assert len(log) == 12 and all(len(row) == 5 for row in log)
    for dataset, subject, clip, label, predicted in log:
        padded = subject.zfill(3) if dataset == "samm" else subject
        row = predictions[f"{dataset}/{padded}/{clip}"]
        assert (CLASSES[int(label)], CLASSES[int(predicted)]) == (row["true"], row["pred"])
    assert {row[1] for row in log if row[0] == "samm"} == {"6", "7"}  # as combined_3class_gt.csv writes SAMM


def test_bad_protocol_input_is_one_line(casme2_store, tmp_path):
    for args in (
        ("splits", casme2_store, "--protocol", "lodo", "--out", tmp_path / "x.csv"),
        ("train", "--store", casme2_store, "--out", tmp_path / "run", "--protocol", "lodo", "--device", "cpu"),
    ):
        result = _run(*args)
        assert result.exit_code == 2
        assert result.stderr == (
            "mepipe: error: --protocol lodo: a casme2 store holds one dataset; leaving one dataset out needs "
            "a composite store (mepipe build --dataset megc2019)\n"
        )
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "run").exists()
