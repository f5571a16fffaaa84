"""The options of a training run, in one parameter object (no PyTorch needed).

:class:`TrainOptions` carries every option ``mepipe train`` takes besides its store, run
folder, seeds and outputs, checks them on creation (one-line errors) and is what
:func:`mepipe.train.train`, :func:`mepipe.train.sweep.sweep`, the fold loops and the CLI
pass around.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from mepipe.errors import UsageError

from .defaults import DEFAULT_EPOCHS, DEFAULT_MODEL, VARIANTS

#: protocols (mepipe.dataset.splits.PROTOCOLS, repeated here so that this module stays light)
_PROTOCOLS = ("loso", "lodo")


def _whole(value: object) -> bool:
    # a notebook may pass "64" or 64.0 where the CLI's types would not let it
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class TrainOptions:
    """How a leave-one-subject-out run trains (docs/training.md).

    Attributes
    ----------
    model : str
        A registered model (:func:`mepipe.train.models.model_names`): ``afn`` (default),
        its ablations, ``ststnet`` or one registered by another package.
    classes : str, optional
        Class set (``raw``, ``5``, ``3``, ``megc2019``, ...); default: the store's own.
    epochs, batch, lr : int, int, float
        Fixed epoch count, batch size and backbone learning rate (the head uses 10x).
    device : str
        ``auto`` (CUDA if available), ``cpu`` or ``cuda``.
    init_weights : str, optional
        Local torchvision-style ResNet-18 state dict loaded into both streams (AFN family).
    subjects : tuple of str, optional
        Run only the folds that test these subjects (training sets are unchanged).
    image_size : int, optional
        Resize images to this side on load (models of any input size).
    width : int
        Base channels of each ResNet stream (AFN family; 64 = ResNet-18).
    focal : bool
        Focal loss (gamma = 2) on top of weighted, smoothed cross-entropy.
    folds_at_once : bool, optional
        Train the folds side by side as one grouped network; default: on CUDA, for
        models that stack (:mod:`mepipe.train.together`).
    fold_group : int, optional
        At most this many (seed, fold) pairs side by side; default: one seed's folds.
    protocol : str
        ``loso`` (one fold per subject) or ``lodo`` (one fold per member dataset).
    """

    model: str = DEFAULT_MODEL
    classes: str | None = None
    epochs: int = DEFAULT_EPOCHS
    batch: int = 32
    lr: float = 1e-4
    device: str = "auto"
    init_weights: str | None = None
    subjects: tuple[str, ...] | None = None
    image_size: int | None = None
    width: int = 64
    focal: bool = False
    folds_at_once: bool | None = None
    fold_group: int | None = None
    protocol: str = "loso"

    def __post_init__(self) -> None:
        # accept what a notebook or the CLI naturally gives: a list of subjects, a Path
        if self.subjects is not None:
            object.__setattr__(self, "subjects", tuple(self.subjects) or None)
        if self.init_weights is not None:
            object.__setattr__(self, "init_weights", str(self.init_weights) or None)
        self._check()

    def _check(self) -> None:
        if self.protocol not in _PROTOCOLS:
            raise UsageError(f"--protocol must be one of {', '.join(_PROTOCOLS)}, not {self.protocol!r}")
        if self.fold_group is not None and self.fold_group < 1:
            raise UsageError(f"--fold-group must be at least 1, not {self.fold_group}")
        for name, least in (("epochs", 1), ("width", 1), ("batch", 2)):
            value = getattr(self, name)
            if not _whole(value) or value < least:
                why = " (BatchNorm needs two samples)" if name == "batch" else ""
                raise UsageError(f"--{name} must be an integer of at least {least}{why}, not {value!r}")
        lr: object = self.lr
        if not isinstance(lr, (int, float)) or isinstance(lr, bool) or lr <= 0:
            raise UsageError(f"--lr must be a positive number, not {self.lr!r}")
        if self.image_size is not None and (not _whole(self.image_size) or self.image_size < 1):
            raise UsageError(f"--image-size must be a positive integer, not {self.image_size!r}")
        if self.init_weights is not None and not Path(self.init_weights).is_file():
            raise UsageError(f"--init-weights {self.init_weights} is not a file")

    @classmethod
    def of(cls, variant: str | None = None, **options: Any) -> TrainOptions:
        """Options from keywords: the fields, plus ``variant`` (the older name of an AFN-family
        ``model``: ``variant="concat"`` is ``model="concat"``); a misspelt keyword is one line."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise UsageError(f"unknown training option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        if variant is not None:
            model = options.get("model")
            if model not in (None, DEFAULT_MODEL, variant):
                raise UsageError(f"--variant {variant} is an AFN fusion variant; it does not apply to --model {model}")
            if variant not in VARIANTS:
                raise UsageError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
            options["model"] = variant
        # None is every optional field's default: a caller passing it on means "the default"
        return cls(**{k: v for k, v in options.items() if v is not None})
