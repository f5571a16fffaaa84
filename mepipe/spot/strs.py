"""Spot-then-recognise, scored as MEGC 2025 does: STRS = spotting F1 × recognition F1.

Spotting F1 is the evaluator's (:mod:`mepipe.spot.evaluate`), over the types spotted and
recognised (micro-expressions by default). Recognition F1 is taken on the spotted
intervals that match an interval (the TPs): the interval's class against the class
recognised for its matched prediction (the prediction's ``emotion``), as the unweighted
mean over classes of each class's F1. The classes are, by ``classes``:

* ``own`` (the default): the emotions as written (stripped, lower case); F1 averaged over
  the classes present among the matched truths and their recognised classes;
* ``megc2019`` or ``megc``: both sides' emotions mapped by each row's dataset
  (:mod:`mepipe.release.classmap`); F1 averaged over the set's classes present among the
  truths and recognised classes; a recognised class outside the set is simply wrong and
  adds no class.

A matched interval whose truth has no class (no emotion, or one outside the set) is left
out of recognition and counted in ``left_out`` with its reason: ``scored + left_out`` is
always the matched TPs, so nothing is dropped silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from mepipe.release.classmap import CLASS_SETS, class_map, normal
from mepipe.release.labels import MEGC2019_CLASSES, MEGC2019_SET
from mepipe.spot.evaluate import Counts, Evaluation

#: the three classes MEGC 2019 recognises micro-expressions into (spot-recognise's set)
CLASSES: tuple[str, ...] = MEGC2019_CLASSES
#: the class set ``spot-recognise``'s recogniser answers in, and so scores with
RECOGNISER_CLASSES = MEGC2019_SET
#: the class sets STRS can score with: the truth's own, or one of the MEGC sets
STRS_CLASSES: tuple[str, ...] = ("own", *CLASS_SETS)


@dataclass(frozen=True)
class StrsScore:
    """A spot-then-recognise score.

    Attributes
    ----------
    spotting : Counts
        The spotting counts of the types scored.
    spotting_f1, recognition_f1, strs : float
        The two F1s and their product (0.0 where nothing was found or recognised).
    recognised : int
        Matched intervals with a class, on which recognition F1 is taken (``scored``).
    correct : int
        Of those, recognised as their class.
    per_class : dict
        class -> its F1, for the classes averaged.
    classes : str
        The class set scored with (:data:`STRS_CLASSES`).
    left_out_why : dict
        reason -> matched intervals left out of recognition for it.
    """

    spotting: Counts
    spotting_f1: float
    recognition_f1: float
    strs: float
    recognised: int
    correct: int
    per_class: dict[str, float]
    classes: str = "own"
    left_out_why: dict[str, int] = field(default_factory=dict)

    @property
    def scored(self) -> int:
        """Matched intervals scored for recognition."""
        return self.recognised

    @property
    def left_out(self) -> int:
        """Matched intervals left out of recognition (their truth has no class in the set)."""
        return sum(self.left_out_why.values())

    def as_dict(self) -> dict[str, object]:
        """The score as metrics.json records it."""
        return {
            "classes": self.classes,
            "spotting_f1": self.spotting_f1,
            "recognition_f1": self.recognition_f1,
            "strs": self.strs,
            "scored": self.scored,
            "left_out": self.left_out,
            "left_out_why": dict(self.left_out_why),
            "correct": self.correct,
            "per_class": dict(self.per_class),
        }

    def summary(self) -> str:
        """The console line: STRS, its two F1s, what was scored and left out."""
        why = "; ".join(f"{count} {reason}" for reason, count in self.left_out_why.items())
        return (
            f"STRS {self.strs:.4f} = spotting F1 {self.spotting_f1:.4f} x recognition F1 {self.recognition_f1:.4f} "
            f"(--classes {self.classes}: {self.correct} of {self.scored} matched intervals recognised right; "
            f"{self.left_out} left out{': ' + why if why else ''})"
        )


def macro_f1(truth: Sequence[str], predicted: Sequence[str], classes: Sequence[str] = CLASSES) -> dict[str, float]:
    """Each class's F1 = 2TP / (2TP + FP + FN), for the classes of ``classes`` that occur in
    ``truth`` or ``predicted``; a predicted label outside ``classes`` is a miss only."""
    scores = {}
    for label in classes:
        tp = sum(t == label and p == label for t, p in zip(truth, predicted))
        fp = sum(t != label and p == label for t, p in zip(truth, predicted))
        fn = sum(t == label and p != label for t, p in zip(truth, predicted))
        if tp + fp + fn:
            scores[label] = 2 * tp / (2 * tp + fp + fn)
    return scores


def strs(
    evaluation: Evaluation, types: Sequence[str] = ("micro",), classes: str = "own", dataset: str = ""
) -> StrsScore:
    """STRS of an evaluation whose predictions carry a recognised class (``emotion``).

    Parameters
    ----------
    evaluation : Evaluation
        The evaluator's result (:func:`mepipe.spot.evaluate.evaluate`): its counts and
        matched pairs.
    types : sequence of str
        The interval types spotted and recognised (MEGC 2025: micro-expressions).
    classes : str
        ``own``, ``megc2019`` or ``megc`` (module notes).
    dataset : str
        The dataset of rows whose truth names none (a store's); ``""``: words are mapped
        where every dataset maps them alike.

    Returns
    -------
    StrsScore

    Raises
    ------
    MepipeError
        A word the datasets map differently, on a row without a dataset.
    UsageError
        An unknown class set or dataset.
    """
    spotting = Counts()
    for kind in types:
        spotting = spotting + evaluation.total(kind)
    mapping = None if classes == "own" else class_map(classes)
    pairs: list[tuple[str, str]] = []
    left_out: Counter[str] = Counter()
    for t, p in evaluation.matches:
        if t.type not in types:
            continue
        where = f"{t.video} {t.type} {t.onset}-{t.offset}"
        if mapping is None:
            truth_class, predicted = normal(t.emotion), normal(p.emotion)
        else:
            rows = t.dataset or p.dataset or dataset
            truth_class = mapping.map(t.emotion, rows, f"truth {where}") or ""
            predicted = mapping.map(p.emotion, rows, f"prediction row {p.row}") or ""
        if not normal(t.emotion):
            left_out["truth without an emotion"] += 1
        elif not truth_class:
            left_out[f"truth {normal(t.emotion)!r} outside {classes}"] += 1
        else:
            pairs.append((truth_class, predicted))
    present = sorted({c for pair in pairs for c in pair if c})
    per_class = macro_f1([t for t, _ in pairs], [p for _, p in pairs], mapping.classes if mapping else present)
    spotting_f1 = float(spotting.metrics()["f1"])
    recognition_f1 = sum(per_class.values()) / len(per_class) if per_class else 0.0
    return StrsScore(
        spotting=spotting,
        spotting_f1=spotting_f1,
        recognition_f1=recognition_f1,
        strs=spotting_f1 * recognition_f1,
        recognised=len(pairs),
        correct=sum(t == p for t, p in pairs),
        per_class=per_class,
        classes=classes,
        left_out_why=dict(sorted(left_out.items())),
    )
