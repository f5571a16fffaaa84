"""The run's figures: confusion matrices, fusion weights and training curves (matplotlib, Agg)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import ModuleType

import numpy as np

from mepipe.errors import MepipeError


def _pyplot() -> ModuleType:
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise MepipeError("mepipe train needs matplotlib for its figures: pip install 'mepipe[train]'") from None
    matplotlib.use("Agg")  # files only: never a window, works without a display
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(confusion: np.ndarray, class_names: list[str], path: Path, title: str) -> None:
    """Counts and row-normalised (recall) confusion matrices side by side."""
    plt = _pyplot()
    confusion = np.asarray(confusion)
    rows = confusion.sum(1, keepdims=True)
    normalised = np.divide(confusion, rows, out=np.zeros(confusion.shape), where=rows > 0)
    size = 2.5 + 0.5 * len(class_names)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size), constrained_layout=True)
    for ax, matrix, name, fmt in ((axes[0], confusion, "counts", "d"), (axes[1], normalised, "row-normalised", ".2f")):
        ax.imshow(matrix, cmap="Blues", vmin=0)
        peak = matrix.max() if matrix.max() > 0 else 1
        for (i, j), v in np.ndenumerate(matrix):
            ax.text(j, i, format(v, fmt), ha="center", va="center", color="white" if v > peak / 2 else "black")
        ticks = range(len(class_names))
        ax.set_xticks(ticks, class_names, rotation=45, ha="right")
        ax.set_yticks(ticks, class_names)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(name)
    fig.suptitle(title)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_fusion_weights(
    w_trdi: np.ndarray | None, true: np.ndarray, class_names: list[str], path: Path, note: str
) -> None:
    """Distribution of the per-sample TRDI weight on test samples, one box per true class.

    ``w_trdi`` is ``None`` for variants without sample-wise weights; the image then
    says so (with ``note``) instead of staying silently empty.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(2 + 0.9 * len(class_names), 4), constrained_layout=True)
    if w_trdi is None:
        ax.text(0.5, 0.5, textwrap.fill(note, 40), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        groups = [w_trdi[true == c] for c in range(len(class_names))]
        ax.boxplot([g if len(g) else [np.nan] for g in groups], showfliers=False)
        jitter = np.random.default_rng(0)
        for c, g in enumerate(groups):
            ax.plot(c + 1 + jitter.uniform(-0.15, 0.15, len(g)), g, ".", alpha=0.6)
        ax.set_xticks(range(1, len(class_names) + 1), class_names, rotation=45, ha="right")
        ax.axhline(0.5, color="grey", lw=0.8, ls="--")
        ax.set_ylim(-0.05, 1.05)  # weights of 0 or 1 stay whole, not cut by the frame
        ax.set_ylabel("TRDI weight w_T (MIDI: 1 - w_T)")
        ax.set_title(note)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_curves(curves: list[tuple[str, list[float]]], path: Path) -> None:
    """Training loss per epoch, one line per (fold, seed)."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    for label, losses in curves:
        ax.plot(range(1, len(losses) + 1), losses, marker="." if len(losses) < 20 else None, label=label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (mean over the epoch)")
    ax.set_title("training loss per fold")
    if len(curves) <= 16:
        ax.legend(fontsize="small", ncol=2)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_sweep(variants: dict[str, dict], scores: tuple[str, ...], path: Path, title: str) -> None:
    """Grouped bars: one group per score, one bar per variant (mean), whiskers one std."""
    plt = _pyplot()
    names = list(variants)
    fig, ax = plt.subplots(figsize=(2.5 + 1.2 * len(scores) * max(len(names), 2) / 3, 4.5), constrained_layout=True)
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        means = [variants[name][k] for k in scores]
        stds = [variants[name][f"{k}_std"] for k in scores]
        ax.bar(
            np.arange(len(scores)) + (i - (len(names) - 1) / 2) * width, means, width, yerr=stds, capsize=3, label=name
        )
    ax.set_xticks(range(len(scores)), scores)
    ax.set_ylim(0, 1)
    ax.set_ylabel("pooled LOSO score")
    ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="small", ncol=min(len(names), 4))
    fig.savefig(path, dpi=100)
    plt.close(fig)
