"""The training stage: metrics, LOSO split, model variants, augmentation, full runs.

Runs on CPU in seconds: tiny stores (4 subjects x 9 samples, 32 px) and 8-channel
ResNets. The stores carry a strong class signal (a colour tint plus a blob in the class's
channel) so a tiny model can learn it.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner

from mepipe.cli import cli
from mepipe.dataset import subject_splits
from mepipe.errors import MepipeError, UsageError
from mepipe.release.recipe import Sample
from mepipe.store import FAILED, OK, SampleResult, create_store, write_sample
from mepipe.train.augment import apply_affine, random_affine, standardise
from mepipe.train.data import load_store, loso_folds
from mepipe.train.defaults import VARIANTS
from mepipe.train.loop import class_weights, classification_loss
from mepipe.train.metrics import chance_levels, scores
from mepipe.train.model import FusionNet, ResNetStream, load_backbone
from mepipe.train.run import train

from .no_torch import WITHOUT_TORCH

# one thread: the machine is shared, and oversubscribed OpenMP threads spin rather than work
torch.set_num_threads(1)

CLASSES = ("anger", "happiness", "surprise")
SUBJECTS = ("s01", "s02", "s03", "s04")
# enough optimisation steps for the tiny model to learn the signal, still seconds on CPU
FAST = dict(epochs=6, batch=8, lr=3e-3, width=8, device="cpu", progress=False)


def _image(rng: np.random.Generator, c: int, size: int) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.uniform(0.3 * size, 0.7 * size, 2)
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size / 5) ** 2))
    img = rng.normal(128, 20, (size, size, 3))
    img[..., c] += 40 + 100 * blob
    return np.clip(img, 0, 255).astype(np.uint8)


def make_store(path, per_class: int = 3, size: int = 32, failed: tuple[int, ...] = ()) -> list[int]:
    """A raw-class SAMM-like store; returns the class index of every sample."""
    samples, labels = [], []
    for subject in SUBJECTS:
        for c, name in enumerate(CLASSES):
            for k in range(per_class):
                samples.append(
                    Sample(
                        sample_id=f"{subject}/c{c}_{k}",
                        subject=subject,
                        clip=f"c{c}_{k}",
                        onset=1,
                        apex=3,
                        offset=5,
                        emotion=name,
                        label=name,
                    )
                )
                labels.append(c)
    group = create_store(
        str(path),
        samples,
        size=size,
        attrs={
            "version": "test",
            "dataset": "samm",
            "classes": "raw",
            "class_names": list(CLASSES),
            "size": size,
        },
    )
    rng = np.random.default_rng(0)
    for i, c in enumerate(labels):
        if i in failed:
            write_sample(group, i, SampleResult(status=FAILED, error="no face"))
            continue
        images = {name: _image(rng, c, size) for name in ("trdi", "midi", "onset", "apex")}
        write_sample(
            group, i, SampleResult(status=OK, n_frames=5, onset_index=1, apex_index=3, offset_index=5, images=images)
        )
    return labels


def read_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("train") / "tiny.zarr"
    make_store(path)
    return path


@pytest.fixture(scope="module")
def run(store, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    metrics = train(store, out, **FAST)
    return out, metrics


# ---- metrics ---------------------------------------------------------------------------


def test_scores_by_hand_with_a_class_never_predicted():
    s = scores(np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 1, 1, 0, 0]), 3)
    # F1: class 0 2*1/(2+2+1), class 1 2*2/(4+1+0), class 2 (never predicted) 0
    assert s["per_class"]["f1"] == pytest.approx([0.4, 0.8, 0.0])
    assert s["per_class"]["recall"] == pytest.approx([0.5, 1.0, 0.0])
    assert s["per_class"]["precision"][2] is None
    assert s["accuracy"] == pytest.approx(0.5)
    assert s["uf1"] == pytest.approx(0.4)
    assert s["uar"] == pytest.approx(0.5)
    assert s["confusion"] == [[1, 1, 0], [0, 2, 0], [2, 0, 0]]


def test_classes_absent_from_truth_are_left_out_of_the_means():
    # class 2 absent entirely, class 3 absent from the truth but predicted once
    s = scores(np.array([0, 0, 1]), np.array([0, 3, 1]), 4)
    assert s["per_class"]["f1"][2] is None and s["per_class"]["f1"][3] is None
    assert s["per_class"]["precision"][3] == 0.0
    assert s["uf1"] == pytest.approx((2 / 3 + 1) / 2)
    assert s["uar"] == pytest.approx((0.5 + 1) / 2)


def test_chance_levels():
    chance = chance_levels(np.array([0, 0, 1, 2]), 4)
    assert chance["majority_accuracy"] == 0.5 and chance["majority_class"] == 0
    assert chance["uar"] == pytest.approx(1 / 3)


# ---- loss ----------------------------------------------------------------------------


def test_class_weights_from_training_frequencies():
    weights = class_weights(torch.tensor([0, 0, 0, 1]), 3)
    assert weights.tolist() == pytest.approx([4 / 6, 2.0, 0.0])


def test_loss_matches_torch_cross_entropy_in_the_cases_they_agree():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(7, 3, generator=gen)
    target = torch.tensor([0, 1, 2, 0, 0, 1, 2])
    ones = torch.ones(3)
    expected = torch.nn.functional.cross_entropy(logits, target, label_smoothing=0.1)
    assert classification_loss(logits, target, ones).item() == pytest.approx(expected.item(), rel=1e-6)
    w = torch.tensor([0.5, 2.0, 1.0])
    expected = torch.nn.functional.cross_entropy(logits, target, weight=w)
    assert classification_loss(logits, target, w, smoothing=0.0).item() == pytest.approx(expected.item(), rel=1e-6)
    focal = classification_loss(logits, target, ones, gamma=2.0)
    assert 0 < focal.item() < classification_loss(logits, target, ones).item()


# ---- data and split --------------------------------------------------------------------


def test_load_store_keeps_only_ok_samples_and_resizes(tmp_path):
    labels = make_store(tmp_path / "s.zarr", per_class=1, failed=(0, 4))
    data = load_store(tmp_path / "s.zarr", image_size=40)
    assert len(data.labels) == len(labels) - 2
    assert "s01/c0_0" not in data.sample_ids and "s02/c1_0" not in data.sample_ids
    trdi = data.inputs["trdi"]
    assert trdi.shape == (len(labels) - 2, 40, 40, 3) and trdi.dtype == torch.uint8
    assert data.labels.tolist() == [c for i, c in enumerate(labels) if i not in (0, 4)]
    assert data.class_names == list(CLASSES) and data.provenance["dataset"] == "samm"


def test_relabel_through_the_recipe(tmp_path):
    make_store(tmp_path / "s.zarr", per_class=1)
    data = load_store(tmp_path / "s.zarr", classes="3")
    assert data.classes == "3" and data.class_names == ["negative", "positive", "surprise"]
    # anger -> negative, happiness -> positive, surprise -> surprise
    assert data.labels.tolist() == [0, 1, 2] * len(SUBJECTS)
    with pytest.raises(UsageError):
        load_store(tmp_path / "s.zarr", classes="7")


def test_loso_test_subject_never_in_training():
    subjects = np.array(["b", "a", "c", "a", "b", "c", "c"])
    folds = loso_folds(subject_splits(subjects))
    assert [f.subject for f in folds] == ["a", "b", "c"]
    for f in folds:
        assert set(subjects[f.test]) == {f.subject}
        assert f.subject not in set(subjects[f.train])
        assert sorted([*f.train, *f.test]) == list(range(len(subjects)))
    only = loso_folds(subject_splits(subjects), only=["c"])
    assert [(f.index, f.subject) for f in only] == [(2, "c")]
    assert list(only[0].train) == list(folds[2].train)
    with pytest.raises(UsageError, match="unknown subject"):
        loso_folds(subject_splits(subjects), only=["z"])
    with pytest.raises(MepipeError, match="at least 2 subjects"):
        subject_splits(np.array(["a", "a"]))


# ---- model --------------------------------------------------------------------------


def _pair(seed: int, n: int = 4, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, size, size, generator=gen), torch.randn(n, 3, size, size, generator=gen)


def test_each_variant_builds_a_different_model():
    signatures = set()
    for variant in VARIANTS:
        model = FusionNet(3, variant, width=4)
        signatures.add(tuple((k, tuple(v.shape)) for k, v in model.state_dict().items()))
        logits, _ = model.eval()(*_pair(0))
        assert logits.shape == (4, 3)
    assert len(signatures) == len(VARIANTS)
    assert FusionNet(3, "concat", width=4).classifier.in_features == 2 * 8 * 4
    assert FusionNet(3, "trdi", width=4).midi_stream is None
    with pytest.raises(MepipeError):
        FusionNet(3, "sum")


def test_trdi_only_ignores_midi():
    torch.manual_seed(0)
    model = FusionNet(3, "trdi", width=4).eval()
    trdi, midi = _pair(1)
    _, other_midi = _pair(2)
    other_trdi, _ = _pair(3)
    with torch.no_grad():
        base = model(trdi, midi)[0]
        assert torch.equal(base, model(trdi, other_midi)[0])
        assert not torch.allclose(base, model(other_trdi, midi)[0])
        afn = FusionNet(3, "afn", width=4).eval()
        assert not torch.allclose(afn(trdi, midi)[0], afn(trdi, other_midi)[0])


def test_afn_weights_are_a_per_sample_softmax():
    torch.manual_seed(0)
    model = FusionNet(3, "afn", width=4).eval()
    with torch.no_grad():
        _, weights = model(*_pair(4, n=6))
    assert weights.shape == (6, 2)
    assert torch.allclose(weights.sum(1), torch.ones(6))
    assert (weights > 0).all()
    assert weights[:, 0].std() > 0  # sample-wise, not one global pair
    for variant in ("concat", "mean", "global", "channel", "trdi"):
        assert FusionNet(3, variant, width=4).eval()(*_pair(4))[1] is None


def test_init_weights_load_into_both_streams(tmp_path):
    torch.manual_seed(0)
    source = ResNetStream(width=4)
    state = {**source.state_dict(), "fc.weight": torch.zeros(10, 32), "extra.bias": torch.zeros(1)}
    del state["layer4.1.bn2.bias"]
    torch.save(state, tmp_path / "r18.pth")
    model = FusionNet(3, "afn", width=4)
    report = load_backbone(model, tmp_path / "r18.pth")
    assert "\n" not in report
    assert "1 missing (layer4.1.bn2.bias)" in report and "1 unexpected (extra.bias)" in report
    for stream in model.streams():
        assert torch.equal(stream.conv1.weight, source.conv1.weight)
        assert torch.equal(stream.layer3[0].downsample[0].weight, source.layer3[0].downsample[0].weight)
    with pytest.raises(MepipeError, match="--width 64"):
        load_backbone(FusionNet(3, "afn", width=8), tmp_path / "r18.pth")


# ---- augmentation -------------------------------------------------------------------


def test_standardise_undoes_the_per_image_offset_and_gain_of_min_max():
    # two uint8 renderings of one dynamic image that differ only in where min-max put
    # "no change" and how far it stretched: the network must see the same input
    rng = np.random.default_rng(0)
    di = rng.integers(0, 100, (2, 16, 16, 3))
    a = torch.tensor(di, dtype=torch.uint8)
    b = torch.tensor(2 * di + np.array([10, 50])[:, None, None, None], dtype=torch.uint8)
    x, y = standardise(a), standardise(b)
    assert x.shape == (2, 3, 16, 16) and x.dtype == torch.float32
    assert torch.allclose(x, y, atol=1e-5)
    flat = x.flatten(1)
    assert torch.allclose(flat.median(1).values, torch.zeros(2))
    assert torch.allclose(flat.pow(2).mean(1), torch.ones(2), atol=1e-5)


def test_standardise_keeps_colour_balance_and_maps_a_constant_image_to_zero():
    image = torch.full((1, 4, 4, 3), 100, dtype=torch.uint8)
    assert torch.equal(standardise(image), torch.zeros(1, 3, 4, 4))
    image[..., 0] = 140
    x = standardise(image)
    # one offset and scale for all channels: the red channel stays apart from the others
    assert (x[:, 0] > 0).all() and torch.equal(x[:, 1], x[:, 2])


def test_augmentation_applies_one_transform_to_both_images():
    trdi, midi = _pair(5, n=8)
    theta = random_affine(8, torch.Generator().manual_seed(0))
    a, b = apply_affine(theta, trdi, trdi.clone())
    assert torch.equal(a, b)
    assert not torch.allclose(a, trdi)
    warped_t, warped_m = apply_affine(theta, trdi, midi)
    assert torch.allclose(warped_t, apply_affine(theta, trdi)[0])
    assert torch.allclose(warped_m, apply_affine(theta, midi)[0])
    assert not torch.allclose(theta[0], theta[1])


def test_affine_geometry_pure_flip_is_a_mirror():
    image, _ = _pair(6, n=1)
    flip = torch.tensor([[[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    (out,) = apply_affine(flip, image)
    assert torch.allclose(out, torch.flip(image, [-1]), atol=1e-5)


# ---- full runs ----------------------------------------------------------------------


def test_run_writes_its_outputs(run):
    out, metrics = run
    for name in ("metrics.json", "predictions.csv", "confusion.png", "fusion_weights.png", "curves.png"):
        assert (out / name).stat().st_size > 0
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk["variant"] == "afn" and on_disk["class_names"] == list(CLASSES)
    assert on_disk["store"]["mepipe"]["dataset"] == "samm"
    assert on_disk["config"]["epochs"] == FAST["epochs"] and on_disk["device"] == "cpu"
    assert on_disk["samples_per_s"] > 0
    assert on_disk["chance"] == {
        "majority_accuracy": pytest.approx(1 / 3),
        "majority_class": 0,
        "uar": pytest.approx(1 / 3),
    }


def test_metrics_json_equals_metrics_recomputed_from_predictions(run):
    out, _ = run
    metrics = json.loads((out / "metrics.json").read_text())
    rows = read_csv(out / "predictions.csv")
    true = np.array([r["true"] for r in rows])
    pred = np.array([r["pred"] for r in rows])
    f1, recall = {}, {}
    for c in CLASSES:
        tp = np.sum((true == c) & (pred == c))
        fp = np.sum((true != c) & (pred == c))
        fn = np.sum((true == c) & (pred != c))
        f1[c], recall[c] = 2 * tp / (2 * tp + fp + fn), tp / np.sum(true == c)
    assert metrics["accuracy"] == pytest.approx(np.mean(true == pred))
    assert metrics["uf1"] == pytest.approx(np.mean(list(f1.values())))
    assert metrics["uar"] == pytest.approx(np.mean(list(recall.values())))
    for c in CLASSES:
        assert metrics["per_class"][c]["f1"] == pytest.approx(f1[c])
        assert metrics["per_class"][c]["recall"] == pytest.approx(recall[c])
    for fold in metrics["folds"]:
        mine = np.array([r["subject"] == fold["subject"] for r in rows])
        assert fold["accuracy"] == pytest.approx(np.mean(true[mine] == pred[mine]))
    # predicted class = the arg-max probability column
    probs = np.array([[float(r[f"prob_{c}"]) for c in CLASSES] for r in rows])
    assert [CLASSES[i] for i in probs.argmax(1)] == list(pred)
    assert np.allclose(probs.sum(1), 1, atol=1e-4)


def test_predictions_cover_each_sample_once_in_its_subjects_fold(run, store):
    out, metrics = run
    rows = read_csv(out / "predictions.csv")
    data = load_store(store)
    assert sorted(r["sample_id"] for r in rows) == sorted(data.sample_ids)
    fold_of = {f["subject"]: f["fold"] for f in metrics["folds"]}
    assert all(int(r["fold"]) == fold_of[r["subject"]] for r in rows)
    assert sorted(fold_of) == list(SUBJECTS)
    assert all(f["n_train"] == len(data.labels) - f["n_test"] for f in metrics["folds"])
    # AFN logs its sample-wise TRDI weight
    assert all(0 <= float(r["w_trdi"]) <= 1 for r in rows)


def test_learns_a_strong_signal_well_above_chance(run):
    _, metrics = run
    assert metrics["accuracy"] >= 0.75 > metrics["chance"]["majority_accuracy"] + 0.3
    assert metrics["uar"] >= 0.75


def test_same_seed_same_predictions_and_subjects_only_selects_folds(run, store, tmp_path):
    out, _ = run
    train(store, tmp_path, subjects=["s03"], **FAST)
    again = read_csv(tmp_path / "predictions.csv")
    full = [r for r in read_csv(out / "predictions.csv") if r["subject"] == "s03"]
    assert again == full


def test_several_seeds_report_each_and_their_mean(store, tmp_path):
    metrics = train(store, tmp_path, subjects=["s01", "s02"], seeds=2, **{**FAST, "epochs": 1})
    assert [s["seed"] for s in metrics["seeds"]] == [0, 1]
    accuracies = [s["accuracy"] for s in metrics["seeds"]]
    assert metrics["accuracy"] == pytest.approx(np.mean(accuracies))
    assert metrics["std"]["accuracy"] == pytest.approx(np.std(accuracies))
    rows = read_csv(tmp_path / "predictions.csv")
    by_seed = {seed: [r["prob_anger"] for r in rows if r["seed"] == seed] for seed in ("0", "1")}
    assert len(by_seed["0"]) == len(by_seed["1"]) == 2 * 3 * len(CLASSES)
    assert by_seed["0"] != by_seed["1"]


def test_cli_runs_a_variant_and_prints_the_table(store, tmp_path):
    args = [
        "train",
        "--store",
        str(store),
        "--out",
        str(tmp_path),
        "--variant",
        "global",
        "--epochs",
        "1",
        "--width",
        "8",
        "--batch",
        "8",
        "--subjects",
        "s01,s04",
        "--device",
        "cpu",
        "--image-size",
        "32",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "pooled" in result.output and "s04" in result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["variant"] == "global" and metrics["config"]["subjects"] == ["s01", "s04"]
    assert all(len(f["global_weights"]) == 2 for f in metrics["folds"])
    assert all(r["w_trdi"] == "" for r in read_csv(tmp_path / "predictions.csv"))


def test_without_torch_the_command_says_so_in_one_line(store, tmp_path):
    code = WITHOUT_TORCH + textwrap.dedent(f"""
        from mepipe.cli import main
        main(["train", "--store", {str(store)!r}, "--out", {str(tmp_path / "out")!r}])
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr == "mepipe: error: mepipe train needs PyTorch: pip install 'mepipe[train]'\n"
    assert result.stdout == ""
