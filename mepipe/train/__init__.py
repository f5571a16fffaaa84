"""The training stage (needs the ``train`` extra: torch).

Leave-one-subject-out training of the two-stream Adaptive Fusion Network on a store
written by ``mepipe build`` (docs/method.md sections 4 and 5). Modules, one job each:
``defaults`` (names and defaults, without torch), ``data`` (store -> memory, LOSO split),
``model`` (streams and fusion variants), ``augment`` (input standardisation, paired
augmentation), ``loop`` (one fold), ``together`` (several folds at once as one grouped
network), ``metrics`` (pure NumPy scores), ``results`` (predictions.csv, metrics, table),
``plots`` (figures), ``run`` (the :func:`train` entry point) and ``sweep`` (variants x
seeds, here or on Dask workers).

Importing this package does not import PyTorch (the CLI reads ``defaults`` without
it); ``mepipe.train.train`` imports it on first access.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "train":
        from .run import train

        return train
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
