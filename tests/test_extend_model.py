"""Adding a model: a third-party network registered with one call and trained by mepipe.

The worked example that docs/extending.md cites. A lab's package defines its network
and one :class:`~mepipe.train.models.ModelSpec` naming the store arrays it eats, then
calls :func:`~mepipe.train.models.register_model`; nothing in mepipe changes. Here the
model is a small CNN on the store's aligned ``apex`` frame alone (an array no built-in
model eats), trained through the Python API and ``mepipe train --model`` with the same
leave-one-subject-out protocol and outputs as the AFN.
"""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner
from torch import nn

from mepipe.cli import cli
from mepipe.errors import UsageError
from mepipe.train import train
from mepipe.train.augment import standardise
from mepipe.train.models import ModelSpec, build_model, register_model

from .test_train import CLASSES, SUBJECTS, make_store

torch.set_num_threads(1)


class ApexNet(nn.Module):
    """Two convolutions and a linear layer on the apex frame."""

    def __init__(self, n_classes: int, width: int = 8) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(width, n_classes)

    def forward(self, apex: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(apex))


# the one call: a name, how to build it, the arrays it eats and how its inputs are prepared
register_model(
    ModelSpec(
        name="apexnet",
        build=ApexNet,
        arrays=("apex",),
        inputs=("apex",),
        prepare=standardise,
        options=("width",),
        summary="a small CNN on the aligned apex frame",
    )
)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("extend") / "tiny.zarr"
    make_store(path)
    return path


def test_a_registered_model_builds_by_name():
    model = build_model("apexnet", 3, width=4)
    assert isinstance(model, ApexNet) and model.head.in_features == 4
    with pytest.raises(UsageError, match="a model named 'apexnet' is already registered"):
        register_model(
            ModelSpec(name="apexnet", build=ApexNet, arrays=("apex",), inputs=("apex",), prepare=standardise)
        )


def test_a_registered_model_trains_with_the_same_protocol_and_outputs(store, tmp_path):
    metrics = train(store, tmp_path, model="apexnet", epochs=6, batch=8, lr=3e-3, width=8, device="cpu", progress=False)
    for name in ("metrics.json", "predictions.csv", "confusion.png", "curves.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert metrics["model"] == "apexnet" and metrics["config"]["arrays"] == ["apex"]
    assert [f["subject"] for f in metrics["folds"]] == list(SUBJECTS)
    assert metrics["n_samples"] == len(SUBJECTS) * len(CLASSES) * 3
    # the apex frames carry the class signal: learnt well above chance (1/3)
    assert metrics["uar"] >= 0.75


def test_the_command_line_trains_it_too(store, tmp_path):
    args = ["train", str(store), "--out", str(tmp_path), "--model", "apexnet", "--epochs", "1"]
    args += ["--batch", "8", "--width", "4", "--subjects", "s02", "--device", "cpu", "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "metrics.json").read_text())["model"] == "apexnet"
