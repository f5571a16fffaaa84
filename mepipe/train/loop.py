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
from tqdm import tqdm

from ..errors import UsageError
from .augment import apply_affine, random_affine, standardise
from .data import Fold, StoreData
from .model import FusionNet, load_backbone

#: head learning rate = HEAD_LR_FACTOR x backbone learning rate (1e-3 vs 1e-4 by default)
HEAD_LR_FACTOR = 10.0
WEIGHT_DECAY = 1e-4
LABEL_SMOOTHING = 0.1
FOCAL_GAMMA = 2.0


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters shared by every fold of a run (method.md section 4)."""

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
    logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor,
    smoothing: float = LABEL_SMOOTHING, gamma: float = 0.0,
) -> torch.Tensor:
    """Class-weighted, label-smoothed cross-entropy, optionally focal.

    Per sample: ``-sum_c q_c (1 - p_c)^gamma log p_c`` with ``q`` the smoothed one-hot
    target (1 - smoothing + smoothing/C on the true class, smoothing/C elsewhere),
    weighted by the true class's weight and averaged with those weights. ``gamma = 0``
    is plain weighted cross-entropy with label smoothing.
    """
    log_p = F.log_softmax(logits.float(), 1)
    n_classes = logits.shape[1]
    q = torch.full_like(log_p, smoothing / n_classes)
    q.scatter_(1, target[:, None], 1 - smoothing + smoothing / n_classes)
    terms = q * log_p
    if gamma:
        terms = terms * (1 - log_p.exp()).pow(gamma)
    w = weights[target]
    return -(w * terms.sum(1)).sum() / w.sum()


def _n_batches(n: int, batch: int) -> int:
    full, rest = divmod(n, batch)
    # a trailing batch of one is dropped: BatchNorm cannot normalise it in training mode
    return full + int(rest > 1 or full == 0)


def _batches(n: int, batch: int, generator: torch.Generator) -> list[torch.Tensor]:
    perm = torch.randperm(n, generator=generator)
    return list(torch.split(perm, batch))[: _n_batches(n, batch)]


def train_fold(
    data: StoreData, fold: Fold, config: TrainConfig, seed: int,
    device: torch.device, progress: bool = True,
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
        Show a tqdm bar (stderr) with the epoch's loss and training accuracy.

    Returns
    -------
    FoldResult
    """
    cuda = device.type == "cuda"
    own_seed = fold_seed(seed, fold.index)
    torch.manual_seed(own_seed)
    generator = torch.Generator().manual_seed(own_seed)
    n_classes = len(data.class_names)
    model = FusionNet(n_classes, config.variant, config.width)
    init_report = load_backbone(model, config.init_weights) if config.init_weights else ""
    memory_format = torch.channels_last if cuda else torch.contiguous_format
    model = model.to(device, memory_format=memory_format)

    backbone = [p for s in model.streams() for p in s.parameters()]
    backbone_ids = {id(p) for p in backbone}
    head = [p for p in model.parameters() if id(p) not in backbone_ids]
    optimiser = torch.optim.AdamW(
        [{"params": backbone, "lr": config.lr}, {"params": head, "lr": config.lr * HEAD_LR_FACTOR}],
        weight_decay=WEIGHT_DECAY,
    )
    train_rows = torch.as_tensor(fold.train, device=device)
    labels = data.labels[train_rows]
    weights = class_weights(labels, n_classes).to(device)
    total = max(1, config.epochs * _n_batches(len(train_rows), config.batch))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    gamma = FOCAL_GAMMA if config.focal else 0.0

    losses, accuracies = [], []
    bar = tqdm(total=total, desc=f"fold {fold.index + 1} ({fold.subject})", disable=not progress,
               leave=True, dynamic_ncols=True)
    seen = 0
    start = time.perf_counter()
    model.train()
    for _ in range(config.epochs):
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        n_epoch = 0
        for idx in _batches(len(train_rows), config.batch, generator):
            rows = train_rows[idx.to(device)]
            y = data.labels[rows]
            trdi, midi = apply_affine(
                random_affine(len(rows), generator, device),
                standardise(data.trdi[rows]), standardise(data.midi[rows]),
            )
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
                logits, _ = model(trdi.contiguous(memory_format=memory_format),
                                  midi.contiguous(memory_format=memory_format))
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
        bar.set_postfix(loss=f"{losses[-1]:.3f}", acc=f"{accuracies[-1]:.2f}")
    if cuda:
        torch.cuda.synchronize(device)
    samples_per_s = seen / max(time.perf_counter() - start, 1e-9)
    bar.close()
    probs, w_trdi = predict(model, data, fold.test, config.batch, device)
    return FoldResult(
        fold=fold, seed=seed, probs=probs, w_trdi=w_trdi, loss_per_epoch=losses,
        accuracy_per_epoch=accuracies, samples_per_s=samples_per_s,
        global_weights=model.global_weights(), init_report=init_report,
    )


@torch.no_grad()
def predict(
    model: FusionNet, data: StoreData, rows: np.ndarray, batch: int, device: torch.device,
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
