"""Turning fold results into predictions.csv, the metrics dict and the summary table."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from mepipe.dataset.splits import member_of
from mepipe.errors import UsageError
from mepipe.release.registry import get_recipe

from .data import StoreData
from .loop import FoldResult
from .metrics import chance_levels, scores


def predictions_table(results: list[FoldResult], data: StoreData) -> list[dict]:
    """One row per (seed, test sample), in seed, fold and store order.

    Columns: ``sample_id, subject, fold, true, pred, prob_<class>...`` then ``seed`` and
    ``w_trdi`` (the AFN's per-sample TRDI weight; empty for other variants).
    """
    rows = []
    for r in results:
        pred = r.probs.argmax(1)
        for k, i in enumerate(r.fold.test):
            row = {
                "sample_id": data.sample_ids[i],
                "subject": data.subjects[i],
                "fold": r.fold.index,
                "true": data.class_names[int(data.labels[i])],
                "pred": data.class_names[int(pred[k])],
            }
            row.update({f"prob_{c}": f"{p:.6g}" for c, p in zip(data.class_names, r.probs[k])})
            row["seed"] = r.seed
            row["w_trdi"] = "" if r.w_trdi is None else f"{r.w_trdi[k]:.6g}"
            rows.append(row)
    return rows


def write_predictions(rows: list[dict], path: Path) -> None:
    """Write :func:`predictions_table` rows as CSV."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def members(data: StoreData) -> tuple[str, ...]:
    """The member datasets of a composite store (MEGC 2019), in its order; ``()`` otherwise."""
    dataset = str(data.provenance.get("dataset", ""))
    try:
        return get_recipe(dataset).parts
    except UsageError:  # a store of a recipe this mepipe does not know: no members
        return ()


def per_dataset(
    true: np.ndarray, pred: np.ndarray, sample_member: np.ndarray, names: tuple[str, ...], n_classes: int
) -> dict[str, dict[str, Any]]:
    """Each member's ``n``, accuracy, UF1 and UAR over its samples of all folds: the
    challenge's way, from TP/FP/FN summed over that member's folds (one confusion matrix)."""
    out = {}
    for name in names:
        mine = sample_member == name
        if mine.any():
            s = scores(true[mine], pred[mine], n_classes)
            out[name] = {k: s[k] for k in ("n", "accuracy", "uf1", "uar", "confusion")}
    return out


def write_megc_log(rows: list[dict], data: StoreData, path: Path) -> Path:
    """The predictions of the first seed in the MEGC 2019 log format: one line per sample,
    no header, ``dataset,subject,filename,label,predicted``, as the official list
    (``combined_3class_gt.csv``) writes its first four columns (integer labels in
    ``class_names`` order: 0 negative, 1 positive, 2 surprise)."""
    if not members(data):
        raise UsageError(
            f"--megc-log: the store is a {data.provenance.get('dataset')} store, not a MEGC 2019 composite"
        )
    place = {name: i for i, name in enumerate(data.class_names)}
    first = rows[0]["seed"] if rows else 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for row in rows:
            if row["seed"] != first:
                continue
            dataset, subject, clip = str(row["sample_id"]).split("/", 2)
            spelled = get_recipe(dataset).megc_subject(subject)
            writer.writerow([dataset, spelled, clip, place[row["true"]], place[row["pred"]]])
    return path


def _named(per_class: dict, names: list[str]) -> dict:
    return {name: {key: values[c] for key, values in per_class.items()} for c, name in enumerate(names)}


def summarise(results: list[FoldResult], data: StoreData) -> dict:
    """Pooled, per-seed and per-fold scores of a run.

    Each seed's predictions over all its folds are pooled and scored once; the top-level
    ``accuracy``, ``uf1``, ``uar`` and ``per_class`` are the means over seeds (the pooled
    values themselves for one seed), ``std`` their population standard deviation.
    """
    n_classes = len(data.class_names)
    labels = data.labels.cpu().numpy()
    seeds = sorted({r.seed for r in results})
    names = members(data)
    sample_member = member_of(data.subjects) if names else np.array([])
    per_seed = []
    for seed in seeds:
        mine = [r for r in results if r.seed == seed]
        true = np.concatenate([labels[r.fold.test] for r in mine])
        pred = np.concatenate([r.probs.argmax(1) for r in mine])
        s = scores(true, pred, n_classes)
        per_seed.append(
            {
                "seed": seed,
                **{k: s[k] for k in ("n", "accuracy", "uf1", "uar", "confusion")},
                "per_class": _named(s["per_class"], data.class_names),
            }
        )
        if names:
            tested = np.concatenate([r.fold.test for r in mine])
            per_seed[-1]["per_dataset"] = per_dataset(true, pred, sample_member[tested], names, n_classes)
    folds = []
    for r in results:
        s = scores(labels[r.fold.test], r.probs.argmax(1), n_classes)
        folds.append(
            {
                "fold": r.fold.index,
                "subject": r.fold.subject,
                "seed": r.seed,
                "n_train": len(r.fold.train),
                "n_test": len(r.fold.test),
                **{k: s[k] for k in ("accuracy", "uf1", "uar")},
                "final_loss": r.loss_per_epoch[-1],
                "final_train_accuracy": r.accuracy_per_epoch[-1],
                "loss_per_epoch": r.loss_per_epoch,
                "samples_per_s": r.samples_per_s,
                "global_weights": r.global_weights,
            }
        )
    pooled_true = np.concatenate([labels[r.fold.test] for r in results if r.seed == seeds[0]])

    def mean(key: str) -> float:
        return float(np.mean([s[key] for s in per_seed]))

    def mean_class(name: str, key: str) -> float | None:
        values = [s["per_class"][name][key] for s in per_seed]
        return None if values[0] is None else float(np.mean(values))

    composite = {}
    if names:
        for name in per_seed[0]["per_dataset"]:
            runs = [s["per_dataset"][name] for s in per_seed]
            composite[name] = {"n": runs[0]["n"], **{k: float(np.mean([r[k] for r in runs])) for k in KEYS}}
    return {
        "accuracy": mean("accuracy"),
        "uf1": mean("uf1"),
        "uar": mean("uar"),
        **({"per_dataset": composite} if names else {}),
        "std": {k: float(np.std([s[k] for s in per_seed])) for k in ("accuracy", "uf1", "uar")},
        "n_samples": int(len(pooled_true)),
        "n_folds": len({r.fold.index for r in results}),
        "per_class": {
            name: {
                "f1": mean_class(name, "f1"),
                "recall": mean_class(name, "recall"),
                "support": per_seed[0]["per_class"][name]["support"],
            }
            for name in data.class_names
        },
        "chance": chance_levels(pooled_true, n_classes),
        "definitions": "predictions of all folds pooled, scored once per seed; UF1 = mean over classes of "
        "2TP/(2TP+FP+FN), UAR = mean over classes of TP/N_c, both over the classes present "
        "in the truth (absent classes: f1 and recall null)",
        "seeds": per_seed,
        "folds": folds,
        # all training samples over all training time: also right for folds trained side
        # by side, whose seconds are each one's share of their group's wall time
        "samples_per_s": float(sum(r.samples_seen for r in results) / sum(r.train_seconds for r in results)),
    }


#: the scores reported per member dataset
KEYS = ("accuracy", "uf1", "uar")


def format_summary(metrics: dict) -> str:
    """Per-fold and pooled results as a plain-text table."""
    several = len(metrics["seeds"]) > 1
    head = f"{'fold':>4}  {'subject':<12}{'seed':>5}" if several else f"{'fold':>4}  {'subject':<12}"
    lines = [f"{head}{'n':>5}{'acc':>8}{'uf1':>8}{'uar':>8}"]
    for f in metrics["folds"]:
        seed = f"{f['seed']:>5}" if several else ""
        lines.append(
            f"{f['fold']:>4}  {f['subject']:<12}{seed}{f['n_test']:>5}"
            f"{f['accuracy']:>8.3f}{f['uf1']:>8.3f}{f['uar']:>8.3f}"
        )
    pad = 18 + (5 if several else 0)
    for s in metrics["seeds"]:
        label = f"pooled seed {s['seed']}" if several else "pooled"
        lines.append(f"{label:<{pad}}{s['n']:>5}{s['accuracy']:>8.3f}{s['uf1']:>8.3f}{s['uar']:>8.3f}")
    if several:
        std = metrics["std"]
        lines.append(f"{'mean':<{pad}}{'':>5}{metrics['accuracy']:>8.3f}{metrics['uf1']:>8.3f}{metrics['uar']:>8.3f}")
        lines.append(f"{'std':<{pad}}{'':>5}{std['accuracy']:>8.3f}{std['uf1']:>8.3f}{std['uar']:>8.3f}")
    if metrics.get("per_dataset"):
        lines.append(f"{'composite':<{pad}}{metrics['n_samples']:>5}" + "".join(f"{metrics[k]:>8.3f}" for k in KEYS))
        for name, member in metrics["per_dataset"].items():
            lines.append(f"{'  ' + name:<{pad}}{member['n']:>5}" + "".join(f"{member[k]:>8.3f}" for k in KEYS))
    chance = metrics["chance"]
    lines.append(
        f"chance: majority-class accuracy {chance['majority_accuracy']:.3f}, UAR {chance['uar']:.3f}; "
        f"{metrics['samples_per_s']:.1f} training samples/s on {metrics['device']}"
    )
    return "\n".join(lines)
