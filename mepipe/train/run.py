"""``train``: a full leave-one-subject-out run on a mepipe store, with its outputs.

RUNDIR receives metrics.json, predictions.csv, confusion.png, fusion_weights.png and
curves.png (see :func:`train`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from ..dataset import loso_splits
from ..errors import UsageError
from ..provenance import file_sha256
from .data import load_store, loso_folds
from .defaults import DEFAULT_EPOCHS, VARIANTS
from .loop import TrainConfig, resolve_device, train_fold
from .plots import plot_confusion, plot_curves, plot_fusion_weights
from .report import predictions_table, summarise, write_predictions


def _check(variant: str, epochs: int, batch: int, lr: float, seeds: int, width: int,
           image_size: int | None, init_weights: str | Path | None) -> None:
    if variant not in VARIANTS:
        raise UsageError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    for name, value in (("epochs", epochs), ("seeds", seeds), ("width", width)):
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


def train(
    store: str | Path,
    out: str | Path,
    *,
    classes: str | None = None,
    variant: str = "afn",
    epochs: int = DEFAULT_EPOCHS,
    batch: int = 32,
    lr: float = 1e-4,
    seeds: int = 1,
    device: str = "auto",
    init_weights: str | Path | None = None,
    subjects: list[str] | None = None,
    image_size: int | None = None,
    width: int = 64,
    focal: bool = False,
    progress: bool = True,
) -> dict:
    """Leave-one-subject-out training and evaluation of a fusion network on a store.

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
    seeds : int
        Repeat the whole LOSO run with seeds 0..seeds-1; metrics report each seed's
        pooled scores and their mean and standard deviation.
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
    progress : bool
        Show a progress bar per fold on stderr.

    Returns
    -------
    dict
        The content of metrics.json.

    Notes
    -----
    On CPU a seed reproduces predictions.csv exactly; on CUDA, bf16 autocast and cuDNN's
    kernel choices make runs close but not bit-identical.
    """
    _check(variant, epochs, batch, lr, seeds, width, image_size, init_weights)
    out = Path(out)
    data = load_store(store, classes, image_size)
    folds = loso_folds(loso_splits(store, data.classes), subjects)
    target = resolve_device(device)
    if target.type == "cuda":
        # the whole dataset lives on the GPU (tens of MB): one pinned, asynchronous copy
        # per run instead of one per batch
        data.trdi = data.trdi.pin_memory().to(target, non_blocking=True)
        data.midi = data.midi.pin_memory().to(target, non_blocking=True)
        data.labels = data.labels.to(target, non_blocking=True)
    config = TrainConfig(variant=variant, epochs=epochs, batch=batch, lr=lr, width=width, focal=focal,
                         init_weights=str(init_weights) if init_weights else None)

    results = []
    for seed in range(seeds):
        for fold in folds:
            results.append(train_fold(data, fold, config, seed, target, progress))
            if results[-1].init_report and len(results) == 1:
                print(results[-1].init_report, file=sys.stderr)

    metrics = summarise(results, data)
    metrics.update({
        "variant": variant,
        "classes": data.classes,
        "class_names": data.class_names,
        "device": torch.cuda.get_device_name(target) if target.type == "cuda" else "cpu",
        "store": {"path": str(Path(store).resolve()), "mepipe": data.provenance},
        "config": {
            **asdict(config), "seeds": seeds, "device": device, "subjects": subjects,
            "image_size": image_size or int(data.trdi.shape[1]),
            "normalisation": "per image: minus median, divided by rms (all channels)",
            "init_weights_sha256": file_sha256(Path(init_weights)) if init_weights else None,
            "init_report": results[0].init_report or None,
            "mepipe_version": __version__, "torch_version": torch.__version__,
        },
    })
    _write_outputs(out, metrics, results, data)
    return metrics


def _write_outputs(out: Path, metrics: dict, results: list, data) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    write_predictions(predictions_table(results, data), out / "predictions.csv")

    labels = data.labels.cpu().numpy()
    n_seeds = len(metrics["seeds"])
    confusion = np.sum([s["confusion"] for s in metrics["seeds"]], axis=0)
    plot_confusion(confusion, data.class_names, out / "confusion.png",
                   f"{metrics['variant']}: pooled LOSO predictions" + (f", {n_seeds} seeds summed" if n_seeds > 1 else ""))
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
