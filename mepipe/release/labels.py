"""Class sets shared by several recipes: the official MEGC 2019 composite list.

The list (``mepipe/data/megc2019/combined_3class_gt.csv``, no header:
``dataset,subject,filename,label`` with 0=negative, 1=positive, 2=surprise) fixes the exact
samples of the MEGC 2019 3-class benchmark. It is taken as published rather than derived
from emotion rules: two eligible CASME-II rows are left out of it (apex ``/`` and
apex == onset) and it follows the 2014 CASME-II labels.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources

#: MEGC 2019 class names, in the order of the list's integer labels
MEGC2019_CLASSES: tuple[str, ...] = ("negative", "positive", "surprise")


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
