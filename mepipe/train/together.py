"""Training several LOSO folds at once on one device: K models as one grouped network.

At batch 32 one fold's ResNet-18 pair leaves a large GPU mostly idle: every layer is a
small kernel and the step is bound by kernel launches and Python. Here the K folds of a
run (and of several seeds) become one :class:`~mepipe.train.model.FusionNet` with
``folds=K``: convolutions with ``groups=K`` over fold-major channels, BatchNorm over
K x C channels (its statistics are per channel, hence per fold), linear layers as one
batched matmul. A step launches the kernels of one model, each K times larger.

Every fold stays its own model with the sequential path's seeds and data order:

- initialisation: each fold's one-fold model is built from its own seed, then stacked;
- data: each fold draws its batch order, augmentation and dropout from its own
  generator in the same sequence as :func:`~mepipe.train.loop.train_fold`;
- optimisation: each fold has its own ``torch.optim.AdamW`` and cosine schedule over
  views of its slice of the stacked parameters and gradients (AdamW is elementwise, so
  the slices are exactly the fold's own parameters);
- ragged steps: folds have different numbers of batches per epoch and different last
  batches. Epochs are aligned at their end (a fold with fewer batches starts later), a
  short batch is padded with copies of a real row that BatchNorm (a
  :class:`~mepipe.train.model.FoldMask`) and the loss ignore, and a fold without a batch
  at a step is idle: no optimiser step, running statistics unchanged.

Grouped and single convolutions sum in different orders, so the two paths agree to
float rounding, not bit for bit.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from mepipe._shared.progress import Progress
from mepipe.errors import UsageError

from .augment import random_affine
from .data import Fold, StoreData
from .loop import (
    FOCAL_GAMMA,
    FoldResult,
    class_weights,
    classification_loss,
    epoch_batches,
    fold_seed,
    global_weights,
    model_inputs,
    n_batches,
    new_model,
    new_optimiser,
    predict,
)
from .model import FoldMask, dropout_keep
from .models import ModelSpec, get_model
from .options import TrainOptions

_IDENTITY = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def train_folds(
    data: StoreData,
    jobs: list[tuple[Fold, int]],
    options: TrainOptions,
    device: torch.device,
    progress: bool = True,
) -> list[FoldResult]:
    """Train the (fold, run seed) ``jobs`` side by side; results as :func:`train_fold` gives them.

    Parameters
    ----------
    data : StoreData
        Its tensors already on ``device``.
    jobs : list of (Fold, int)
        Folds and their run seeds; the same fold may appear with several seeds.
    options : TrainOptions
        Of a stackable model (:attr:`ModelSpec.stackable <mepipe.train.models.ModelSpec>`).
    device : torch.device
    progress : bool
        One progress display for the group (stderr: a bar on a terminal, lines in a log).

    Returns
    -------
    list of FoldResult
        In the order of ``jobs``. ``train_seconds`` is the group's training time shared
        out by samples seen, so summed over folds it is the wall time.
    """
    spec = get_model(options.model)
    if not spec.stackable:
        raise UsageError(f"--folds-at-once: model {spec.name} cannot train folds side by side; use --sequential")
    cuda = device.type == "cuda"
    memory_format = torch.channels_last if cuda else torch.contiguous_format
    k_folds = len(jobs)
    n_classes = len(data.class_names)
    labels = data.labels.cpu()
    generators, models, reports = [], [], []
    for fold, seed in jobs:
        own_seed = fold_seed(seed, fold.index)
        generators.append(torch.Generator().manual_seed(own_seed))
        model, report = new_model(n_classes, options, own_seed)
        models.append(model)
        reports.append(report)
    # a stackable model's class has stack (ModelSpec.stackable); nn.Module's type does not say so
    stacked: torch.nn.Module = type(models[0]).stack(models)  # type: ignore[attr-defined]
    # Module.to takes memory_format (torch parses its arguments like Tensor.to's); its stubs omit it
    model = stacked.to(device, memory_format=memory_format)  # type: ignore[call-overload]
    del models
    train_rows = [np.asarray(fold.train) for fold, _ in jobs]
    counts = [n_batches(len(rows), options.batch) for rows in train_rows]
    weights = torch.stack([class_weights(labels[rows], n_classes) for rows in train_rows]).to(device)
    optimisers, schedules, grads = _optimisers(model, options, [options.epochs * c for c in counts])
    gamma = FOCAL_GAMMA if options.focal else 0.0
    steps = max(counts)

    losses: list[list[float]] = [[] for _ in jobs]
    accuracies: list[list[float]] = [[] for _ in jobs]
    seen = np.zeros(k_folds, np.int64)
    bar = Progress(
        options.epochs * steps, f"{k_folds} folds at once", enabled=progress, unit="step", outcomes=False, step=None
    )
    start = time.perf_counter()
    model.train()
    for _ in range(options.epochs):
        batches = [epoch_batches(len(rows), options.batch, g) for rows, g in zip(train_rows, generators)]
        loss_sum = torch.zeros(k_folds, device=device)
        correct = torch.zeros(k_folds, device=device, dtype=torch.int64)
        n_epoch = np.zeros(k_folds, np.int64)
        for step in range(steps):
            # epochs aligned at their end: fold k's batch b runs at step b + steps - counts[k]
            chosen = {k: batches[k][step - steps + counts[k]] for k in range(k_folds) if step >= steps - counts[k]}
            batch = _step_inputs(spec, chosen, train_rows, generators, model.features)
            rows = torch.from_numpy(batch["index"]).to(device)
            theta = None if batch["theta"] is None else batch["theta"].to(device)
            size = batch["index"].shape[0]
            inputs = tuple(
                x.reshape(size, k_folds * x.shape[1], *x.shape[2:]).contiguous(memory_format=memory_format)
                for x in model_inputs(spec, data, rows.flatten(), theta)
            )
            y = data.labels[rows].T
            valid = torch.from_numpy(batch["valid"]).to(device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
                logits, _ = spec.forward(model, inputs, batch["keep"].to(device), _mask(batch, device))
            logits = logits.view(k_folds, size, n_classes)  # a one-fold network drops the fold axis
            loss = classification_loss(logits, y, weights, gamma=gamma, valid=valid)
            torch._foreach_zero_(grads)
            loss.sum().backward()
            for k in chosen:
                optimisers[k].step()
                schedules[k].step()
            n_valid = batch["valid"].sum(1)
            loss_sum += loss.detach() * torch.from_numpy(n_valid).to(device)
            correct += ((logits.argmax(-1) == y) & valid).sum(-1)
            n_epoch += n_valid
            bar.update()
        seen += n_epoch
        for k, (total, right) in enumerate(zip(loss_sum.tolist(), correct.tolist())):
            losses[k].append(total / n_epoch[k])
            accuracies[k].append(right / n_epoch[k])
    if cuda:
        torch.cuda.synchronize(device)
    seconds = max(time.perf_counter() - start, 1e-9)
    bar.close()

    results = []
    for k, ((fold, seed), single) in enumerate(zip(jobs, model.unstack())):
        single = single.to(device, memory_format=memory_format)
        probs, w_trdi = predict(single, data, fold.test, options.batch, device, spec)
        results.append(
            FoldResult(
                fold=fold,
                seed=seed,
                probs=probs,
                w_trdi=w_trdi,
                loss_per_epoch=losses[k],
                accuracy_per_epoch=accuracies[k],
                samples_per_s=seen.sum() / seconds,
                samples_seen=int(seen[k]),
                train_seconds=seconds * seen[k] / seen.sum(),
                global_weights=global_weights(single),
                init_report=reports[k],
            )
        )
    return results


def _optimisers(
    model: torch.nn.Module, options: TrainOptions, totals: list[int]
) -> tuple[list[torch.optim.AdamW], list[torch.optim.lr_scheduler.LambdaLR], list[torch.Tensor]]:
    """One AdamW and schedule per fold over its slices of the stacked parameters.

    The gradients are allocated once and zeroed in place before each backward pass,
    which accumulates into them in place: the per-fold views of them stay valid.
    """
    k_folds = len(totals)
    named = list(model.named_parameters())
    grads = []
    for _, p in named:
        p.grad = torch.zeros_like(p)
        grads.append(p.grad)
    optimisers, schedules = [], []
    for k, total in enumerate(totals):
        views = []
        for (name, p), grad in zip(named, grads):
            view = p.detach().chunk(k_folds)[k]
            view.grad = grad.chunk(k_folds)[k]
            views.append((name, view))
        optimiser, schedule = new_optimiser(views, options, max(1, total))
        optimisers.append(optimiser)
        schedules.append(schedule)
    return optimisers, schedules, grads


def _step_inputs(
    spec: ModelSpec,
    chosen: dict[int, torch.Tensor],
    train_rows: list[np.ndarray],
    generators: list[torch.Generator],
    features: int,
) -> dict:
    """Store rows, warps, dropout masks and validity of one step of all folds.

    Draws, for each fold with a batch at this step and in the order ``train_fold``
    does, its augmentation (models that augment) and then its dropout mask. Short and
    idle folds are padded with their first training row, an identity warp and no dropout.

    Returns
    -------
    dict
        ``index`` (B, K) int64 store rows, ``theta`` (B*K, 2, 3) or None (a model that
        does not augment), ``keep`` (K, B, F)
        bool, ``valid`` (K, B) bool, ``active`` (K,) bool, ``ragged``: an active fold
        has fewer than B rows.
    """
    k_folds = len(train_rows)
    size = max(len(idx) for idx in chosen.values())
    index = np.stack([np.full(size, rows[0]) for rows in train_rows], 1)
    theta = _IDENTITY.expand(size, k_folds, 2, 3).clone()
    keep = torch.ones(k_folds, size, features, dtype=torch.bool)
    valid = np.zeros((k_folds, size), bool)
    for k, idx in chosen.items():
        n = len(idx)
        index[:n, k] = train_rows[k][idx.numpy()]
        if spec.augment:
            theta[:n, k] = random_affine(n, generators[k])
        keep[k, :n] = dropout_keep(n, features, generators[k])
        valid[k, :n] = True
    active = np.zeros(k_folds, bool)
    active[list(chosen)] = True
    ragged = any(len(idx) < size for idx in chosen.values())
    return {
        "index": index,
        "theta": theta.view(-1, 2, 3) if spec.augment else None,
        "keep": keep,
        "valid": valid,
        "active": active,
        "ragged": ragged,
    }


def _mask(batch: dict, device: torch.device) -> FoldMask | None:
    """The BatchNorm mask of a step; ``None`` when every fold fills every row."""
    idle = not batch["active"].all()
    if not (batch["ragged"] or idle):
        return None
    rows = None
    if batch["ragged"]:
        # idle folds count all their (padding) rows: finite statistics that nothing keeps
        rows = torch.from_numpy((batch["valid"] | ~batch["active"][:, None]).T.copy()).to(device)
    active = torch.from_numpy(batch["active"]).to(device) if idle else None
    return FoldMask(rows, active)
