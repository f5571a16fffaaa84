"""A mepipe store, loaded into memory, and its leave-one-subject-out split.

The whole usable part of the store (status == 1, label inside the class set) is read
once per run into uint8 tensors and batches are indexed from memory. This is small
(N x 2 x S x S x 3 bytes: 255 samples at 224 px are 77 MB) and avoids DataLoader worker
processes, which would fork() a process whose zarr I/O runs on an asyncio event-loop
thread: a forked child inherits the loop's locks but not its thread and can hang.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import MepipeError, UsageError
from ..store import OK, open_store

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


def _strings(group, name: str) -> np.ndarray:
    # zarr 3 returns NumPy's variable-width StringDType, which does not cast to "U"
    return np.array([str(x) for x in group[name][:].tolist()])


def _relabel(group, table_rows: np.ndarray, provenance: dict, classes: str) -> tuple[list, list[str]]:
    """Labels of ``table_rows`` under another class set, through the dataset's recipe."""
    from ..recipe import Sample, get_recipe

    recipe = get_recipe(provenance["dataset"])
    recipe.check_classes(classes)
    columns = {k: _strings(group, k)[table_rows] for k in ("sample_id", "subject", "clip", "emotion", "label")}
    frames = {k: np.asarray(group[k][:])[table_rows] for k in ("onset_index", "apex_index", "offset_index")}
    labels = []
    for i in range(len(table_rows)):
        apex = int(frames["apex_index"][i])
        sample = Sample(
            sample_id=columns["sample_id"][i], subject=columns["subject"][i], clip=columns["clip"][i],
            onset=int(frames["onset_index"][i]), apex=apex if apex >= 0 else None,
            offset=int(frames["offset_index"][i]), emotion=columns["emotion"][i], label=columns["label"][i],
        )
        labels.append(recipe.label_of(sample, classes))
    names = sorted({x for x in labels if x is not None}) if classes == "raw" else list(recipe.class_sets[classes])
    return labels, names


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
    provenance = dict(group.attrs["mepipe"])
    ok = np.flatnonzero(np.asarray(group["status"][:]) == OK)
    own = provenance.get("classes")
    if classes is None or classes == own:
        classes = own
        names = [str(c) for c in provenance["class_names"]]
        labels = list(_strings(group, "label")[ok])
    else:
        labels, names = _relabel(group, ok, provenance, classes)
    keep = np.array([lab in names for lab in labels], dtype=bool)
    rows = ok[keep]
    if len(rows) == 0:
        raise MepipeError(f"store {path} has no usable samples (status ok, label in class set {classes})")
    index = {name: i for i, name in enumerate(names)}
    return StoreData(
        trdi=_images(group["trdi"], rows, image_size),
        midi=_images(group["midi"], rows, image_size),
        labels=torch.tensor([index[lab] for lab, k in zip(labels, keep) if k], dtype=torch.int64),
        subjects=_strings(group, "subject")[rows],
        sample_ids=_strings(group, "sample_id")[rows],
        class_names=names,
        classes=str(classes),
        provenance=provenance,
    )


def _images(array, rows: np.ndarray, image_size: int | None) -> torch.Tensor:
    images = torch.from_numpy(np.ascontiguousarray(array.oindex[rows]))
    if image_size is None or image_size == images.shape[1]:
        return images
    out = []
    for chunk in torch.split(images, _RESIZE_CHUNK):
        x = chunk.permute(0, 3, 1, 2).float()
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False)
        out.append(x.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1))
    return torch.cat(out).contiguous()


def loso_folds(subjects: np.ndarray, only: list[str] | None = None) -> list[Fold]:
    """Leave-one-subject-out split: one fold per subject, in sorted subject order.

    Parameters
    ----------
    subjects : array of str, shape (N,)
        Subject of each sample.
    only : list of str, optional
        Run only the folds testing these subjects. Training sets are unaffected (every
        other subject still trains) and fold indices stay those of the full split, so a
        fold's seed does not depend on which other folds run.

    Returns
    -------
    list of Fold
    """
    subjects = np.asarray(subjects).astype(str)
    everyone = sorted(set(subjects.tolist()))
    if len(everyone) < 2:
        raise MepipeError(f"leave-one-subject-out needs at least 2 subjects; the store has {len(everyone)}")
    if only is not None:
        unknown = sorted(set(only) - set(everyone))
        if unknown:
            raise UsageError(f"--subjects: unknown subject(s) {', '.join(unknown)}; known: {', '.join(everyone)}")
    return [
        Fold(i, s, np.flatnonzero(subjects != s), np.flatnonzero(subjects == s))
        for i, s in enumerate(everyone)
        if only is None or s in only
    ]
