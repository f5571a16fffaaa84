"""Scoring ME-VQA answers as the MEGC 2025 challenge does: ``mepipe vqa-eval``.

Predictions are matched to the truth by (``image_id``, question). For the coarse and the
fine class questions: ``uf1``, the mean over the classes present among the truths and the
predictions of each class's F1 = 2TP / (2TP + FP + FN), and ``uar``, the mean over the
classes present among the truths of each class's recall. Over the free-text (analysis)
answers: ``bleu``, corpus BLEU-4 (nltk, uniform weights, no smoothing) and ``rouge_l``,
the mean ROUGE-L F-measure (rouge-score), both 0..1. Answers are compared in lower case,
surrounding space and a final full stop ignored; BLEU's tokens are words and punctuation
marks. A truth without a prediction counts as answered wrong (an empty answer).

Reading refuses a bad row in one line naming the file and row (not a JSON object, a field
missing or not text, a (``image_id``, question) pair twice); nothing is written then.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mepipe.errors import SheetError
from mepipe.release.sheet import read_text_file
from mepipe.vqa.records import question_kind

#: the fields every row must have, as text
FIELDS = ("image_id", "question", "answer")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def read_answers(path: str | Path) -> dict[tuple[str, str], str]:
    """``(image_id, question) -> answer`` of a JSON-lines file, validated row by row.

    Raises
    ------
    SheetError
        One line naming the file and row (module notes).
    """
    path = Path(path)
    text = read_text_file(path, "a JSON-lines file")
    answers: dict[tuple[str, str], str] = {}
    for row, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}: row {row}"
        try:
            record: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SheetError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise SheetError(f"{where}: a JSON {type(record).__name__}, not an object")
        for name in FIELDS:
            if not isinstance(record.get(name), str):
                got = "missing" if name not in record else f"{type(record[name]).__name__}, not text"
                raise SheetError(f"{where}: field {name!r} {got}")
        key = (record["image_id"].strip(), " ".join(record["question"].split()))
        if not key[0]:
            raise SheetError(f"{where}: empty image_id")
        if key in answers:
            raise SheetError(f"{where}: image_id {key[0]!r} asked {key[1]!r} twice")
        answers[key] = record["answer"]
    return answers


def normal_answer(text: str) -> str:
    """An answer as compared: lower case, inner space single, a final full stop dropped."""
    return " ".join(text.split()).lower().removesuffix(".").strip()


def class_scores(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """``n``, ``uf1``, ``uar`` and ``classes`` of one classification question (module notes);
    an empty prediction is wrong and names no class. 0.0 where nothing was asked."""
    real = sorted(set(truth))
    present = sorted(set(truth) | {p for p in predicted if p})
    f1, recall = [], []
    for label in present:
        tp = sum(t == p == label for t, p in zip(truth, predicted))
        fp = sum(t != label and p == label for t, p in zip(truth, predicted))
        fn = sum(t == label and p != label for t, p in zip(truth, predicted))
        f1.append(2 * tp / (2 * tp + fp + fn))
        if label in real:
            recall.append(tp / (tp + fn))
    return {
        "n": len(truth),
        "uf1": sum(f1) / len(f1) if f1 else 0.0,
        "uar": sum(recall) / len(recall) if recall else 0.0,
        "classes": present,
    }


def tokens(text: str) -> list[str]:
    """BLEU's tokens: lower-case words and punctuation marks."""
    return _TOKEN.findall(text.lower())


def text_scores(truth: Sequence[str], predicted: Sequence[str]) -> tuple[float | None, float | None]:
    """Corpus BLEU-4 and mean ROUGE-L F of free-text answers; ``None`` where there are none."""
    if not truth:
        return None, None
    from nltk.translate.bleu_score import corpus_bleu
    from rouge_score import rouge_scorer

    with warnings.catch_warnings():  # nltk warns where an n-gram order has no match: BLEU is 0 then
        warnings.simplefilter("ignore")
        bleu = float(corpus_bleu([[tokens(t)] for t in truth], [tokens(p) for p in predicted]))
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    rouge = [scorer.score(t, p)["rougeL"].fmeasure for t, p in zip(truth, predicted)]
    return bleu, float(sum(rouge) / len(rouge))


def score_vqa(truth_path: str | Path, pred_path: str | Path) -> dict[str, Any]:
    """The metrics record of predicted answers against the truth (module notes).

    Parameters
    ----------
    truth_path, pred_path : path
        JSON-lines files with ``image_id``, ``question`` and ``answer`` per row (the
        truth: an export's ``megc-vqa.jsonl``).

    Returns
    -------
    dict
        ``coarse`` and ``fine`` (``n``, ``uf1``, ``uar``, ``classes``), ``bleu`` and
        ``rouge_l`` (``None`` without free-text questions), ``analysis`` (their number),
        ``questions`` (truth rows), ``unanswered`` (truth rows no prediction answers) and
        ``unmatched`` (prediction rows no truth row asks).
    """
    truth = read_answers(truth_path)
    pred = read_answers(pred_path)
    by_kind: dict[str, tuple[list[str], list[str]]] = {k: ([], []) for k in ("coarse", "fine", "analysis")}
    for key, answer in truth.items():
        kind = question_kind(key[1])
        if kind in by_kind:
            given = pred.get(key, "")
            if kind == "analysis":
                by_kind[kind][0].append(answer)
                by_kind[kind][1].append(given)
            else:
                by_kind[kind][0].append(normal_answer(answer))
                by_kind[kind][1].append(normal_answer(given))
    bleu, rouge = text_scores(*by_kind["analysis"])
    return {
        "truth": str(truth_path),
        "pred": str(pred_path),
        "questions": len(truth),
        "unanswered": sum(key not in pred for key in truth),
        "unmatched": sum(key not in truth for key in pred),
        "coarse": class_scores(*by_kind["coarse"]),
        "fine": class_scores(*by_kind["fine"]),
        "analysis": len(by_kind["analysis"][0]),
        "bleu": bleu,
        "rouge_l": rouge,
    }
