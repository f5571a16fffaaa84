"""The training stage (needs the ``train`` extra: torch).

Leave-one-subject-out training of any registered model on a store written by ``mepipe
build``: the two-stream Adaptive Fusion Network and its ablations (docs/method.md
sections 4 and 5), the published STSTNet, or a model another package registers
(docs/models.md). Modules, one job each: ``options`` (:class:`TrainOptions`, a run's
options), ``defaults`` (names and defaults, without torch), ``models`` (the registry: :func:`build_model`, :func:`register_model`),
``model`` (the AFN's streams and fusion variants), ``data`` (store -> a model's inputs in
memory, LOSO split), ``augment`` (input standardisation, paired augmentation), ``loop``
(one fold), ``together`` (folds side by side), ``metrics`` (pure NumPy scores),
``results`` (predictions.csv, metrics, table), ``plots`` (figures), ``run`` (the
:func:`train` entry point) and ``sweep`` (several models and seeds, here or on Dask).

Importing this package does not import PyTorch (the CLI reads ``defaults`` and
``options`` without it); ``mepipe.train.train``, ``build_model``, ``register_model``,
``model_names`` and ``ModelSpec`` import it on first access.
"""

from typing import Any

from .options import TrainOptions

#: name -> module of the names imported (with PyTorch) on first access
_LAZY = {
    "train": "run",
    "build_model": "models",
    "register_model": "models",
    "model_names": "models",
    "ModelSpec": "models",
}

__all__ = ["TrainOptions", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
