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

from mepipe._shared.progress import Progress
from mepipe.errors import UsageError

from .augment import apply_affine, random_affine, standardise
from .data import Fold, StoreData
from .model import FusionNet, at_least_float32, dropout_keep, load_backbone

#: head learning rate = HEAD_LR_FACTOR x backbone learning rate (1e-3 vs 1e-4 by default)
HEAD_LR_FACTOR = 10.0
WEIGHT_DECAY = 1e-4
LABEL_SMOOTHING = 0.1
FOCAL_GAMMA = 2.0
#: parameter-name prefixes of the backbone (learning rate ``lr``; the rest gets 10x)
BACKBONE = ("trdi_stream.", "midi_stream.")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters shared by every fold of a run (docs/method.md section 4)."""

    variant: str = "afn"
    epochs: int = 30
    batch: int = 32
    lr: float = 1e-4
    width: int = 64
    focal: bool = False
    init_weights: str | None = None


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


def new_model(n_classes: int, config: TrainConfig, own_seed: int) -> tuple[FusionNet, str]:
    """A fold's freshly initialised one-fold model (global RNG seeded with ``own_seed``)."""
    torch.manual_seed(own_seed)
    model = FusionNet(n_classes, config.variant, config.width)
    init_report = load_backbone(model, config.init_weights) if config.init_weights else ""
    return model, init_report


def new_optimiser(
    named: list[tuple[str, torch.Tensor]],
    config: TrainConfig,
    total: int,
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW (backbone ``lr``, head 10x) and its cosine schedule over ``total`` steps."""
    backbone = [p for name, p in named if name.startswith(BACKBONE)]
    head = [p for name, p in named if not name.startswith(BACKBONE)]
    optimiser = torch.optim.AdamW(
        [{"params": backbone, "lr": config.lr}, {"params": head, "lr": config.lr * HEAD_LR_FACTOR}],
        weight_decay=WEIGHT_DECAY,
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    return optimiser, schedule


def augmented(data: StoreData, rows: torch.Tensor, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Standardised TRDI and MIDI of store ``rows``, each pair warped by its ``theta``."""
    trdi, midi = apply_affine(theta, standardise(data.trdi[rows]), standardise(data.midi[rows]))
    return trdi, midi


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
    config: TrainConfig,
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
    config : TrainConfig
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
    model, init_report = new_model(n_classes, config, own_seed)
    memory_format = torch.channels_last if cuda else torch.contiguous_format
    # Module.to takes memory_format (torch parses its arguments like Tensor.to's); its stubs omit it
    model = model.to(device, memory_format=memory_format)  # type: ignore[call-overload]

    train_rows = torch.as_tensor(fold.train, device=device)
    weights = class_weights(data.labels[train_rows], n_classes).to(device)
    total = max(1, config.epochs * n_batches(len(train_rows), config.batch))
    optimiser, schedule = new_optimiser(list(model.named_parameters()), config, total)
    gamma = FOCAL_GAMMA if config.focal else 0.0

    losses, accuracies = [], []
    bar = Progress(
        total, f"fold {fold.index + 1} ({fold.subject})", enabled=progress, unit="step", outcomes=False, step=None
    )
    seen = 0
    start = time.perf_counter()
    model.train()
    for _ in range(config.epochs):
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        n_epoch = 0
        for idx in epoch_batches(len(train_rows), config.batch, generator):
            rows = train_rows[idx.to(device)]
            y = data.labels[rows]
            trdi, midi = augmented(data, rows, random_affine(len(rows), generator, device))
            keep = dropout_keep(len(rows), model.features, generator).to(device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
                logits, _ = model(
                    trdi.contiguous(memory_format=memory_format), midi.contiguous(memory_format=memory_format), keep
                )
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
    probs, w_trdi = predict(model, data, fold.test, config.batch, device)
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
        global_weights=model.global_weights(),
        init_report=init_report,
    )


@torch.no_grad()
def predict(
    model: FusionNet,
    data: StoreData,
    rows: np.ndarray,
    batch: int,
    device: torch.device,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Class probabilities (and the AFN's TRDI weight) of ``rows``, model in eval mode.

    Returns
    -------
    probs : ndarray, shape (len(rows), C)
    w_trdi : ndarray, shape (len(rows),), or None
        The per-sample TRDI fusion weight; ``None`` for variants without one.
    """
    cuda = device.type == "cuda"
    memory_format = torch.channels_last if cuda else torch.contiguous_format
    model.eval()
    probs, w_trdi = [], []
    for chunk in torch.split(torch.as_tensor(rows, device=device), batch):
        trdi = standardise(data.trdi[chunk]).contiguous(memory_format=memory_format)
        midi = standardise(data.midi[chunk]).contiguous(memory_format=memory_format)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            logits, weights = model(trdi, midi)
        probs.append(torch.softmax(logits.float(), 1).cpu())
        if weights is not None:
            w_trdi.append(weights[:, 0].float().cpu())
    return torch.cat(probs).numpy(), (torch.cat(w_trdi).numpy() if w_trdi else None)
