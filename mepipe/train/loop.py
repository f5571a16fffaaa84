"""Training one LOSO fold and predicting its test subject.

Everything the fold does is fixed in advance: the model is re-initialised, trained for a
fixed number of epochs with a cosine schedule, and the final weights predict the test
subject once. Nothing is selected by looking at the test subject (no best epoch, no
early stopping), the known way to inflate LOSO numbers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mepipe._shared.progress import Progress
from mepipe.errors import UsageError

from .augment import apply_affine, random_affine
from .data import Fold, StoreData
from .model import at_least_float32, dropout_keep
from .models import ModelSpec, build_model, get_model
from .options import TrainOptions

#: head learning rate = HEAD_LR_FACTOR x backbone learning rate (1e-3 vs 1e-4 by default)
HEAD_LR_FACTOR = 10.0
WEIGHT_DECAY = 1e-4
LABEL_SMOOTHING = 0.1
FOCAL_GAMMA = 2.0


@dataclass
class FoldResult:
    """What a trained fold reports: test probabilities and the training history."""

    fold: Fold
    seed: int
    probs: np.ndarray
    w_trdi: np.ndarray | None
    loss_per_epoch: list[float]
    accuracy_per_epoch: list[float]
    samples_per_s: float
    samples_seen: int
    train_seconds: float
    global_weights: list[float] | None
    init_report: str


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is a usage error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available to PyTorch")
    if name not in ("cpu", "cuda"):
        raise UsageError(f"--device must be auto, cpu or cuda, not {name!r}")
    return torch.device(name)


def device_name(device: torch.device) -> str:
    """The GPU's name for a CUDA device, ``cpu`` otherwise (recorded in metrics.json)."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def fold_seed(seed: int, fold: int) -> int:
    """A 63-bit seed derived from (run seed, fold index), independent across folds."""
    return int(np.random.SeedSequence([seed, fold]).generate_state(2, np.uint64)[0] >> np.uint64(1))


