"""Which samples of a store a reader sees: status ok, label inside the class set, store order.

Every reader (:func:`mepipe.dataset.open_dataset`, :func:`mepipe.dataset.loso_splits`,
:class:`mepipe.dataset.TorchDataset`, ``mepipe train``, ``mepipe export``) selects through
:func:`select_samples`, so integer positions mean the same samples everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import zarr

from mepipe.release.recipe import Sample
from mepipe.release.registry import get_recipe
from mepipe.store import OK, read_fields, store_attrs


@dataclass(frozen=True)
class Selection:
    """Samples of a store under a class set, in store order.

    Attributes
    ----------
    rows : numpy.ndarray of int
        Store indices of the selected samples.
    labels : numpy.ndarray of str
        Class name of each selected sample under ``classes``.
    class_names : list of str
        Ordered class names; a sample's class index is its label's place here.
    classes : str
        Name of the class set.
    fields : dict of numpy.ndarray
        Every per-sample field that is not an image, at ``rows`` (strings as ``str_``).
    provenance : dict
        The store's ``attrs["mepipe"]``.
    """

    rows: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    classes: str
    fields: dict[str, np.ndarray]
    provenance: dict

    @property
    def label_index(self) -> np.ndarray:
        """int64 class index of each selected sample."""
        index = {name: i for i, name in enumerate(self.class_names)}
        return np.array([index[label] for label in self.labels], dtype=np.int64)


def _relabel(fields: dict[str, np.ndarray], dataset: str, classes: str) -> tuple[list, list[str]]:
    """Labels of every sample under another class set, through the dataset's recipe."""
    recipe = get_recipe(dataset)
    recipe.check_classes(classes)
    labels = []
    for i in range(len(fields["sample_id"])):
        apex = int(fields["apex_index"][i])
        sample = Sample(
            sample_id=str(fields["sample_id"][i]),
            subject=str(fields["subject"][i]),
            clip=str(fields["clip"][i]),
            onset=int(fields["onset_index"][i]),
            apex=apex if apex >= 0 else None,
            offset=int(fields["offset_index"][i]),
            emotion=str(fields["emotion"][i]),
            label=str(fields["label"][i]),
            objective_class=str(fields["objective_class"][i]) if "objective_class" in fields else "",
        )
        labels.append(recipe.label_of(sample, classes))
    names = sorted({x for x in labels if x is not None}) if classes == "raw" else list(recipe.class_sets[classes])
    return labels, names


def select_samples(group: zarr.Group, classes: str | None = None, ok_only: bool = True) -> Selection:
    """The samples of an open store under ``classes``.

    Parameters
    ----------
    group : zarr.Group
        A store written by ``mepipe build``.
    classes : str, optional
        Class set; ``None`` (or the store's own) keeps the store's ``label``, another
        name relabels through the dataset recipe's ``label_of`` and drops the samples
        outside that set.
    ok_only : bool
        Keep only samples whose status is ok (built, not failed or pending).
    """
    provenance = store_attrs(group)
    fields = read_fields(group)
    own = provenance.get("classes")
    if classes is None or classes == own:
        classes = own
        names = [str(c) for c in provenance["class_names"]]
        labels = list(fields["label"])
    else:
        labels, names = _relabel(fields, provenance["dataset"], classes)
    keep = np.array([label in names for label in labels], dtype=bool)
    if ok_only:
        keep &= fields["status"] == OK
    rows = np.flatnonzero(keep)
    return Selection(
        rows=rows,
        labels=np.array([labels[i] for i in rows], dtype=str),
        class_names=names,
        classes=str(classes),
        fields={name: values[rows] for name, values in fields.items()},
        provenance=provenance,
    )
