"""Folds at once (one grouped network) against the sequential reference, and sweeps of
variants x seeds, here and on a Dask LocalCluster."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner
from distributed import Client

from mepipe.cli import cli
from mepipe.dataset import subject_splits
from mepipe.engine.cluster import make_cluster
from mepipe.train.data import load_store, loso_folds
from mepipe.train.loop import n_batches, train_fold
from mepipe.train.options import TrainOptions
from mepipe.train.sweep import sweep
from mepipe.train.together import train_folds

from .test_train import make_store

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
torch.set_num_threads(1)

TINY = dict(epochs=1, batch=8, lr=3e-3, width=4, device="cpu")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("together") / "tiny.zarr"
    make_store(path, per_class=2)
    return path


@pytest.fixture
def float64():
    # grouped and single convolutions round differently; in float32 training amplifies
    # that (Adam's first steps normalise gradients, so rounding-level components become
    # full-size updates, worst in batches of 3). In float64 both paths must agree.
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


@pytest.mark.parametrize("variant", ["afn", "global", "concat"])
def test_folds_at_once_equal_sequential_folds(store, float64, variant):
    data = load_store(store)
    # uneven subjects: s02 keeps 2 of its 6 samples, s03 5, so that with batch 4 the three
    # folds train on 13, 17 and 14 samples: 3, 4 and 4 batches per epoch (a fold idle at
    # a step), last batches of 4 and 2 at the same step (padding), and trailing batches of
    # one that are dropped
    keep = np.ones(len(data.labels), bool)
    keep[np.flatnonzero(data.subjects == "s02")[2:]] = False
    keep[np.flatnonzero(data.subjects == "s03")[5:]] = False
    data = data.take(np.flatnonzero(keep))
    folds = loso_folds(subject_splits(data.subjects))[:3]
    assert sorted(n_batches(len(f.train), 4) for f in folds) == [3, 4, 4]
    config = TrainOptions(model=variant, epochs=2, batch=4, lr=3e-3, width=4)
    alone = [train_fold(data, f, config, seed, torch.device("cpu"), False) for seed in (0, 1) for f in folds]
    together = train_folds(data, [(f, seed) for seed in (0, 1) for f in folds], config, torch.device("cpu"), False)
    for a, b in zip(alone, together):
        assert (a.fold.index, a.seed) == (b.fold.index, b.seed)
        np.testing.assert_allclose(b.probs, a.probs, rtol=0, atol=1e-6)
        np.testing.assert_allclose(b.loss_per_epoch, a.loss_per_epoch, rtol=1e-9)
        assert b.accuracy_per_epoch == a.accuracy_per_epoch and b.samples_seen == a.samples_seen
        if variant == "global":
            np.testing.assert_allclose(b.global_weights, a.global_weights, rtol=1e-9)


def test_cli_folds_at_once_writes_a_normal_run(store, tmp_path):
    args = [
        "train",
        "--store",
        str(store),
        "--out",
        str(tmp_path),
        "--epochs",
        "1",
        "--width",
        "4",
        "--batch",
        "8",
        "--device",
        "cpu",
        "--folds-at-once",
        "--seeds",
        "0,3",
        "--fold-group",
        "3",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert [s["seed"] for s in metrics["seeds"]] == [0, 3]
    assert metrics["config"]["folds_at_once"] is True and len(metrics["folds"]) == 8
    assert metrics["samples_per_s"] > 0


def _probs(path) -> list[list[str]]:
    with open(path, newline="") as f:
        return [
            [v for k, v in row.items() if k.startswith(("sample_id", "seed", "prob_"))] for row in csv.DictReader(f)
        ]


def test_sweep_on_a_local_cluster_equals_runs_here(store, tmp_path):
    options = dict(subjects=["s01", "s02"], **TINY)
    with make_cluster("local", workers=2) as cluster, Client(cluster) as client:
        summary = sweep(
            store, tmp_path / "cluster", ["afn", "trdi"], [0, 1], scheduler=client, progress=False, **options
        )
    assert list(summary["variants"]) == ["afn", "trdi"] and summary["seeds"] == [0, 1]
    for name in ("sweep.json", "sweep.png", "afn/metrics.json", "trdi/predictions.csv"):
        assert (tmp_path / "cluster" / name).stat().st_size > 0
    trdi = summary["variants"]["trdi"]
    accuracies = [s["accuracy"] for s in trdi["per_seed"]]
    assert trdi["accuracy"] == pytest.approx(np.mean(accuracies))
    assert trdi["accuracy_std"] == pytest.approx(np.std(accuracies))
    # the same run here, through the command line: identical predictions
    args = [
        "train",
        "--store",
        str(store),
        "--out",
        str(tmp_path / "here"),
        "--variant",
        "trdi",
        "--seeds",
        "0,1",
        "--subjects",
        "s01,s02",
        "--epochs",
        "1",
        "--width",
        "4",
        "--batch",
        "8",
        "--lr",
        "3e-3",
        "--device",
        "cpu",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert _probs(tmp_path / "here" / "predictions.csv") == _probs(tmp_path / "cluster" / "trdi" / "predictions.csv")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--variant", "afn,sum"], "--variant: unknown variant(s) sum"),
        (["--seeds", "0,x"], "--seeds takes a count (3) or a comma-separated list (0,1,2), not '0,x'"),
        (["--seeds", "1,1"], "--seeds must list distinct non-negative seeds, not 1,1"),
        (["--variant", "afn,trdi", "--scheduler", "threads"], "mepipe train --scheduler takes a tcp://HOST:PORT"),
    ],
)
def test_sweep_option_errors_are_one_line(store, tmp_path, args, message):
    result = CliRunner().invoke(cli, ["train", "--store", str(store), "--out", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
