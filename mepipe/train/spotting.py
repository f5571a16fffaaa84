"""Training a spotting model of the registry (``task="spotting"``, e.g. ``softnet``): one
score per window, regressed on the window's pseudo-label with MSE by plain SGD, as SOFTNet
trains; and its scores on new windows.

The windows and labels come from the caller (:mod:`mepipe.spot.learned` picks them from a
spotting store, leave one subject out); this module holds only what needs PyTorch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .models import build_model, get_model

#: windows scored at once
PREDICT_BATCH = 1024


def train_spotter(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    model: str = "softnet",
    epochs: int = 10,
    batch: int = 12,
    lr: float = 5e-4,
    seed: int = 0,
) -> tuple[nn.Module, list[float]]:
    """A fresh network of the spotting model ``model`` trained on ``images`` and ``labels``.

    Parameters
    ----------
    images : ndarray, float32 (N, H, W, C)
        The windows' images as the store holds them (the entry's ``prepare`` makes its input).
    labels : ndarray (N,)
        The score each window is regressed on (SOFTNet: its 0/1 pseudo-label).
    model : str
        A registered spotting model.
    epochs, batch, lr : int, int, float
        Passes in the given order (shuffle beforehand), windows per step, SGD's learning rate.
    seed : int
        The initial weights (the caller's global generator is left as it was).

    Returns
    -------
    model : torch.nn.Module
        In eval mode.
    losses : list of float
        The mean training loss of each epoch.
    """
    spec = get_model(model, "spotting")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = build_model(model, 1, task="spotting")
    x = spec.prepare(torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)))
    y = torch.from_numpy(np.asarray(labels, dtype=np.float32)).reshape(-1, 1).to(x.dtype)
    optimiser = torch.optim.SGD(network.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    losses = []
    network.train()
    for _ in range(epochs):
        total = 0.0
        for start in range(0, len(y), batch):
            optimiser.zero_grad()
            target = y[start : start + batch]
            loss = loss_fn(network(x[start : start + batch]), target)
            loss.backward()
            optimiser.step()
            total += loss.item() * len(target)
        losses.append(total / max(1, len(y)))
    network.eval()
    return network, losses


def window_scores(network: nn.Module, images: np.ndarray, model: str = "softnet") -> np.ndarray:
    """The score of each window (float64 (T,)) by a trained ``network`` of the spotting
    model ``model``; NaN where the window's image was not computed (holds NaN)."""
    prepare = get_model(model, "spotting").prepare
    scores = np.full(len(images), np.nan)
    computed = np.flatnonzero(~np.isnan(images).any(axis=tuple(range(1, images.ndim))))
    with torch.no_grad():
        for start in range(0, computed.size, PREDICT_BATCH):
            rows = computed[start : start + PREDICT_BATCH]
            scores[rows] = network(prepare(torch.from_numpy(images[rows]))).reshape(-1).double().numpy()
    return scores
