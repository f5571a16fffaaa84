"""The Adaptive Fusion Network and its ablations as registry entries.

Each ``--variant`` of :class:`~mepipe.train.model.FusionNet` is a model of its own name
(``afn``, ``trdi``, ``midi``, ``concat``, ``mean``, ``global``, ``channel``): all eat the
store's ``trdi`` and ``midi``, standardised per image and augmented in pairs.
"""

from __future__ import annotations

from functools import partial

from torch import nn

from ..augment import standardise
from ..defaults import VARIANTS
from ..model import FusionNet, load_backbone
from .registry import ModelSpec, register_model

SUMMARIES = {
    "afn": "Adaptive Fusion Network: TRDI and MIDI streams, sample-wise softmax fusion",
    "trdi": "AFN ablation: the TRDI stream alone",
    "midi": "AFN ablation: the MIDI stream alone",
    "concat": "AFN ablation: the two streams' features concatenated",
    "mean": "AFN ablation: the two streams' features averaged",
    "global": "AFN ablation: two learned global fusion weights",
    "channel": "AFN ablation: a per-channel sigmoid gate",
}


def _build(n_classes: int, variant: str, width: int = 64, folds: int = 1) -> nn.Module:
    return FusionNet(n_classes, variant, width, folds)


def _load_init(model: nn.Module, path: str) -> str:
    if not isinstance(model, FusionNet):
        raise TypeError(f"expected a FusionNet, got {type(model).__name__}")
    return load_backbone(model, path)


for _variant in VARIANTS:
    register_model(
        ModelSpec(
            name=_variant,
            build=partial(_build, variant=_variant),
            arrays=("trdi", "midi"),
            inputs=("trdi", "midi"),
            prepare=standardise,
            summary=SUMMARIES[_variant],
            options=("width",),
            min_size=32,  # five stride-2 stages
            fold_dropout=True,
            stackable=True,
            backbone=("trdi_stream.", "midi_stream."),
            load_init=_load_init,
        )
    )