def class_weights(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Inverse-frequency weights N / (C_present N_c); 0 for classes absent from ``labels``.

    A balanced set gets all ones; weights are computed from the training fold only.
    """
    counts = torch.bincount(labels.cpu(), minlength=n_classes).double()
    present = int((counts > 0).sum())
    weights = torch.where(counts > 0, counts.sum() / (present * counts.clamp(min=1)), 0.0)
    return weights.float()


def classification_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    weights: torch.Tensor,
    smoothing: float = LABEL_SMOOTHING,
    gamma: float = 0.0,
    valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """Class-weighted, label-smoothed cross-entropy, optionally focal.

    Per sample: ``-sum_c q_c (1 - p_c)^gamma log p_c`` with ``q`` the smoothed one-hot
    target (1 - smoothing + smoothing/C on the true class, smoothing/C elsewhere),
    weighted by the true class's weight and averaged with those weights. ``gamma = 0``
    is plain weighted cross-entropy with label smoothing.

    Shapes: ``logits`` (..., N, C), ``target`` (..., N), ``weights`` (..., C); one loss
    per leading index (a scalar for one fold, (K,) for K folds). ``valid`` (..., N)
    masks out padding rows; a fold with none left gets 0.
    """
    log_p = F.log_softmax(at_least_float32(logits), -1)
    n_classes = logits.shape[-1]
    q = torch.full_like(log_p, smoothing / n_classes)
    q.scatter_(-1, target[..., None], 1 - smoothing + smoothing / n_classes)
    terms = q * log_p
    if gamma:
        terms = terms * (1 - log_p.exp()).pow(gamma)
    w = weights.gather(-1, target)
    if valid is not None:
        w = w * valid
    return -(w * terms.sum(-1)).sum(-1) / w.sum(-1).clamp(min=torch.finfo(w.dtype).tiny)


def new_model(n_classes: int, options: TrainOptions, own_seed: int) -> tuple[nn.Module, str]:
    """A fold's freshly initialised one-fold model (global RNG seeded with ``own_seed``)."""
    spec = get_model(options.model)
    torch.manual_seed(own_seed)
    model = build_model(spec.name, n_classes, **{name: getattr(options, name) for name in spec.options})
    if not options.init_weights:
        return model, ""
    if spec.load_init is None:
        raise UsageError(f"--init-weights: model {spec.name} takes no initial weights")
    return model, spec.load_init(model, options.init_weights)


def new_optimiser(
    named: list[tuple[str, torch.Tensor]],
    options: TrainOptions,
    total: int,
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW (backbone ``lr``, head 10x) and its cosine schedule over ``total`` steps."""
    backbone_prefixes = get_model(options.model).backbone
    backbone = [p for name, p in named if name.startswith(backbone_prefixes)]
    head = [p for name, p in named if not name.startswith(backbone_prefixes)]
    groups = [{"params": backbone, "lr": options.lr}]
    if head:
        groups.append({"params": head, "lr": options.lr * HEAD_LR_FACTOR})
    optimiser = torch.optim.AdamW(groups, weight_decay=WEIGHT_DECAY)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    return optimiser, schedule


def model_inputs(
    spec: ModelSpec, data: StoreData, rows: torch.Tensor, theta: torch.Tensor | None = None
) -> tuple[torch.Tensor, ...]:
    """The prepared inputs of store ``rows``; with ``theta`` (and a model that augments),
    each sample's inputs warped together by its matrix."""
    inputs = tuple(spec.prepare(data.inputs[name][rows]) for name in spec.inputs)
    if theta is None or not spec.augment:
        return inputs
    return apply_affine(theta, *inputs)


def training_draws(
    spec: ModelSpec, n: int, features: int, generator: torch.Generator
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """One batch's random warps (models that augment) and dropout mask (models taking it from
    the trainer), drawn from the fold's ``generator`` in that order."""
    theta = random_affine(n, generator) if spec.augment else None
    keep = dropout_keep(n, features, generator) if spec.fold_dropout else None
    return theta, keep


def n_batches(n: int, batch: int) -> int:
    """Batches per epoch of ``n`` training samples."""
    full, rest = divmod(n, batch)
    # a trailing batch of one is dropped: BatchNorm cannot normalise it in training mode
    return full + int(rest > 1 or full == 0)


def epoch_batches(n: int, batch: int, generator: torch.Generator) -> list[torch.Tensor]:
    """One epoch's batches: a permutation of ``range(n)`` from the fold's ``generator``."""
    perm = torch.randperm(n, generator=generator)
    return list(torch.split(perm, batch))[: n_batches(n, batch)]


def train_fold(
    data: StoreData,
    fold: Fold,
    options: TrainOptions,
    seed: int,
    device: torch.device,
    progress: bool = True,
) -> FoldResult:
    """Train a fresh model on ``fold.train`` and predict ``fold.test``.

    Parameters
    ----------
    data : StoreData
        Its tensors already on ``device``.
    fold : Fold
    options : TrainOptions
    seed : int
        Run seed; the fold's own seed is ``fold_seed(seed, fold.index)``, which fixes the
        initialisation, the batch order, the augmentation and dropout.
    device : torch.device
    progress : bool
        Show progress on stderr (a bar on a terminal, lines in a log) with the epoch's loss and
        training accuracy.

    Returns
    -------
    FoldResult
    """
    cuda = device.type == "cuda"
    own_seed = fold_seed(seed, fold.index)
    generator = torch.Generator().manual_seed(own_seed)
    n_classes = len(data.class_names)
    spec = get_model(options.model)
    model, init_report = new_model(n_classes, options, own_seed)
    memory_format = torch.channels_last if cuda else torch.contiguous_format
    # Module.to takes memory_format (torch parses its arguments like Tensor.to's); its stubs omit it
    model = model.to(device, memory_format=memory_format)  # type: ignore[call-overload]

    train_rows = torch.as_tensor(fold.train, device=device)
    weights = class_weights(data.labels[train_rows], n_classes).to(device)
    total = max(1, options.epochs * n_batches(len(train_rows), options.batch))
    optimiser, schedule = new_optimiser(list(model.named_parameters()), options, total)
    gamma = FOCAL_GAMMA if options.focal else 0.0
    features = int(model.features) if spec.fold_dropout else 0  # the size of its dropout mask

    losses, accuracies = [], []
    bar = Progress(
        total, f"fold {fold.index} ({fold.subject})", enabled=progress, unit="step", outcomes=False, step=None
    )
    seen = 0
    start = time.perf_counter()
    model.train()
    for _ in range(options.epochs):
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        n_epoch = 0
        for idx in epoch_batches(len(train_rows), options.batch, generator):
            rows = train_rows[idx.to(device)]
            y = data.labels[rows]
            theta, keep = training_draws(spec, len(rows), features, generator)
            inputs = model_inputs(spec, data, rows, None if theta is None else theta.to(device))
            inputs = tuple(x.contiguous(memory_format=memory_format) for x in inputs)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
                logits, _ = spec.forward(model, inputs, None if keep is None else keep.to(device))
            loss = classification_loss(logits, y, weights, gamma=gamma)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            # accumulate on the device: one host sync per epoch, not per step
            loss_sum += loss.detach() * len(rows)
            correct += (logits.argmax(1) == y).sum()
            n_epoch += len(rows)
            bar.update()
        seen += n_epoch
        losses.append(float(loss_sum) / n_epoch)
        accuracies.append(float(correct) / n_epoch)
        bar.note(loss=f"{losses[-1]:.3f}", acc=f"{accuracies[-1]:.2f}")
    if cuda:
        torch.cuda.synchronize(device)
    seconds = max(time.perf_counter() - start, 1e-9)
    bar.close()
    probs, w_trdi = predict(model, data, fold.test, options.batch, device, spec)
    return FoldResult(
        fold=fold,
        seed=seed,
        probs=probs,
        w_trdi=w_trdi,
        loss_per_epoch=losses,
        accuracy_per_epoch=accuracies,
        samples_per_s=seen / seconds,
        samples_seen=seen,
        train_seconds=seconds,
        global_weights=global_weights(model),
        init_report=init_report,
    )


def global_weights(model: nn.Module) -> list[float] | None:
    """The learned global fusion weights of a model that has them (the ``global`` variant)."""
    method = getattr(model, "global_weights", None)
    return method() if callable(method) else None


@torch.no_grad()
def predict(
    model: nn.Module,
    data: StoreData,
    rows: np.ndarray,
    batch: int,
    device: torch.device,
    spec: ModelSpec | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Class probabilities (and the AFN's TRDI weight) of ``rows``, model in eval mode.

    ``spec``: the model's registry entry; default: that of the model ``data`` was loaded for.

    Returns
    -------
    probs : ndarray, shape (len(rows), C)
    w_trdi : ndarray, shape (len(rows),), or None
        The per-sample TRDI fusion weight; ``None`` for models without one.
    """
    spec = spec or get_model(data.model)
    cuda = device.type == "cuda"
    memory_format = torch.channels_last if cuda else torch.contiguous_format
    model.eval()
    probs, w_trdi = [], []
    for chunk in torch.split(torch.as_tensor(rows, device=device), batch):
        inputs = tuple(x.contiguous(memory_format=memory_format) for x in model_inputs(spec, data, chunk))
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            logits, weights = spec.forward(model, inputs)
        probs.append(torch.softmax(logits.float(), 1).cpu())
        if weights is not None:
            w_trdi.append(weights[:, 0].float().cpu())
    return torch.cat(probs).numpy(), (torch.cat(w_trdi).numpy() if w_trdi else None)
