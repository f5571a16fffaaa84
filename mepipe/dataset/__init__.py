"""A store as any trainer wants it: an xarray Dataset, LOSO/LODO splits, a PyTorch Dataset.

::

    from mepipe.dataset import open_dataset, loso_splits, lodo_splits, split_manifest, TorchDataset

    ds = open_dataset("casme2.zarr", classes="5")       # lazy, indexed by sample id
    for subject, train, test in loso_splits("casme2.zarr", classes="5"):
        train_set = TorchDataset("casme2.zarr", train, classes="5")
    for member, train, test in lodo_splits("megc2019.zarr"):   # composite stores only
        ...
    split_manifest("megc2019.zarr", "lodo", out="folds.csv")  # the same folds, as CSV

All three select the same samples in the same order (status ok, label inside the class
set, store order), so the integer positions :func:`loso_splits` yields index the
``sample`` axis of :func:`open_dataset` and :class:`TorchDataset` alike. ``mepipe train``
uses the same folds.

A spotting store (long videos) reads the same way: :func:`open_spotting` (lazy, indexed
by video), the same :func:`loso_splits` over its videos, :class:`SpotWindows` (SOFTNet's
windows) as a PyTorch Dataset; its face stream by :func:`face_windows` (sliding windows
and their labels, torch-free) and :class:`FaceWindows` (those windows as ``(C, T, H, W)``
clips for video backbones, docs/face-streams.md).

:class:`TorchDataset`, :class:`SpotWindows` and :class:`FaceWindows` need PyTorch (the ``train`` extra); this
module does not.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import zarr
from zarr.core.metadata import ArrayV3Metadata

from mepipe.dataset.select import select_samples
from mepipe.dataset.splits import manifest_rows, protocol_splits, subject_splits, write_manifest
from mepipe.dataset.spotting import open_spotting, window_labels
from mepipe.dataset.windows import face_windows
from mepipe.errors import require
from mepipe.store import array, image_names, open_store
from mepipe.store.kinds import store_kind
from mepipe.store.schema import AU_MULTIHOT
from mepipe.store.spotting import built_videos, open_spotting_store, spotting_record

if TYPE_CHECKING:
    import xarray


def _dims(name: str, stored: zarr.Array) -> tuple[str, ...]:
    # arrays without (distinct) dimension names get ``<name>_<axis>``: xarray needs names
    metadata = stored.metadata
    names = tuple(metadata.dimension_names or ()) if isinstance(metadata, ArrayV3Metadata) else ()
    named = tuple(n for n in names if n is not None)
    if len(named) == stored.ndim and len(set(named)) == stored.ndim:
        return named
    return ("sample", *(f"{name}_{axis}" for axis in range(1, stored.ndim)))


def open_dataset(store: str, classes: str | None = None, ok_only: bool = True) -> xarray.Dataset:
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
        coordinate (the action units as ``action_units``, ``au``, ``au_tokens`` and the
        ``(sample, au_unit)`` targets ``au_multihot``, with ``au_unit`` the AU numbers);
        ``attrs``: ``mepipe`` (provenance), ``classes`` and ``class_names``.

    Examples
    --------
    A tiny store of two subjects written by hand (``mepipe build`` writes real ones), read
    as a Dataset and split leave-one-subject-out:

    >>> import shutil, tempfile
    >>> from mepipe.release.recipe import Sample
    >>> from mepipe.store import OK, SampleResult, create_store, write_sample
    >>> emotions = ["happiness", "disgust", "happiness", "surprise"]
    >>> samples = [
    ...     Sample(f"sub0{i % 2 + 1}/EP0{i}", f"sub0{i % 2 + 1}", f"EP0{i}", 1, 2, 3, e, e)
    ...     for i, e in enumerate(emotions)
    ... ]
    >>> work = tempfile.mkdtemp()
    >>> attrs = {"dataset": "casme2", "classes": "raw", "class_names": ["disgust", "happiness", "surprise"]}
    >>> group = create_store(f"{work}/tiny.zarr", samples, size=8, attrs=attrs)
    >>> for i in range(4):
    ...     images = {n: np.full((8, 8, 3), 60 * i, np.uint8) for n in ("trdi", "midi", "onset", "apex")}
    ...     result = SampleResult(status=OK, n_frames=3, onset_index=1, apex_index=2, offset_index=3, images=images)
    ...     write_sample(group, i, result)
    >>> ds = open_dataset(f"{work}/tiny.zarr")
    >>> ds["trdi"].dims, ds["trdi"].shape
    (('sample', 'y', 'x', 'channel'), (4, 8, 8, 3))
    >>> ds["subject"].values.tolist(), ds["label"].values.tolist()
    (['sub01', 'sub02', 'sub01', 'sub02'], ['happiness', 'disgust', 'happiness', 'surprise'])
    >>> int(ds["trdi"].sel(sample="sub02/EP03")[0, 0, 0])
    180
    >>> [(subject, test.tolist()) for subject, train, test in loso_splits(f"{work}/tiny.zarr")]
    [('sub01', [0, 2]), ('sub02', [1, 3])]
    >>> shutil.rmtree(work)
    """
    import dask.array
    import xarray

    group = open_store(str(store))
    selection = select_samples(group, classes, ok_only)
    rows = selection.rows
    variables: dict[str, tuple[tuple[str, ...], Any]] = {}
    for name in image_names(group):
        stored = array(group, name)
        lazy = dask.array.from_zarr(stored, chunks=stored.shards or stored.chunks, inline_array=True)
        variables[name] = (_dims(name, stored), lazy if len(rows) == stored.shape[0] else lazy[rows])
    coords: dict[str, Any] = {"sample": selection.fields["sample_id"]}
    first = ("subject", "clip", "emotion", "label", "status")  # the ones people look for, in front
    rest = sorted(set(selection.fields) - {*first, "sample_id"})
    for name in [*first, *rest]:
        values = selection.labels if name == "label" else selection.fields[name]
        coords[name] = (_dims(name, array(group, name)), values)
    if AU_MULTIHOT in selection.fields:
        coords["au_unit"] = ("au_unit", np.array(selection.provenance.get("au_vocabulary", []), dtype=np.int64))
    return xarray.Dataset(
        variables,
        coords=coords,
        attrs={
            "mepipe": selection.provenance,
            "classes": selection.classes,
            "class_names": list(selection.class_names),
        },
    )


