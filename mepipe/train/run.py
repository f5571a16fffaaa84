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

import numpy as np
import torch

from mepipe import __version__
from mepipe._shared.provenance import file_sha256
from mepipe.dataset import protocol_folds
from mepipe.dataset.splits import PROTOCOLS
from mepipe.errors import UsageError

from .data import StoreData, load_store, loso_folds
from .defaults import DEFAULT_EPOCHS, VARIANTS
from .loop import FoldResult, TrainConfig, device_name, resolve_device, train_fold
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


def _check(
    variant: str,
    epochs: int,
    batch: int,
    lr: float,
    width: int,
    image_size: int | None,
    init_weights: str | Path | None,
    fold_group: int | None,
    protocol: str = "loso",
) -> None:
    if protocol not in PROTOCOLS:
        raise UsageError(f"--protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    if variant not in VARIANTS:
        raise UsageError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    if fold_group is not None and fold_group < 1:
        raise UsageError(f"--fold-group must be at least 1, not {fold_group}")
    for name, value in (("epochs", epochs), ("width", width)):
        if value < 1:
            raise UsageError(f"--{name} must be at least 1, not {value}")
    if batch < 2:
        raise UsageError("--batch must be at least 2 (BatchNorm needs two samples)")
    if lr <= 0:
        raise UsageError(f"--lr must be positive, not {lr}")
    if image_size is not None and image_size < 32:
        raise UsageError(f"--image-size must be at least 32 (five stride-2 stages), not {image_size}")
    if init_weights is not None and not Path(init_weights).is_file():
        raise UsageError(f"--init-weights {init_weights} is not a file")


@dataclass(frozen=True)
class RunSpec:
    """What one LOSO run is, apart from its variant's seeds: store, data options, training.

    Built (and checked) by :func:`run_spec`; ``train`` and ``sweep`` share it.
    """

    store: str
    classes: str | None
    image_size: int | None
    subjects: tuple[str, ...] | None
    config: TrainConfig
    device: str
    folds_at_once: bool | None
    fold_group: int | None
    protocol: str = "loso"


def run_spec(
    store: str | Path,
    *,
    classes: str | None = None,
    variant: str = "afn",
    epochs: int = DEFAULT_EPOCHS,
    batch: int = 32,
    lr: float = 1e-4,
    device: str = "auto",
    init_weights: str | Path | None = None,
    subjects: list[str] | None = None,
    image_size: int | None = None,
    width: int = 64,
    focal: bool = False,
    folds_at_once: bool | None = None,
    fold_group: int | None = None,
    protocol: str = "loso",
) -> RunSpec:
    """Check the options of :func:`train` (one-line errors) and bundle them."""
    _check(variant, epochs, batch, lr, width, image_size, init_weights, fold_group, protocol)
    config = TrainConfig(
        variant=variant,
        epochs=epochs,
        batch=batch,
        lr=lr,
        width=width,
        focal=focal,
        init_weights=str(init_weights) if init_weights else None,
    )
    return RunSpec(
        str(store),
        classes,
        image_size,
        tuple(subjects) if subjects else None,
        config,
        device,
        folds_at_once,
        fold_group,
        protocol,
    )


def to_device(data: StoreData, device: torch.device) -> StoreData:
    """``data`` with its tensors on ``device`` (the whole dataset: tens of MB)."""
    if device.type != "cuda":
        return data
    # one pinned, asynchronous copy per run instead of one per batch
    return replace(
        data,
        trdi=data.trdi.pin_memory().to(device, non_blocking=True),
        midi=data.midi.pin_memory().to(device, non_blocking=True),
        labels=data.labels.to(device, non_blocking=True),
    )


def fit(
    data: StoreData, spec: RunSpec, seeds: list[int], device: torch.device, progress: bool = True
) -> list[FoldResult]:
    """Train and test every fold of ``spec`` for each of ``seeds``, in seed then fold order.

    Sequentially (one fold after another), or with ``spec.folds_at_once`` (default: on
    CUDA) in groups of ``spec.fold_group`` (seed, fold) pairs (default: the folds of one
    seed) trained side by side by :func:`~mepipe.train.together.train_folds`.
    """
    splits = protocol_folds(spec.store, spec.protocol, data.classes)
    folds = loso_folds(splits, list(spec.subjects) if spec.subjects else None)
    jobs = [(fold, seed) for seed in seeds for fold in folds]
    together = device.type == "cuda" if spec.folds_at_once is None else spec.folds_at_once
    results = []
    if together:
        size = spec.fold_group or len(folds)
        for start in range(0, len(jobs), size):
            results += train_folds(data, jobs[start : start + size], spec.config, device, progress)
    else:
        results = [train_fold(data, fold, spec.config, seed, device, progress) for fold, seed in jobs]
    if results[0].init_report:
        print(results[0].init_report, file=sys.stderr)
    return results


def train(
    store: str | Path,
    out: str | Path,
    *,
    classes: str | None = None,
    variant: str = "afn",
    epochs: int = DEFAULT_EPOCHS,
    batch: int = 32,
    lr: float = 1e-4,
    seeds: int | Sequence[int] = 1,
    device: str = "auto",
    init_weights: str | Path | None = None,
    subjects: list[str] | None = None,
    image_size: int | None = None,
    width: int = 64,
    focal: bool = False,
    folds_at_once: bool | None = None,
    fold_group: int | None = None,
    protocol: str = "loso",
    megc_log: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """Leave-one-subject-out (or leave-one-dataset-out) training and evaluation of a
    fusion network on a store.

    Parameters
    ----------
    store : str or Path
        A zarr store written by ``mepipe build``; only samples with status ok are used.
    out : str or Path
        Run directory (created); its output files are overwritten.
    classes : str, optional
        Class set (``raw``, ``5``, ``3``, ``megc2019``); default: the store's own.
    variant : str
        One of :data:`mepipe.train.model.VARIANTS`.
    epochs, batch, lr : int, int, float
        Fixed epoch count, batch size and backbone learning rate (the head uses 10x).
    seeds : int or sequence of int
        Repeat the whole LOSO run with seeds 0..seeds-1, or with the seeds listed;
        metrics report each seed's pooled scores and their mean and standard deviation.
    device : str
        ``auto`` (CUDA if available), ``cpu`` or ``cuda``.
    init_weights : str or Path, optional
        Local torchvision-style ResNet-18 state dict loaded into both streams.
    subjects : list of str, optional
        Run only the folds that test these subjects (training sets are unchanged).
    image_size : int, optional
        Resize images to this side on load.
    width : int
        Base channels of each ResNet stream (64 = ResNet-18).
    focal : bool
        Use the focal loss (gamma = 2) on top of weighted, smoothed cross-entropy.
    folds_at_once : bool, optional
        Train the folds side by side as one grouped network (see
        :mod:`mepipe.train.together`); default: on CUDA only.
    fold_group : int, optional
        At most this many (seed, fold) pairs side by side; default: one seed's folds.
    protocol : str
        ``loso`` (one fold per subject) or ``lodo`` (one fold per member dataset of a
        composite store).
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
    spec = run_spec(
        store,
        classes=classes,
        variant=variant,
        epochs=epochs,
        batch=batch,
        lr=lr,
        device=device,
        init_weights=init_weights,
        subjects=subjects,
        image_size=image_size,
        width=width,
        focal=focal,
        folds_at_once=folds_at_once,
        fold_group=fold_group,
        protocol=protocol,
    )
    chosen = seed_list(seeds)
    protocol_folds(spec.store, protocol, classes)  # a bad protocol fails before anything loads
    data = load_store(store, classes, image_size)
    target = resolve_device(device)
    results = fit(to_device(data, target), spec, chosen, target, progress)
    metrics = report(out, data, results, spec, device_name(target))
    if megc_log is not None:
        write_megc_log(predictions_table(results, data), data, Path(megc_log))
    return metrics


def report(out: str | Path, data: StoreData, results: list[FoldResult], spec: RunSpec, device_name: str) -> dict:
    """Score ``results``, write the run's files into ``out`` and return metrics.json's content."""
    config = spec.config
    metrics = summarise(results, data)
    metrics.update(
        {
            "variant": config.variant,
            "classes": data.classes,
            "class_names": data.class_names,
            "device": device_name,
            "store": {"path": str(Path(spec.store).resolve()), "mepipe": data.provenance},
            "config": {
                **asdict(config),
                "seeds": sorted({r.seed for r in results}),
                "device": spec.device,
                "subjects": list(spec.subjects) if spec.subjects else None,
                "image_size": spec.image_size or int(data.trdi.shape[1]),
                "folds_at_once": spec.folds_at_once,
                "fold_group": spec.fold_group,
                "protocol": spec.protocol,
                "normalisation": "per image: minus median, divided by rms (all channels)",
                "init_weights_sha256": file_sha256(Path(config.init_weights)) if config.init_weights else None,
                "init_report": results[0].init_report or None,
                "mepipe_version": __version__,
                "torch_version": torch.__version__,
            },
        }
    )
    _write_outputs(Path(out), metrics, results, data)
    return metrics


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
        note = f"variant {metrics['variant']!r} has no sample-wise fusion weights"
        if results[0].global_weights is not None:
            mean_w = np.mean([r.global_weights[0] for r in results])
            note += f" (learned global TRDI weight, mean over folds: {mean_w:.3f})"
    true = np.concatenate([labels[r.fold.test] for r in results])
    plot_fusion_weights(w_trdi, true, data.class_names, out / "fusion_weights.png", note)
    curves = [(f"{r.fold.subject}" + (f" s{r.seed}" if n_seeds > 1 else ""), r.loss_per_epoch) for r in results]
    plot_curves(curves, out / "curves.png")
