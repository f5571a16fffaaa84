"""A mepipe store, loaded into memory, and its leave-one-subject-out split.

The whole usable part of the store (status == 1, label inside the class set) is read
once per run into uint8 tensors and batches are indexed from memory: this is small
(N x 2 x S x S x 3 bytes: 255 samples at 224 px are 77 MB) and every epoch then costs no
I/O. Samples, labels and folds are those of :mod:`mepipe.dataset`, which other trainers
use (and whose ``TorchDataset`` streams from the store instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import zarr

from mepipe.arrays import derived_arrays
from mepipe.dataset.select import Selection, select_samples
from mepipe.errors import MepipeError, UsageError
from mepipe.release.labels import label_problem
from mepipe.store import OK, array, held_sets, image_names, open_store, read_fields

from .defaults import DEFAULT_MODEL
from .models import ModelSpec, get_model

#: samples read (and resized, when --image-size is given) per step: bounds the float copies
_READ_CHUNK = 64


@dataclass
class StoreData:
    """The usable samples of a store, in store order, as one model's inputs.

    Attributes
    ----------
    inputs : dict of str to torch.Tensor
        The model's input images (:attr:`ModelSpec.inputs <mepipe.train.models.ModelSpec>`
        order), each uint8 (N, H, W, C): ``trdi`` and ``midi`` for the AFN family,
        ``image`` for STSTNet.
    labels : torch.Tensor
        int64 (N,), indices into ``class_names``.
    subjects, sample_ids : numpy.ndarray of str, shape (N,)
    class_names : list of str
    classes : str
        Name of the class set (``raw``, ``5``, ``3``, ``megc2019``, ...).
    provenance : dict
        The store's ``attrs["mepipe"]``.
    model : str
        The registered model whose inputs these are.
    """

    inputs: dict[str, torch.Tensor]
    labels: torch.Tensor
    subjects: np.ndarray
    sample_ids: np.ndarray
    class_names: list[str]
    classes: str
    provenance: dict
    model: str = DEFAULT_MODEL

    def take(self, rows: np.ndarray) -> StoreData:
        """These samples' ``rows`` only, in that order."""
        index = torch.as_tensor(rows)
        return replace(
            self,
            inputs={name: x[index.to(x.device)] for name, x in self.inputs.items()},
            labels=self.labels[index.to(self.labels.device)],
            subjects=self.subjects[rows],
            sample_ids=self.sample_ids[rows],
        )


@dataclass(frozen=True)
class Fold:
    """One LOSO fold: ``index`` in the full split, its test ``subject`` and sample rows."""

    index: int
    subject: str
    train: np.ndarray
    test: np.ndarray


def load_store(
    path: str | Path, classes: str | None = None, image_size: int | None = None, model: str = DEFAULT_MODEL
) -> StoreData:
    """Read the usable samples of the mepipe store at ``path`` into memory as ``model``'s inputs.

    Parameters
    ----------
    path : str or Path
        A zarr v3 group written by ``mepipe build``.
    classes : str, optional
        Class set; ``None`` (or the store's own) uses the store's ``label`` column,
        another name relabels through the dataset recipe's ``label_of``.
    image_size : int, optional
        Resize the images to this side on load (antialiased bilinear).
    model : str
        A registered model: the store arrays it eats are read and made into its inputs.

    Returns
    -------
    StoreData
        Samples with status == 1 and a label inside the class set.
    """
    spec = get_model(model)
    group, selection = check_store(path, classes, image_size, model)
    rows = selection.rows
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in spec.inputs}
    for start in range(0, len(rows), _READ_CHUNK):
        chunk = rows[start : start + _READ_CHUNK]
        names = (*spec.arrays, *(name for name in spec.fields if name in group))
        made = spec.make_inputs({name: np.asarray(array(group, name).oindex[chunk]) for name in names})
        for name in spec.inputs:
            parts[name].append(_resized(torch.from_numpy(np.ascontiguousarray(made[name])), image_size))
    return StoreData(
        inputs={name: torch.cat(chunks).contiguous() for name, chunks in parts.items()},
        labels=torch.from_numpy(selection.label_index),
        subjects=selection.fields["subject"],
        sample_ids=selection.fields["sample_id"],
        class_names=selection.class_names,
        classes=selection.classes,
        provenance=selection.provenance,
        model=spec.name,
    )