__all__ = [
    "open_dataset",
    "open_spotting",
    "window_labels",
    "subject_splits",
    "loso_splits",
    "lodo_splits",
    "protocol_folds",
    "split_manifest",
    "TorchDataset",
    "SpotWindows",
    "FaceWindows",
    "face_windows",
]


def loso_splits(store: str, classes: str | None = None) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Leave-one-subject-out folds of a store, the ones ``mepipe train`` runs.

    Yields
    ------
    subject : str
        The fold's test subject (folds come in sorted subject order).
    train_index, test_index : numpy.ndarray of int
        Positions along the ``sample`` axis of ``open_dataset(store, classes)`` (and of
        ``TorchDataset(store, classes=classes)``); of a spotting store, along the ``video``
        axis of :func:`open_spotting` (every video of a subject in its test fold, those
        with no expression too: scoring only videos with one inflates results, SOFTNet#3).
    """
    yield from protocol_folds(store, "loso", classes)


def lodo_splits(store: str, classes: str | None = None) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Leave-one-dataset-out folds of a composite store (MEGC 2019): one per member dataset.

    Yields
    ------
    dataset : str
        The fold's held-out member (``casme2``, ``samm``, ``smic``), in the composite's order.
    train_index, test_index : numpy.ndarray of int
        Positions as in :func:`loso_splits`.
    """
    yield from protocol_folds(store, "lodo", classes)


def _split_columns(store: str, classes: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """The names, subjects and dataset the folds of a store are made of: its selected
    samples (a clip store), or its built videos (a spotting store, ``classes`` unused)."""
    if store_kind(store) == "spotting":
        # the videos open_spotting serves, in its order, read from their groups' records alone
        root = open_spotting_store(store)
        record = spotting_record(root)
        built = built_videos(root, record)
        names = np.array([name for name, _ in built], dtype=str)
        subjects = np.array([str(video.attrs["subject"]) for _, video in built], dtype=str)
        return names, subjects, record.dataset
    selection = select_samples(open_store(str(store)), classes)
    fields = selection.fields
    return fields["sample_id"], fields["subject"], str(selection.provenance.get("dataset", ""))


def protocol_folds(store: str, protocol: str, classes: str | None = None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The folds of ``protocol`` (``loso`` or ``lodo``) over a store's selected samples, or
    over a spotting store's videos (positions along :func:`open_spotting`'s ``video``)."""
    _, subjects, dataset = _split_columns(str(store), classes)
    return protocol_splits(subjects, dataset, protocol)


def split_manifest(
    store: str, protocol: str = "loso", classes: str | None = None, out: str | Path | None = None
) -> list[dict]:
    """The folds of ``protocol`` as rows ``sample_id, fold, held_out, split`` (``train`` or
    ``test``), one per fold and sample; written as CSV to ``out`` when given. Another trainer
    reading it trains and tests on exactly the samples ``mepipe train --protocol`` does."""
    names, subjects, dataset = _split_columns(str(store), classes)
    rows = manifest_rows(names, protocol_splits(subjects, dataset, protocol))
    if out is not None:
        write_manifest(rows, out)
    return rows


def __getattr__(name: str) -> Any:
    # TorchDataset subclasses torch's Dataset: defined where torch is imported, on demand
    if name in ("TorchDataset", "SpotWindows", "FaceWindows"):
        require("torch", "PyTorch", f"mepipe.dataset.{name}", "train")
        from mepipe.dataset import torch_view

        return getattr(torch_view, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
