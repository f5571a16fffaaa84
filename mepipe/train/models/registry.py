"""The registry of models: :class:`ModelSpec` entries by name (see :mod:`mepipe.train.models`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from mepipe.errors import UsageError
from mepipe.release.plugins import MODELS, load_plugins

#: makes a model's input images from a batch of store arrays: {array: (N, ...)} ->
#: {input: uint8 (N, H, W, C)}, the inputs in the order the network takes them
MakeInputs = Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]


def same_arrays(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The store arrays themselves as the inputs (images the store holds, e.g. trdi, midi)."""
    return dict(arrays)


@dataclass(frozen=True)
class ModelSpec:
    """One registered model: how to build it and how the trainer feeds it.

    Attributes
    ----------
    name : str
        What ``--model`` calls it.
    task : str
        What it is for: ``recognition`` (class logits over a clip store's samples, what
        ``mepipe train`` trains) or ``spotting`` (one score per window of a spotting
        store, what ``mepipe spot --spotter`` trains: ``build(outputs)``, ``arrays`` the
        spotting store's per-frame arrays, ``prepare`` takes their float values). The
        registry's functions answer for one task at a time, recognition by default.
    build : callable
        ``build(n_classes, **options)`` -> ``torch.nn.Module``. With ``fold_dropout`` the
        module's ``forward(*inputs, keep, mask)`` returns ``(logits, weights or None)``;
        otherwise ``forward(*inputs)`` returns the logits.
    arrays : tuple of str
        The store arrays it eats (``mepipe build --arrays`` must have written them).
    inputs : tuple of str
        Names of its input images, in the order ``forward`` takes them.
    make_inputs : callable
        Store arrays of a batch of samples -> the uint8 ``(N, H, W, C)`` input images, as
        kept in memory for a run (default: the arrays themselves).
    fields : tuple of str
        Per-sample fields read beside them where the store holds them (the alignment's
        ``landmarks``, ``transform``, ``frame_size``), for ``make_inputs``.
    prepare : callable
        uint8 ``(B, H, W, C)`` images -> the float ``(B, C, H, W)`` tensor the network takes.
    summary : str
        One line for ``--help`` and docs.
    options : tuple of str
        The run options ``build`` takes (of ``width``).
    size : int or None
        The one input side the network takes (``--image-size`` must be it or absent);
        ``None``: any side of at least ``min_size`` (``--image-size`` resizes on load).
    min_size : int
        The smallest input side the network takes.
    augment : bool
        Train with the paired random flip, rotation and crop (:mod:`mepipe.train.augment`).
    fold_dropout : bool
        The network takes dropout's keep mask (of ``model.features`` per sample) from the
        trainer, drawn from the fold's own generator, and a BatchNorm fold mask.
    stackable : bool
        Its class has ``stack`` / ``unstack`` (K folds as one grouped network), so runs
        may train folds at once (:mod:`mepipe.train.together`).
    backbone : tuple of str
        Parameter-name prefixes trained at ``--lr``; the others at 10x (``("",)``: all at ``--lr``).
    load_init : callable, optional
        ``load_init(model, path)`` -> one-line report: ``--init-weights`` for this model.
    """

    name: str
    build: Callable[..., nn.Module]
    arrays: tuple[str, ...]
    inputs: tuple[str, ...]
    prepare: Callable[[torch.Tensor], torch.Tensor]
    summary: str = ""
    make_inputs: MakeInputs = same_arrays
    fields: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    size: int | None = None
    min_size: int = 1
    augment: bool = True
    fold_dropout: bool = False
    stackable: bool = False
    backbone: tuple[str, ...] = ("",)
    load_init: Callable[[nn.Module, str], str] | None = None
    task: str = "recognition"

    def forward(
        self, model: nn.Module, inputs: tuple[torch.Tensor, ...], keep: torch.Tensor | None = None, mask: Any = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(logits, per-sample fusion weights or None)`` of ``model`` on prepared ``inputs``."""
        if self.fold_dropout:
            logits, weights = model(*inputs, keep, mask)
            return logits, weights
        return model(*inputs), None


#: what a model can be for (:attr:`ModelSpec.task`)
TASKS = ("recognition", "spotting")
#: where each task's models are used, for messages
_USED_BY = {"recognition": "mepipe train", "spotting": "mepipe spot --spotter"}

_MODELS: dict[str, ModelSpec] = {}


def _models() -> dict[str, ModelSpec]:
    """The registered models, plug-ins' included (:mod:`mepipe.release.plugins`)."""
    load_plugins(MODELS)
    return _MODELS


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add ``spec`` to the registry (a name already taken is an error); returns it."""
    if spec.task not in TASKS:
        raise UsageError(f"model {spec.name!r}: task {spec.task!r} is not one of {', '.join(TASKS)}")
    if spec.name in _MODELS:
        raise UsageError(f"a model named {spec.name!r} is already registered")
    if not spec.arrays or len(spec.inputs) < 1:
        raise UsageError(f"model {spec.name!r}: name the store arrays it eats and its inputs")
    _MODELS[spec.name] = spec
    return spec


def model_names(task: str = "recognition") -> tuple[str, ...]:
    """The names of the registered models for ``task`` (plug-ins' included), in registration order."""
    return tuple(name for name, spec in _models().items() if spec.task == task)


def get_model(name: str, task: str = "recognition") -> ModelSpec:
    """The registry entry ``name`` for ``task``; a one-line error naming the known ones otherwise."""
    spec = _models().get(name)
    if spec is None or spec.task != task:
        where = f" (a {spec.task} model, for {_USED_BY[spec.task]})" if spec is not None else ""
        raise UsageError(f"unknown model {name!r}{where}; known: {', '.join(model_names(task)) or 'none'}")
    return spec


def build_model(name: str, n_classes: int, task: str = "recognition", **options: Any) -> nn.Module:
    """A freshly initialised network of the registered model ``name``.

    Parameters
    ----------
    name : str
        A registered model (:func:`model_names`).
    n_classes : int
        Classes (a spotting model: outputs, 1 for a score).
    task : str
        The model's :attr:`ModelSpec.task`.
    **options
        What the entry's ``build`` takes (``width`` for the fusion models, ``folds`` for
        stackable ones); others are a one-line error.
    """
    spec = get_model(name, task)
    allowed = (*spec.options, "folds") if spec.stackable else spec.options
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise UsageError(
            f"model {name!r} takes no option {', '.join(unknown)}; it takes {', '.join(allowed) or 'none'}"
        )
    return spec.build(n_classes, **options)
