"""Spot-then-recognise on a tiny synthetic CAS(ME)^2 release: each fold's recogniser never
sees its test subject's clips, every micro prediction gets a class, the STRS written is
the one :mod:`mepipe.spot.strs` computes on the same spans; SAMM-LV's micro rows take
their emotion from SAMM's clip sheet (the real sheets)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mepipe.build import build
from mepipe.cli import cli
from mepipe.engine.spotting import SpotSettings
from mepipe.errors import UsageError
from mepipe.release.registry import get_recipe
from mepipe.spot.evaluate import evaluate, read_spans, truth_intervals, write_spans
from mepipe.spot.recognise import Clips, megc_class, recognise_loso, spot_recognise, store_subjects
from mepipe.spot.strs import CLASSES, strs
from mepipe.store.spotting import open_spotting_store, read_intervals
from mepipe.synth.longvideo import synthesize_long
from mepipe.train.run import training_options

pytest.importorskip("torch")

DATA = Path(__file__).parent / "data" / "annotations"
#: quick: DIS flow for the store, 32 px clips, a narrow AFN for 2 epochs
SETTINGS = SpotSettings(method="dis", crop=48, block=8, chunk=16)
OPTIONS = {"model": "afn", "epochs": 2, "batch": 8, "lr": 1e-3, "width": 8, "device": "cpu"}
SIZE = 32


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> tuple[Path, Path]:
    """Three subjects, one 120-frame video each (2 micro- and 2 macro-expressions), and its store."""
    base = tmp_path_factory.mktemp("strs")
    recipe = get_recipe("casme_sq", object)
    synthesize_long(recipe, base / "release", subjects=3, videos=1, frames=120, scale=0.25, seed=3, progress=False)
    summary = build(
        "casme_sq", base / "release", str(base / "store.zarr"), settings=SETTINGS, scheduler="sync", progress=False
    )
    assert summary.ok, summary.format()
    return base / "release", base / "store.zarr"


@pytest.fixture(scope="module")
def result(release):
    root, store = release
    return spot_recognise(store, get_recipe("casme_sq", object), root, options=training_options(**OPTIONS), size=SIZE)


def _id(interval) -> str:
    return f"{interval.video}/{interval.onset}-{interval.offset}"


def test_each_fold_trains_on_the_other_subjects_clips_only(release, result):
    _, store = release
    subjects = store_subjects(store)
    classed = [i for i in read_intervals(open_spotting_store(store)) if i.type == "micro" and megc_class(i.emotion)]
    assert len({i.subject for i in classed}) == 3
    assert [f.subject for f in result.folds] == sorted(set(subjects.values()))
    for fold in result.folds:
        assert not fold.skipped
        seen = {subjects[clip_id.split("/")[0]] for clip_id in fold.trained_on}
        assert fold.subject not in seen
        # every other subject's classed micro-expression, and nothing else
        assert sorted(fold.trained_on) == sorted(_id(i) for i in classed if i.subject != fold.subject)
        assert {subjects[clip_id.split("/")[0]] for clip_id in fold.recognised} == {fold.subject}
        assert sum(fold.classes.values()) == len(fold.trained_on)


def test_every_micro_prediction_carries_a_class(result):
    micro = [p for p in result.predictions if p.type == "micro"]
    assert micro and not result.not_cut
    assert all(p.emotion in CLASSES for p in micro)
    assert all(p.emotion == "" for p in result.predictions if p.type == "macro")
    assert sum(len(f.recognised) for f in result.folds) == len(micro)


def test_the_recogniser_never_trains_on_the_test_subject(monkeypatch):
    """The rows given to the trainer, checked where it receives them."""
    import mepipe.train.loop as loop

    given = []
    real = loop.train_fold

    def spy(data, fold, *args, **kwargs):
        given.append((fold.subject, set(data.subjects[fold.train].tolist()), set(data.subjects[fold.test].tolist())))
        return real(data, fold, *args, **kwargs)

    monkeypatch.setattr(loop, "train_fold", spy)
    rng = np.random.default_rng(0)

    def clips(subjects: list[str], labelled: bool) -> Clips:
        n = len(subjects)
        arrays = {name: rng.integers(0, 255, (n, 32, 32, 3), dtype=np.uint8) for name in ("trdi", "midi")}
        labels = tuple(CLASSES[k % 3] if labelled else "" for k in range(n))
        ids = tuple(f"{s}/{k}" for k, s in enumerate(subjects))
        return Clips(arrays, ids, tuple(subjects), labels)

    training = clips(["a"] * 3 + ["b"] * 3 + ["c"] * 3, True)
    test = clips(["a", "b", "b", "c"], False)
    classes, folds = recognise_loso(training, test, training_options(**OPTIONS))
    assert [(s, train, tested) for s, train, tested in given] == [
        ("a", {"b", "c"}, {"a"}),
        ("b", {"a", "c"}, {"b"}),
        ("c", {"a", "b"}, {"c"}),
    ]
    assert all(c in CLASSES for c in classes)
    assert [len(f.trained_on) for f in folds] == [6, 6, 6]


def test_cli_writes_the_strs_of_its_recognised_spans(release, tmp_path):
    """Predictions that match every annotated micro-expression (one frame late), and two
    that match none: the STRS written is strs() of the recognised file, recomputed."""
    root, store = release
    truth = truth_intervals(store)
    micro = [s for s in truth.spans if s.type == "micro"]
    pred = tmp_path / "pred.csv"
    rows = [f"{s.video},micro,{s.onset + 1},{s.offset + 1}" for s in micro]
    rows += [f"{micro[0].video},micro,1,12", f"{micro[0].video},macro,40,80"]
    pred.write_text("video,type,onset,offset\n" + "\n".join(rows) + "\n")
    out, recognised = tmp_path / "strs.json", tmp_path / "recognised.csv"
    arguments = [
        "spot-recognise", str(store), "--dataset", "casme_sq", "--release", str(root), "--pred", str(pred),
        "--out", str(out), "--recognised", str(recognised), "--size", str(SIZE), "--epochs", "2", "--width", "8",
        "--batch", "8", "--quiet",
    ]  # fmt: skip
    run = CliRunner().invoke(cli, arguments)
    assert run.exit_code == 0, run.output
    record = json.loads(out.read_text())
    spans = read_spans(recognised)
    assert [(s.video, s.type, s.onset, s.offset) for s in spans] == [
        (s.video, s.type, s.onset, s.offset) for s in read_spans(pred)
    ]
    assert all(s.emotion in CLASSES for s in spans if s.type == "micro")
    again = strs(evaluate(truth, spans), classes="megc2019", dataset="casme_sq")
    assert again.spotting.tp == len(micro) and again.recognised == sum(megc_class(s.emotion) != "" for s in micro)
    assert record["strs"] == again.as_dict()
    assert record["micro"]["tp"] == len(micro) and record["micro"]["fp"] == 1
    # and spot-eval --strs scores the same file the same way
    metrics = tmp_path / "eval.json"
    scored = CliRunner().invoke(
        cli,
        [
            "spot-eval", "--truth", str(store), "--pred", str(recognised), "--out", str(metrics), "--strs",
            "--classes", "megc2019", "--dataset", "casme_sq",
        ],
    )  # fmt: skip
    assert scored.exit_code == 0, scored.output
    assert json.loads(metrics.read_text())["strs"] == record["strs"]
    assert f"STRS {record['strs']['strs']:.4f}" in run.output and str(out) in run.output


def test_a_class_the_predictions_bring_is_never_kept(release, tmp_path):
    """A one-frame micro prediction cannot be cut: it is recorded, left without a class,
    whatever class its file gave it."""
    root, store = release
    video = sorted(store_subjects(store))[0]
    pred = tmp_path / "pred.csv"
    pred.write_text(f"video,type,onset,offset,emotion\n{video},micro,30,30,surprise\n")
    found = spot_recognise(
        store,
        get_recipe("casme_sq", object),
        root,
        read_spans(pred),
        options=training_options(**OPTIONS),
        size=SIZE,
    )
    assert [p.emotion for p in found.predictions] == [""]
    assert list(found.not_cut.values()) == [f"{video} frames 30..30: 1 on disk, a clip needs 2"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("nowhere,micro,3,9", "row 2: video 'nowhere' is not in the store"),
        ("{video},micro,9,3", "row 2: onset 9 after offset 3"),
        ("{video},mirco,3,9", "row 2: unknown type 'mirco'"),
    ],
)
def test_bad_predictions_are_one_line_and_nothing_is_written(release, tmp_path, row, message):
    root, store = release
    video = sorted(store_subjects(store))[0]
    pred = tmp_path / "pred.csv"
    pred.write_text("video,type,onset,offset\n" + row.format(video=video) + "\n")
    out = tmp_path / "strs.json"
    run = CliRunner().invoke(
        cli,
        [
            "spot-recognise",
            str(store),
            "--dataset",
            "casme_sq",
            "--release",
            str(root),
            "--pred",
            str(pred),
            "--out",
            str(out),
            "--quiet",
        ],  # fmt: skip
    )
    assert run.exit_code != 0
    assert f"{pred}: {message}" in run.output
    assert len(run.output.strip().splitlines()) == 1
    assert not out.exists()


def test_a_store_and_a_release_that_do_not_belong_together(release, tmp_path):
    _, store = release
    other = tmp_path / "other"
    synthesize_long(get_recipe("casme_sq", object), other, subjects=1, videos=1, frames=120, scale=0.25, progress=False)
    run = CliRunner().invoke(
        cli,
        ["spot-recognise", str(store), "--dataset", "casme_sq", "--release", str(other), "--out", "x.json", "--quiet"],
    )
    assert run.exit_code != 0
    assert "no frames of the store's videos" in run.output and str(other) in run.output


def test_training_on_a_clip_store(release, casme2_store):
    """A CASME-II clip store's MEGC-class samples train every fold (its people are not the
    long videos'); the spotted clips are cut at the store's own size."""
    from mepipe.store import open_store
    from mepipe.train.data import usable_samples

    root, store = release
    truth = truth_intervals(store)
    annotated = [s for s in truth.spans if s.type == "micro"]
    found = spot_recognise(
        store,
        get_recipe("casme_sq", object),
        root,
        annotated,
        options=training_options(**OPTIONS),
        clips=casme2_store,
        clip_classes="3",
    )
    expected = usable_samples(open_store(casme2_store), casme2_store, "3").fields["sample_id"]
    assert expected.size >= 2
    for fold in found.folds:
        assert sorted(fold.trained_on) == sorted(expected.tolist())
    assert all(p.emotion in CLASSES for p in found.predictions)
    assert found.training.startswith(f"clip store {casme2_store}")


def test_a_clip_store_without_the_megc_classes_is_refused(release, casme2_store):
    root, store = release
    with pytest.raises(UsageError, match=r"class set 5 is .*; spot-then-recognise needs negative, positive, surprise"):
        spot_recognise(store, get_recipe("casme_sq", object), root, [], clips=casme2_store, clip_classes="5")


# ---------------------------------------------------------------- SAMM-LV's classes


def test_samm_lv_micro_rows_take_their_class_from_samm_clip_sheet(tmp_path):
    recipe = get_recipe("samm_lv", object)
    shutil.copy(DATA / "samm_lv" / "SAMMLV_gt.xlsx", tmp_path)
    alone = recipe.read_intervals(tmp_path / "SAMMLV_gt.xlsx")
    assert {i.emotion for i in alone} == {""}
    shutil.copy(DATA / "samm" / "SAMM_Micro_FACS_Codes_v2.xlsx", tmp_path)
    joined = recipe.read_intervals(tmp_path / "SAMMLV_gt.xlsx")
    assert len(joined) == len(alone) == 159 + 343
    micro = [i for i in joined if i.type == "micro"]
    # all 159 names match: SAMM's 3-class map of its Estimated Emotion, other as others
    assert Counter(i.emotion for i in micro) == {"negative": 92, "positive": 26, "surprise": 15, "others": 26}
    assert {i.emotion for i in joined if i.type == "macro"} == {""}
    # apart from the emotion, the rows are the sheet's as before
    assert [(i.name, i.onset, i.offset) for i in joined] == [(i.name, i.onset, i.offset) for i in alone]
    by_name = {i.name: i.emotion for i in micro}
    assert by_name["006_1_2"] == "negative"  # SAMM: 006_1_2 Anger


def test_write_spans_round_trips_recognised_classes(tmp_path, result):
    path = write_spans(result.predictions, tmp_path / "p.csv")
    assert [(s.video, s.type, s.onset, s.offset, s.emotion) for s in read_spans(path)] == [
        (s.video, s.type, s.onset, s.offset, s.emotion) for s in result.predictions
    ]


def test_a_clip_dataset_is_refused_in_one_line(tmp_path):
    run = CliRunner().invoke(
        cli,
        [
            "spot-recognise",
            str(tmp_path / "s.zarr"),
            "--dataset",
            "casme2",
            "--release",
            str(tmp_path),
            "--out",
            str(tmp_path / "o.json"),
        ],
    )
    assert run.exit_code == UsageError.exit_code
    assert run.output.strip().splitlines() == [
        "mepipe: error: --dataset casme2 is a clip dataset; spot-recognise reads the long videos of a spotting one"
    ]