def memory_data(
    arrays: Mapping[str, np.ndarray],
    labels: Sequence[int],
    subjects: Sequence[str],
    sample_ids: Sequence[str],
    class_names: Sequence[str],
    model: str = DEFAULT_MODEL,
    classes: str = "",
) -> StoreData:
    """Samples held in memory, not in a store (clips cut from long videos), as ``model``'s inputs.

    ``arrays`` are what a store holds for them (name -> ``(N, ...)``: ``trdi``, ``midi``,
    ...), made into the inputs by the model's own ``make_inputs``, as :func:`load_store`
    does; ``labels`` index ``class_names``.
    """
    spec = get_model(model)
    made = spec.make_inputs(dict(arrays))
    return StoreData(
        inputs={name: torch.from_numpy(np.ascontiguousarray(made[name])) for name in spec.inputs},
        labels=torch.as_tensor(np.asarray(labels, dtype=np.int64)),
        subjects=np.asarray(subjects, dtype=str),
        sample_ids=np.asarray(sample_ids, dtype=str),
        class_names=list(class_names),
        classes=classes,
        provenance={},
        model=spec.name,
    )


def check_store(
    path: str | Path, classes: str | None = None, image_size: int | None = None, model: str = DEFAULT_MODEL
) -> tuple[zarr.Group, Selection]:
    """The open store at ``path`` and the samples ``model`` would train on; one-line errors
    for a missing store, arrays the model eats but the store lacks, an image size the model
    cannot take, or no usable sample (saying what is missing)."""
    spec = get_model(model)
    path = Path(path)
    group = open_store(str(path))
    _check_arrays(group, path, spec)
    if image_size is not None:
        if spec.size is not None and image_size != spec.size:
            raise UsageError(f"--image-size: model {spec.name} takes {spec.size} px images only, not {image_size}")
        if image_size < spec.min_size:
            raise UsageError(f"--image-size must be at least {spec.min_size} for model {spec.name}, not {image_size}")
    return group, usable_samples(group, path, classes)


def _check_arrays(group: zarr.Group, path: Path, spec: ModelSpec) -> None:
    held = image_names(group)
    missing = [name for name in spec.arrays if name not in held]
    if not missing:
        return
    # an array computed by a derived set is added by naming that set in --arrays
    derived = derived_arrays()
    sets = list(dict.fromkeys(derived.get(name, name) for name in missing))
    raise UsageError(
        f"model {spec.name} eats {', '.join(spec.arrays)}; store {path} has no {', '.join(missing)}: add "
        f"{'it' if len(missing) == 1 else 'them'} with mepipe build ... --arrays "
        f"{','.join(dict.fromkeys((*held_sets(group), *sets)))} (only the new arrays are computed)"
    )


def usable_samples(group: zarr.Group, path: str | Path, classes: str | None = None) -> Selection:
    """The samples a run trains on (status ok, label in the class set); when there are
    none, a one-line error saying what is missing (built samples, or labels)."""
    selection = select_samples(group, classes)
    if len(selection.rows):
        problem = label_problem(list(selection.labels), selection.classes)
        if problem:
            raise MepipeError(f"store {path} cannot be trained on: {problem}")
        return selection
    fields = read_fields(group)
    ok = fields["status"] == OK
    subjects = len(set(fields["subject"][ok].tolist()))
    if not ok.any():
        what = f"none of its {len(ok)} samples is built (status ok); run mepipe build on it"
    else:
        names = ", ".join(selection.class_names) or "no classes"
        what = (
            f"its {int(ok.sum())} built samples ({subjects} subjects) have no label in class set "
            f"{selection.classes} ({names})"
        )
        if classes is None:
            what += ": the store lacks labels (the sheet's emotion column)"
    raise MepipeError(f"store {path} has no sample to train on: {what}")


def _resized(images: torch.Tensor, image_size: int | None) -> torch.Tensor:
    if image_size is None or image_size == images.shape[1]:
        return images
    x = images.permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False)
    return x.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)


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
