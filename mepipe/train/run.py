"""``train``: a full leave-one-subject-out run on a mepipe store, with its outputs.

RUNDIR receives metrics.json, predictions.csv, confusion.png, fusion_weights.png and
curves.png (see :func:`train`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mepipe import __version__
from mepipe._shared.provenance import file_sha256
from mepipe.dataset import protocol_folds
from mepipe.errors import UsageError

from .data import StoreData, check_store, load_store, loso_folds
from .loop import FoldResult, device_name, resolve_device, train_fold
from .models import get_model
from .options import TrainOptions
from .plots import plot_confusion, plot_curves, plot_fusion_weights
from .results import predictions_table, summarise, write_megc_log, write_predictions
from .together import train_folds


def seed_list(seeds: int | Sequence[int]) -> list[int]:
    """``N`` -> seeds 0..N-1; a sequence -> those seeds (distinct, in the order given)."""
    if isinstance(seeds, int):
        if seeds < 1:
            raise UsageError(f"--seeds must be at least 1, not {seeds}")
        return list(range(seeds))
    chosen = [int(s) for s in seeds]
    if not chosen or len(set(chosen)) != len(chosen) or min(chosen) < 0:
        raise UsageError(f"--seeds must list distinct non-negative seeds, not {','.join(map(str, chosen)) or 'none'}")
    return chosen


@dataclass(frozen=True)
class RunSpec:
    """What one LOSO run is, apart from its seeds: the store and the run's options.

    ``train`` and ``sweep`` share it; a sweep's runs differ in ``options.model``.
    """

    store: str
    options: TrainOptions


def training_options(options: TrainOptions | None = None, **keywords: Any) -> TrainOptions:
    """``options``, or options from keywords (:meth:`TrainOptions.of`), with a registered model."""
    if options is not None and keywords:
        raise UsageError(f"give a TrainOptions or keywords, not both ({', '.join(sorted(keywords))})")
    chosen = options if options is not None else TrainOptions.of(**keywords)
    get_model(chosen.model)  # an unknown model: one line naming the known ones
    return chosen


def to_device(data: StoreData, device: torch.device) -> StoreData:
    """``data`` with its tensors on ``device`` (the whole dataset: tens of MB)."""
    if device.type != "cuda":
        return data
    # one pinned, asynchronous copy per run instead of one per batch
    return replace(
        data,
        inputs={name: x.pin_memory().to(device, non_blocking=True) for name, x in data.inputs.items()},
        labels=data.labels.to(device, non_blocking=True),
    )


def fit(
    data: StoreData, spec: RunSpec, seeds: list[int], device: torch.device, progress: bool = True
) -> list[FoldResult]:
    """Train and test every fold of ``spec`` for each of ``seeds``, in seed then fold order.

    Sequentially (one fold after another), or with ``folds_at_once`` (default: on CUDA,
    for a model that stacks) in groups of ``fold_group`` (seed, fold) pairs (default: the
    folds of one seed) trained side by side by :func:`~mepipe.train.together.train_folds`.
    """
    options = spec.options
    splits = protocol_folds(spec.store, options.protocol, data.classes)
    folds = loso_folds(splits, list(options.subjects) if options.subjects else None)
    jobs = [(fold, seed) for seed in seeds for fold in folds]
    together = options.folds_at_once
    if together is None:
        together = device.type == "cuda" and get_model(options.model).stackable
    results = []
    if together:
        size = options.fold_group or len(folds)
        for start in range(0, len(jobs), size):
            results += train_folds(data, jobs[start : start + size], options, device, progress)
    else:
        results = [train_fold(data, fold, options, seed, device, progress) for fold, seed in jobs]
    if results[0].init_report:
        print(results[0].init_report, file=sys.stderr)
    return results


def train(
    store: str | Path,
    out: str | Path,
    options: TrainOptions | None = None,
    *,
    seeds: int | Sequence[int] = 1,
    megc_log: str | Path | None = None,
    progress: bool = True,
    **keywords: Any,
) -> dict:
    """Leave-one-subject-out (or leave-one-dataset-out) training and evaluation of a
    registered model on a store.

    Parameters
    ----------
    store : str or Path
        A zarr store written by ``mepipe build``; only samples with status ok are used.
        It must hold the arrays the model eats (``ststnet``: ``--arrays flow``).
    out : str or Path
        Run directory (created); its output files are overwritten.
    options : TrainOptions, optional
        How to train; or give its fields as keywords (``model="ststnet"``, ``epochs=5``,
        ``variant="concat"`` for ``model="concat"``, ...). Default: AFN, the defaults.
    seeds : int or sequence of int
        Repeat the whole LOSO run with seeds 0..seeds-1, or with the seeds listed;
        metrics report each seed's pooled scores and their mean and standard deviation.
    megc_log : str or Path, optional
        Also write the predictions in the MEGC 2019 log format (docs/labels.md).
    progress : bool
        Show a progress bar per fold (or group of folds) on stderr.

    Returns
    -------
    dict
        The content of metrics.json.

    Notes
    -----
    On CPU a seed reproduces predictions.csv exactly; on CUDA, bf16 autocast and cuDNN's
    kernel choices make runs close but not bit-identical. The folds-at-once path gives
    the sequential path's results up to float rounding (exactly so in float64).
    """
    chosen_options = training_options(options, **keywords)
    spec = RunSpec(str(store), chosen_options)
    chosen = seed_list(seeds)
    # a store the model cannot train on, or a bad protocol, fails before anything loads
    check_store(store, chosen_options.classes, chosen_options.image_size, chosen_options.model)
    protocol_folds(spec.store, chosen_options.protocol, chosen_options.classes)
    data = load_store(store, chosen_options.classes, chosen_options.image_size, chosen_options.model)
    target = resolve_device(chosen_options.device)
    results = fit(to_device(data, target), spec, chosen, target, progress)
    metrics = report(out, data, results, spec, device_name(target))
    if megc_log is not None:
        write_megc_log(predictions_table(results, data), data, Path(megc_log))
    return metrics


def report(out: str | Path, data: StoreData, results: list[FoldResult], spec: RunSpec, device_name: str) -> dict:
    """Score ``results``, write the run's files into ``out`` and return metrics.json's content."""
    options = spec.options
    metrics = summarise(results, data)
    first = next(iter(data.inputs.values()))
    metrics.update(
        {
            "model": options.model,
            # the name runs before the model registry wrote (an AFN-family model is a variant)
            "variant": options.model,
            "classes": data.classes,
            "class_names": data.class_names,
            "device": device_name,
            "store": {"path": str(Path(spec.store).resolve()), "mepipe": data.provenance},
            "config": {
                **asdict(options),
                "variant": options.model,
                "seeds": sorted({r.seed for r in results}),
                "subjects": list(options.subjects) if options.subjects else None,
                "image_size": options.image_size or int(first.shape[1]),
                "inputs": {name: list(x.shape[1:]) for name, x in data.inputs.items()},
                "arrays": list(get_model(options.model).arrays),
                "normalisation": _normalisation(options.model),
                "init_weights_sha256": file_sha256(Path(options.init_weights)) if options.init_weights else None,
                "init_report": results[0].init_report or None,
                "mepipe_version": __version__,
                "torch_version": torch.__version__,
            },
        }
    )
    _write_outputs(Path(out), metrics, results, data)
    return metrics


def _normalisation(model: str) -> str:
    prepare = get_model(model).prepare
    return (prepare.__doc__ or prepare.__name__).strip().splitlines()[0]


def _write_outputs(out: Path, metrics: dict, results: list, data: StoreData) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    write_predictions(predictions_table(results, data), out / "predictions.csv")

    labels = data.labels.cpu().numpy()
    n_seeds = len(metrics["seeds"])
    confusion = np.sum([s["confusion"] for s in metrics["seeds"]], axis=0)
    plot_confusion(
        confusion,
        data.class_names,
        out / "confusion.png",
        f"{metrics['variant']}: pooled LOSO predictions" + (f", {n_seeds} seeds summed" if n_seeds > 1 else ""),
    )
    if results[0].w_trdi is not None:
        w_trdi = np.concatenate([r.w_trdi for r in results])
        note = "AFN sample-wise TRDI weight on test samples" + (f" ({n_seeds} seeds)" if n_seeds > 1 else "")
    else:
        w_trdi = None
        note = f"model {metrics['model']!r} has no sample-wise fusion weights"
        if results[0].global_weights is not None:
            mean_w = np.mean([r.global_weights[0] for r in results])
            note += f" (learned global TRDI weight, mean over folds: {mean_w:.3f})"
    true = np.concatenate([labels[r.fold.test] for r in results])
    plot_fusion_weights(w_trdi, true, data.class_names, out / "fusion_weights.png", note)
    curves = [(f"{r.fold.subject}" + (f" s{r.seed}" if n_seeds > 1 else ""), r.loss_per_epoch) for r in results]
    plot_curves(curves, out / "curves.png")
