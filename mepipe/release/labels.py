"""Class sets shared by several recipes: the official MEGC 2019 composite list, objective classes.

The list (``mepipe/data/megc2019/combined_3class_gt.csv``, no header:
``dataset,subject,filename,label`` with 0=negative, 1=positive, 2=surprise) fixes the exact
samples of the MEGC 2019 3-class benchmark. It is taken as published rather than derived
from emotion rules: two eligible CASME-II rows are left out of it (apex ``/`` and
apex == onset) and it follows the 2014 CASME-II labels.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from mepipe.release.sheet import cell_text

#: MEGC 2019 class names, in the order of the list's integer labels
MEGC2019_CLASSES: tuple[str, ...] = ("negative", "positive", "surprise")
#: the name of the class set of the official list's classes (a key of the recipes'
#: ``class_sets``; the MEGC 2019 composite recipe has the same name)
MEGC2019_SET = "megc2019"


@cache
def megc2019_rows() -> tuple[tuple[str, str, str, str], ...]:
    """``(dataset, subject, clip, class name)`` for every row of the packaged list.

    Subjects are as written in the list (SAMM's are not zero-padded there); recipes
    normalise them with their own rules.
    """
    text = resources.files("mepipe").joinpath("data/megc2019/combined_3class_gt.csv").read_text("utf-8")
    return tuple(
        (dataset.strip(), subject.strip(), clip.strip(), MEGC2019_CLASSES[int(label)])
        for dataset, subject, clip, label in csv.reader(io.StringIO(text))
        if dataset.strip()
    )


#: objective classes I..VII (Davison et al. 2018, arXiv 1708.07549), as stored: "1".."7"
OBJECTIVE_CLASSES: tuple[str, ...] = tuple(str(n) for n in range(1, 8))
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7}


def objective_class(cell: Any) -> str:
    """A sheet's objective class (``3``, ``3.0``, ``'III'``) as ``"3"``; ``""`` for anything else."""
    text = cell_text(cell).upper()
    number = _ROMAN.get(text) or (int(text) if text.isdigit() else None)
    return str(number) if number in range(1, 8) else ""


def label_problem(labels: Sequence[str], classes: str) -> str:
    """Why ``labels`` (one per sample, ``""`` for none) cannot score a classifier, in one
    line; ``""`` when they hold two classes or more.

    A blank label (a sheet whose emotion cells are empty) is no label: samples with only
    those, or with one class, make a score that cannot fail (every prediction right).
    """
    named = [label for label in labels if label]
    found = sorted(set(named))
    if len(found) >= 2:
        return ""
    blank = len(labels) - len(named)
    if not found:
        detail = f"they have no label in class set {classes} (blank emotion cells)"
    else:
        detail = f"every label in class set {classes} is {found[0]}" + (
            f", and {blank} have none (blank emotion cells)" if blank else ""
        )
    return f"fewer than two classes among its {len(labels)} samples: {detail}"
