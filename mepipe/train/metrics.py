"""Classification metrics of pooled LOSO predictions (pure NumPy).

Conventions (docs/method.md section 5): predictions of all folds are pooled and the metrics
computed once over the pool. UF1 is the mean over classes of 2TP/(2TP+FP+FN) and UAR the
mean over classes of TP/N_c.

A class absent from the truth (N_c = 0) has no defined recall, and its F1 can only be 0
(when it was predicted) or undefined; averaging it in would make the score depend on
which classes a subset happens to lack. Such classes are therefore **left out of both
means** and reported with ``None`` for recall and F1. Predictions *into* an absent class
are still penalised: each is a false negative of the sample's true class.
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of true class ``i`` predicted as ``j``.

    Parameters
    ----------
    true, pred : array of int, shape (N,)
        Class indices in ``[0, n_classes)``.
    n_classes : int
        Number of classes of the class set (rows/columns of the result).

    Returns
    -------
    ndarray of int64, shape (n_classes, n_classes)
    """
    true = np.asarray(true, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    flat = np.bincount(true * n_classes + pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def per_class(confusion: np.ndarray) -> dict[str, list]:
    """Per-class support, precision, recall and F1 from a confusion matrix.

    Returns
    -------
    dict
        ``support`` (N_c), ``predicted``, ``recall`` = TP/N_c, ``precision`` = TP/(TP+FP)
        and ``f1`` = 2TP/(2TP+FP+FN), one entry per class. Recall and F1 are ``None``
        for a class absent from the truth; precision is ``None`` for a class never
        predicted.
    """
    confusion = np.asarray(confusion)
    tp = np.diag(confusion).astype(float)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    fp = predicted - tp
    fn = support - tp
    recall, precision, f1 = [], [], []
    for c in range(len(tp)):
        recall.append(float(tp[c] / support[c]) if support[c] else None)
        precision.append(float(tp[c] / predicted[c]) if predicted[c] else None)
        f1.append(float(2 * tp[c] / (2 * tp[c] + fp[c] + fn[c])) if support[c] else None)
    return {
        "support": support.astype(int).tolist(),
        "predicted": predicted.astype(int).tolist(),
        "recall": recall,
        "precision": precision,
        "f1": f1,
    }


def scores(true: np.ndarray, pred: np.ndarray, n_classes: int) -> dict:
    """Accuracy, UF1 and UAR over the classes present in ``true``.

    Parameters
    ----------
    true, pred : array of int, shape (N,), N > 0
    n_classes : int

    Returns
    -------
    dict
        ``n``, ``accuracy``, ``uf1``, ``uar``, ``confusion`` (list of lists) and the
        :func:`per_class` entries under ``per_class``.
    """
    confusion = confusion_matrix(true, pred, n_classes)
    classes = per_class(confusion)
    present = [c for c in range(n_classes) if classes["support"][c] > 0]
    n = int(confusion.sum())
    return {
        "n": n,
        "accuracy": float(np.trace(confusion) / n),
        "uf1": float(np.mean([classes["f1"][c] for c in present])),
        "uar": float(np.mean([classes["recall"][c] for c in present])),
        "confusion": confusion.tolist(),
        "per_class": classes,
    }


def chance_levels(true: np.ndarray, n_classes: int) -> dict:
    """What guessing achieves on ``true``.

    Returns
    -------
    dict
        ``majority_accuracy``: accuracy of always predicting the most frequent class;
        ``uar``: 1/C with C the number of classes present (the UAR of any constant or
        uniformly random guess).
    """
    support = np.bincount(np.asarray(true, dtype=np.int64), minlength=n_classes)
    return {
        "majority_accuracy": float(support.max() / support.sum()),
        "majority_class": int(support.argmax()),
        "uar": 1.0 / int((support > 0).sum()),
    }
