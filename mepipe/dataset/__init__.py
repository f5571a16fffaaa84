"""A store as any trainer wants it: an xarray Dataset, LOSO splits, a PyTorch Dataset.

::

    from mepipe.dataset import open_dataset, loso_splits, TorchDataset

    ds = open_dataset("casme2.zarr", classes="5")       # lazy, indexed by sample id
    for subject, train, test in loso_splits("casme2.zarr", classes="5"):
        train_set = TorchDataset("casme2.zarr", train, classes="5")

All three select the same samples in the same order (status ok, label inside the class
set, store order), so the integer positions :func:`loso_splits` yields index the
``sample`` axis of :func:`open_dataset` and :class:`TorchDataset` alike. ``mepipe train``
uses the same folds.

:class:`TorchDataset` needs PyTorch (the ``train`` extra); this module does not.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from mepipe.dataset.select import select_samples
from mepipe.errors import MepipeError, require
from mepipe.store import image_names, open_store


def _dims(name: str, array) -> tuple[str, ...]:
    # arrays without (distinct) dimension names get ``<name>_<axis>``: xarray needs names
    names = tuple(array.metadata.dimension_names or ())
    if len(names) == array.ndim and None not in names and len(set(names)) == array.ndim:
        return names
    return ("sample", *(f"{name}_{axis}" for axis in range(1, array.ndim)))


def open_dataset(store: str, classes: str | None = None, ok_only: bool = True):
    """The store as a lazy :class:`xarray.Dataset`.

    Parameters
    ----------
    store : str
        Path or URL of a store written by ``mepipe build``.
    classes : str, optional
        Class set (see :func:`select_samples`); default: the store's own.
    ok_only : bool
        Keep only the samples that were built (status ok).

    Returns
    -------
    xarray.Dataset
        The image arrays (``trdi``, ``midi``, ``onset``, ``apex``, and the raw ones when
        kept) as dask-backed variables over ``(sample, y, x, channel)``, and those
        ``--arrays`` added (``docs/arrays.md``): ``flow`` ``(sample, y, x, component)``,
        ``strain`` ``(sample, y, x)``, ``sequence`` ``(sample, t, y, x, channel)``,
        ``landmarks_aligned`` ``(sample, landmark, xy)``, ...; ``sample``
        indexed by the sample id; every other per-sample field (``subject``, ``clip``,
        ``emotion``, ``label`` under ``classes``, ``status``, frame indices, ...) as a
        coordinate; ``attrs``: ``mepipe`` (provenance), ``classes`` and ``class_names``.
    """
    import dask.array
    import xarray

    group = open_store(str(store))
    selection = select_samples(group, classes, ok_only)
    rows = selection.rows
    variables = {}
    for name in image_names(group):
        array = group[name]
        lazy = dask.array.from_zarr(array, chunks=array.shards or array.chunks, inline_array=True)
        variables[name] = (_dims(name, array), lazy if len(rows) == array.shape[0] else lazy[rows])
    coords = {"sample": selection.fields["sample_id"]}
    first = ("subject", "clip", "emotion", "label", "status")  # the ones people look for, in front
    rest = sorted(set(selection.fields) - {*first, "sample_id"})
    for name in [*first, *rest]:
        values = selection.labels if name == "label" else selection.fields[name]
        coords[name] = (_dims(name, group[name]), values)
    return xarray.Dataset(
        variables,
        coords=coords,
        attrs={
            "mepipe": selection.provenance,
            "classes": selection.classes,
            "class_names": list(selection.class_names),
        },
    )


def subject_splits(subjects: np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Leave-one-subject-out: ``(subject, train positions, test positions)`` per subject,
    in sorted subject order."""
    subjects = np.asarray(subjects).astype(str)
    everyone = sorted(set(subjects.tolist()))
    if len(everyone) < 2:
        raise MepipeError(f"leave-one-subject-out needs at least 2 subjects; the store has {len(everyone)}")
    return [(s, np.flatnonzero(subjects != s), np.flatnonzero(subjects == s)) for s in everyone]


def loso_splits(store: str, classes: str | None = None) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Leave-one-subject-out folds of a store, the ones ``mepipe train`` runs.

    Yields
    ------
    subject : str
        The fold's test subject (folds come in sorted subject order).
    train_index, test_index : numpy.ndarray of int
        Positions along the ``sample`` axis of ``open_dataset(store, classes)`` (and of
        ``TorchDataset(store, classes=classes)``).
    """
    selection = select_samples(open_store(str(store)), classes)
    yield from subject_splits(selection.fields["subject"])


def __getattr__(name: str):
    # TorchDataset subclasses torch's Dataset: defined where torch is imported, on demand
    if name == "TorchDataset":
        require("torch", "PyTorch", "mepipe.dataset.TorchDataset", "train")
        from mepipe.dataset.torch_view import TorchDataset

        return TorchDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
