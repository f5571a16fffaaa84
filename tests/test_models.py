"""The model registry, the published STSTNet and training any registered model.

STSTNet is checked against an independent functional forward pass and its published
parameter layout; its inputs against the ``mepipe export --format ststnet`` PNGs read
back with ``cv2.imread``; ``bench.ststnet`` against checkpoints whose predictions are
known by construction. Stores are tiny (test_train's, and a synthetic CASME-II built
with ``--arrays flow`` at 64 px).
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F
from click.testing import CliRunner

from mepipe.cli import cli
from mepipe.errors import UsageError
from mepipe.release.recipe import Sample
from mepipe.store import OK, SampleResult, create_store, write_sample
from mepipe.train.data import load_store
from mepipe.train.defaults import VARIANTS
from mepipe.train.models import build_model, get_model, model_names
from mepipe.train.options import TrainOptions
from mepipe.train.run import train

from .test_train import SUBJECTS, make_store

torch.set_num_threads(1)

FLOW_SETS = ("trdi", "midi", "onset", "apex", "flow")


@pytest.fixture(scope="module")
def flow_store(casme2_release, tmp_path_factory) -> str:
    """The small synthetic CASME-II built with its flow at 64 px (3 subjects x 3 clips)."""
    from mepipe.build import build

    store = str(tmp_path_factory.mktemp("models") / "flow.zarr")
    build("casme2", casme2_release, store, size=64, progress=False, workers=2, arrays=FLOW_SETS, flow="tvl1-fast")
    return store


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("models-tiny") / "tiny.zarr"
    make_store(path, per_class=2)
    return path


# ---- the registry ----------------------------------------------------------------------


def test_the_afn_variants_and_ststnet_are_registered():
    assert model_names()[: len(VARIANTS) + 1] == (*VARIANTS, "ststnet")
    for name in VARIANTS:
        assert get_model(name).arrays == ("trdi", "midi") and get_model(name).stackable
    assert get_model("ststnet").arrays == ("flow", "strain") and not get_model("ststnet").stackable
    # build_model gives the variant's own network
    assert build_model("concat", 3, width=4).classifier.in_features == 2 * 8 * 4
    assert build_model("trdi", 3, width=4).midi_stream is None


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: build_model("resnet", 3), "unknown model 'resnet'; known: afn, trdi, midi"),
        (lambda: build_model("ststnet", 3, width=8), "model 'ststnet' takes no option width; it takes none"),
        (lambda: build_model("afn", 3, depth=8), "model 'afn' takes no option depth; it takes width, folds"),
    ],
)
def test_build_model_errors_are_one_line(call, message):
    with pytest.raises(UsageError) as caught:
        call()
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


# ---- STSTNet ---------------------------------------------------------------------------


def test_ststnet_has_the_published_parameter_names_and_shapes():
    shapes = {key: tuple(value.shape) for key, value in build_model("ststnet", 3).state_dict().items()}
    expected = {"fc.weight": (3, 400), "fc.bias": (3,)}
    for i, channels in enumerate((3, 5, 8), start=1):
        expected |= {f"conv{i}.weight": (channels, 3, 3, 3), f"conv{i}.bias": (channels,)}
        for part in ("weight", "bias", "running_mean", "running_var"):
            expected[f"bn{i}.{part}"] = (channels,)
        expected[f"bn{i}.num_batches_tracked"] = ()
    assert shapes == expected


def test_ststnet_forward_equals_the_published_recipe_written_out():
    torch.manual_seed(0)
    model = build_model("ststnet", 3)
    for bn in (model.bn1, model.bn2, model.bn3):  # non-trivial running statistics
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    model.eval()
    x = torch.rand(4, 3, 28, 28) * 255
    state = model.state_dict()
    streams = []
    for i in (1, 2, 3):
        y = F.conv2d(x, state[f"conv{i}.weight"], state[f"conv{i}.bias"], padding=2).relu()
        y = (y - state[f"bn{i}.running_mean"][:, None, None]) / torch.sqrt(
            state[f"bn{i}.running_var"][:, None, None] + 1e-5
        ) * state[f"bn{i}.weight"][:, None, None] + state[f"bn{i}.bias"][:, None, None]
        streams.append(F.max_pool2d(y, 3, 3, 1))
    pooled = F.avg_pool2d(torch.cat(streams, 1), 2).reshape(4, -1)
    expected = pooled @ state["fc.weight"].T + state["fc.bias"]
    torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-5)
    # dropout 0.5 in training mode: about half of the pooled maps' units are zeroed
    model.train()
    assert not torch.equal(model(x), model(x))


def test_ststnet_inputs_are_the_exported_pngs_as_opencv_reads_them(flow_store, tmp_path):
    from mepipe.dataset.export import export

    export(flow_store, tmp_path, "ststnet", progress=False)
    data = load_store(flow_store, model="ststnet")
    images = data.inputs["image"]
    assert images.shape == (len(data.labels), 28, 28, 3) and images.dtype == torch.uint8
    for k, sample_id in enumerate(data.sample_ids):
        subject, clip = str(sample_id).split("/")
        read = cv2.imread(str(tmp_path / "STSNet_whole_norm_u_v_os" / f"{subject}_{clip} .png"))
        np.testing.assert_array_equal(images[k].numpy(), read)
    prepared = get_model("ststnet").prepare(images[:2])
    assert prepared.shape == (2, 3, 28, 28) and prepared.dtype == torch.float32
    assert float(prepared.max()) == 255.0 and float(prepared.min()) == 0.0


def test_a_store_without_flow_says_which_arrays_to_add(tiny_store):
    with pytest.raises(UsageError) as caught:
        load_store(tiny_store, model="ststnet")
    assert str(caught.value) == (
        f"model ststnet eats flow, strain; store {tiny_store} has no flow, strain: add them with "
        "mepipe build ... --arrays trdi,midi,onset,apex,flow (only the new arrays are computed)"
    )


def test_cli_trains_ststnet_on_a_positional_store(flow_store, tmp_path):
    args = ["train", flow_store, "--out", str(tmp_path), "--model", "ststnet"]
    args += ["--epochs", "2", "--batch", "4", "--device", "cpu", "--quiet", "--lr", "1e-3"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["model"] == "ststnet" and metrics["config"]["inputs"] == {"image": [28, 28, 3]}
    assert metrics["config"]["arrays"] == ["flow", "strain"] and len(metrics["folds"]) == 3
    assert metrics["n_samples"] == 9 and (tmp_path / "fusion_weights.png").stat().st_size > 0
    # the same seed, again: the same predictions (dropout draws from the seeded global RNG)
    again = CliRunner().invoke(cli, [*args[:3], str(tmp_path / "again"), *args[4:]])
    assert again.exit_code == 0, again.output
    assert (tmp_path / "again" / "predictions.csv").read_text() == (tmp_path / "predictions.csv").read_text()


def test_ststnet_cannot_train_folds_at_once(flow_store, tmp_path):
    with pytest.raises(UsageError, match="model ststnet cannot train folds side by side; use --sequential"):
        train(
            flow_store, tmp_path, model="ststnet", epochs=1, batch=4, device="cpu", folds_at_once=True, progress=False
        )


# ---- options and the command line ------------------------------------------------------


@pytest.mark.parametrize(
    "options, message",
    [
        ({"width": "64"}, "--width must be an integer of at least 1, not '64'"),
        ({"batch": 1}, "--batch must be an integer of at least 2 (BatchNorm needs two samples), not 1"),
        ({"lr": 0}, "--lr must be a positive number, not 0"),
        ({"epoch": 3}, "unknown training option(s) epoch; known: batch, classes"),
        ({"variant": "concat", "model": "ststnet"}, "--variant concat is an AFN fusion variant; it does not"),
        ({"protocol": "kfold"}, "--protocol must be one of loso, lodo, not 'kfold'"),
    ],
)
def test_bad_options_are_one_line(options, message):
    with pytest.raises(UsageError) as caught:
        TrainOptions.of(**options)
    assert str(caught.value).startswith(message)


def test_variant_keeps_its_meaning_as_a_model():
    assert TrainOptions.of(variant="concat") == TrainOptions(model="concat")
    assert TrainOptions.of(variant="mean", model="afn").model == "mean"
    assert TrainOptions().model == "afn"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--model", "ststnet", "--variant", "concat"], "--variant names AFN fusion variants; it does not apply"),
        (["--model", "nosuch"], "unknown model 'nosuch'; known: afn, trdi"),
        (["--store", "elsewhere.zarr"], "two stores given:"),
    ],
)
def test_cli_model_and_store_errors_are_one_line(tiny_store, tmp_path, extra, message):
    result = CliRunner().invoke(cli, ["train", str(tiny_store), "--out", str(tmp_path), *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_every_train_option_has_help():
    from mepipe.cli.train import train as command

    assert all(option.help for option in command.params if isinstance(option, __import__("click").Option))


def test_a_store_without_labels_says_so_not_zero_subjects(tmp_path):
    samples = [
        Sample(sample_id=f"{s}/c{k}", subject=s, clip=f"c{k}", onset=1, apex=3, offset=5, emotion="", label="")
        for s in SUBJECTS[:2]
        for k in range(3)
    ]
    attrs = {"version": "t", "dataset": "samm", "classes": "raw", "class_names": [], "size": 32}
    group = create_store(str(tmp_path / "s.zarr"), samples, size=32, attrs=attrs)
    image = np.zeros((32, 32, 3), np.uint8)
    for i in range(len(samples)):
        images = dict.fromkeys(("trdi", "midi", "onset", "apex"), image)
        write_sample(
            group, i, SampleResult(status=OK, n_frames=5, onset_index=1, apex_index=3, offset_index=5, images=images)
        )
    result = CliRunner().invoke(cli, ["train", str(tmp_path / "s.zarr"), "--out", str(tmp_path / "run")])
    assert result.exit_code != 0
    assert result.output.strip() == (
        f"mepipe: error: store {tmp_path / 's.zarr'} has no sample to train on: its 6 built samples "
        "(2 subjects) have no label in class set raw (no classes): the store lacks labels (the sheet's emotion column)"
    )


# ---- the published check ---------------------------------------------------------------


def test_published_check_pools_each_subjects_own_checkpoint(tmp_path):
    """Two subjects whose checkpoints answer one fixed class each (zero weights, one bias):
    the pooled scores are known by hand."""
    from bench.ststnet import check

    rng = np.random.default_rng(0)
    truth = {"sA": [0, 0, 1], "sB": [2, 2, 0, 1]}
    answer = {"sA": 0, "sB": 2}
    for subject, labels in truth.items():
        for k, label in enumerate(labels):
            folder = tmp_path / "folds" / subject / "u_test" / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{subject}_{k} .png"), rng.integers(0, 256, (28, 28, 3), dtype=np.uint8))
        model = build_model("ststnet", 3)
        with torch.no_grad():
            model.fc.weight.zero_()
            model.fc.bias.copy_(torch.nn.functional.one_hot(torch.tensor(answer[subject]), 3).float())
        (tmp_path / "weights").mkdir(exist_ok=True)
        torch.save(model.state_dict(), tmp_path / "weights" / f"{subject}.pth")
    result = check(tmp_path / "weights", tmp_path / "folds")
    # pooled: true 0 0 1 2 2 0 1, predicted 0 0 0 2 2 2 2
    # class 0: tp 2, fp 1, fn 1 -> f1 2/3, recall 2/3; class 1: 0, 0; class 2: tp 2, fp 2 -> f1 2/3, recall 1
    assert result["n"] == 7 and result["subjects"] == 2
    assert result["uf1"] == pytest.approx((2 / 3 + 0 + 2 / 3) / 3)
    assert result["uar"] == pytest.approx((2 / 3 + 0 + 1) / 3)
