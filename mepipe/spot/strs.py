"""Spot-then-recognise, scored as MEGC 2025 does: STRS = spotting F1 × recognition F1.

Spotting F1 is the evaluator's (:mod:`mepipe.spot.evaluate`), over the types spotted and
recognised (micro-expressions by default). Recognition F1 is taken on the spotted
intervals that match an interval (the TPs) and only where the interval has one of the
classes (the three MEGC classes: negative, positive, surprise): the interval's class
against the class recognised for its matched prediction (the prediction's ``emotion``),
as the unweighted mean over classes of each class's F1 (the classes present among the
truths or the recognised classes; a recognised class outside the set is simply wrong).
Intervals without a class count for spotting only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mepipe.release.labels import MEGC2019_CLASSES
from mepipe.spot.evaluate import Counts, Evaluation

#: the three classes MEGC recognises spotted micro-expressions into
CLASSES: tuple[str, ...] = MEGC2019_CLASSES


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
        Matched intervals with a class, on which recognition F1 is taken.
    correct : int
        Of those, recognised as their class.
    per_class : dict
        class -> its F1, for the classes averaged.
    """

    spotting: Counts
    spotting_f1: float
    recognition_f1: float
    strs: float
    recognised: int
    correct: int
    per_class: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        """The score as metrics.json records it."""
        return {
            "spotting_f1": self.spotting_f1,
            "recognition_f1": self.recognition_f1,
            "strs": self.strs,
            "recognised": self.recognised,
            "correct": self.correct,
            "per_class": dict(self.per_class),
        }


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


def strs(evaluation: Evaluation, types: Sequence[str] = ("micro",), classes: Sequence[str] = CLASSES) -> StrsScore:
    """STRS of an evaluation whose predictions carry a recognised class (``emotion``).

    Parameters
    ----------
    evaluation : Evaluation
        The evaluator's result (:func:`mepipe.spot.evaluate.evaluate`): its counts and
        matched pairs.
    types : sequence of str
        The interval types spotted and recognised (MEGC 2025: micro-expressions).
    classes : sequence of str
        The class set; the truth's ``emotion`` must already be one of them to count.

    Returns
    -------
    StrsScore
    """
    spotting = Counts()
    for kind in types:
        spotting = spotting + evaluation.total(kind)
    pairs = [(t.emotion, p.emotion) for t, p in evaluation.matches if t.type in types and t.emotion in classes]
    per_class = macro_f1([t for t, _ in pairs], [p for _, p in pairs], classes)
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
    )
