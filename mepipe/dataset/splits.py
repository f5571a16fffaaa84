"""Evaluation protocols as folds: leave one subject out (LOSO), leave one dataset out (LODO).

A fold is ``(name, train positions, test positions)``: positions along the ``sample`` axis
of :func:`mepipe.dataset.open_dataset` under the same class set. The folds depend on the
samples' subjects (and member datasets) alone, never on labels or results, so every
trainer that reads them gets the same split. :func:`split_manifest` writes them out as a
CSV that other trainers can read instead (``mepipe splits``).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mepipe.errors import MepipeError, UsageError
from mepipe.release.registry import get_recipe

#: the protocols ``mepipe train --protocol`` and ``mepipe splits`` know
PROTOCOLS = ("loso", "lodo")
#: columns of a split manifest, in order
MANIFEST_COLUMNS = ("sample_id", "fold", "held_out", "split")

Fold = tuple[str, np.ndarray, np.ndarray]


def subject_splits(subjects: np.ndarray) -> list[Fold]:
    """Leave-one-subject-out: ``(subject, train positions, test positions)`` per subject,
    in sorted subject order.

    >>> for subject, train, test in subject_splits(np.array(["s2", "s1", "s2", "s3"])):
    ...     print(subject, train.tolist(), test.tolist())
    s1 [0, 2, 3] [1]
    s2 [1, 3] [0, 2]
    s3 [0, 1, 2] [3]
    """
    subjects = np.asarray(subjects).astype(str)
    everyone = sorted(set(subjects.tolist()))
    if len(everyone) < 2:
        raise MepipeError(f"leave-one-subject-out needs at least 2 subjects; the store has {len(everyone)}")
    return [(s, np.flatnonzero(subjects != s), np.flatnonzero(subjects == s)) for s in everyone]


def member_of(subjects: np.ndarray) -> np.ndarray:
    """The member dataset of each sample of a composite store: its subject's prefix
    (``casme2/sub01`` -> ``casme2``).

    >>> member_of(np.array(["casme2/sub01", "samm/006"])).tolist()
    ['casme2', 'samm']
    """
    return np.array([str(s).split("/", 1)[0] for s in np.asarray(subjects).astype(str)], dtype=str)


def dataset_splits(subjects: np.ndarray, dataset: str) -> list[Fold]:
    """Leave-one-dataset-out over a composite store's samples: one fold per member dataset
    (in the composite's member order), testing all of that member's samples.

    Raises
    ------
    UsageError
        ``dataset`` is not a composite, or fewer than two members have samples.
    """
    parts = get_recipe(dataset).parts
    if not parts:
        raise UsageError(
            f"--protocol lodo: a {dataset} store holds one dataset; leaving one dataset out needs a "
            "composite store (mepipe build --dataset megc2019)"
        )
    members = member_of(subjects)
    present = [part for part in parts if (members == part).any()]
    if len(present) < 2:
        raise UsageError(f"--protocol lodo: the store has samples of {len(present)} member dataset(s); it needs 2")
    return [(part, np.flatnonzero(members != part), np.flatnonzero(members == part)) for part in present]


def protocol_splits(subjects: np.ndarray, dataset: str, protocol: str) -> list[Fold]:
    """The folds of ``protocol`` (:data:`PROTOCOLS`) over samples with these ``subjects``."""
    if protocol == "loso":
        return subject_splits(subjects)
    if protocol == "lodo":
        return dataset_splits(subjects, dataset)
    raise UsageError(f"--protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")


def manifest_rows(sample_ids: Sequence[str] | np.ndarray, folds: Sequence[Fold]) -> list[dict]:
    """One row per (fold, sample): ``sample_id, fold, held_out, split`` (``train``/``test``),
    folds in order, samples in store order within each."""
    ids = np.asarray(sample_ids).astype(str)
    rows = []
    for index, (name, train, test) in enumerate(folds):
        role = np.full(len(ids), "", dtype=object)
        role[train], role[test] = "train", "test"
        rows += [
            {"sample_id": ids[i], "fold": index, "held_out": name, "split": role[i]} for i in range(len(ids)) if role[i]
        ]
    return rows


def write_manifest(rows: Sequence[dict], path: str | Path) -> Path:
    """Write :func:`manifest_rows` as CSV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path
