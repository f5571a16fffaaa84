"""A mepipe store, loaded into memory, and its leave-one-subject-out split.

The whole usable part of the store (status == 1, label inside the class set) is read
once per run into uint8 tensors and batches are indexed from memory: this is small
(N x 2 x S x S x 3 bytes: 255 samples at 224 px are 77 MB) and every epoch then costs no
I/O. Samples, labels and folds are those of :mod:`mepipe.dataset`, which other trainers
use (and whose ``TorchDataset`` streams from the store instead).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import zarr

from mepipe.dataset.select import select_samples
from mepipe.errors import MepipeError, UsageError
from mepipe.store import array, open_store

#: samples resized per step when --image-size is given (bounds the float copy)
_RESIZE_CHUNK = 64


@dataclass
class StoreData:
    """The usable samples of a store, in store order.

    Attributes
    ----------
    trdi, midi : torch.Tensor
        uint8 (N, S, S, 3).
    labels : torch.Tensor
        int64 (N,), indices into ``class_names``.
    subjects, sample_ids : numpy.ndarray of str, shape (N,)
    class_names : list of str
    classes : str
        Name of the class set (``raw``, ``5``, ``3``, ``megc2019``, ...).
    provenance : dict
        The store's ``attrs["mepipe"]``.
    """

    trdi: torch.Tensor
    midi: torch.Tensor
    labels: torch.Tensor
    subjects: np.ndarray
    sample_ids: np.ndarray
    class_names: list[str]
    classes: str
    provenance: dict


@dataclass(frozen=True)
class Fold:
    """One LOSO fold: ``index`` in the full split, its test ``subject`` and sample rows."""

    index: int
    subject: str
    train: np.ndarray
    test: np.ndarray


def load_store(path: str | Path, classes: str | None = None, image_size: int | None = None) -> StoreData:
    """Read the usable samples of the mepipe store at ``path`` into memory.

    Parameters
    ----------
    path : str or Path
        A zarr v3 group written by ``mepipe build``.
    classes : str, optional
        Class set; ``None`` (or the store's own) uses the store's ``label`` column,
        another name relabels through the dataset recipe's ``label_of``.
    image_size : int, optional
        Resize the images to this side on load (antialiased bilinear).

    Returns
    -------
    StoreData
        Samples with status == 1 and a label inside the class set.
    """
    path = Path(path)
    if not path.exists():
        raise UsageError(f"store {path} does not exist")
    group = open_store(str(path))
    selection = select_samples(group, classes)
    rows = selection.rows
    if len(rows) == 0:
        raise MepipeError(f"store {path} has no usable samples (status ok, label in class set {selection.classes})")
    return StoreData(
        trdi=_images(array(group, "trdi"), rows, image_size),
        midi=_images(array(group, "midi"), rows, image_size),
        labels=torch.from_numpy(selection.label_index),
        subjects=selection.fields["subject"],
        sample_ids=selection.fields["sample_id"],
        class_names=selection.class_names,
        classes=selection.classes,
        provenance=selection.provenance,
    )


def _images(array: zarr.Array, rows: np.ndarray, image_size: int | None) -> torch.Tensor:
    images = torch.from_numpy(np.ascontiguousarray(array.oindex[rows]))
    if image_size is None or image_size == images.shape[1]:
        return images
    out = []
    for chunk in torch.split(images, _RESIZE_CHUNK):
        x = chunk.permute(0, 3, 1, 2).float()
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False)
        out.append(x.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1))
    return torch.cat(out).contiguous()


def loso_folds(splits: Iterable[tuple[str, np.ndarray, np.ndarray]], only: list[str] | None = None) -> list[Fold]:
    """Folds of a leave-one-subject-out split (from :func:`mepipe.dataset.loso_splits`).

    Parameters
    ----------
    splits : iterable of (subject, train, test)
        One split per subject, in a fixed order.
    only : list of str, optional
        Run only the folds testing these subjects. Training sets are unaffected (every
        other subject still trains) and fold indices stay those of the full split, so a
        fold's seed does not depend on which other folds run.

    Returns
    -------
    list of Fold
    """
    splits = list(splits)
    everyone = [subject for subject, _, _ in splits]
    if only is not None:
        unknown = sorted(set(only) - set(everyone))
        if unknown:
            raise UsageError(f"--subjects: unknown subject(s) {', '.join(unknown)}; known: {', '.join(everyone)}")
    return [
        Fold(i, subject, train, test)
        for i, (subject, train, test) in enumerate(splits)
        if only is None or subject in only
    ]
