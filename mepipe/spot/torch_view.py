"""A spotting store's windows as a ``torch.utils.data.Dataset`` (SOFTNet's training data).

Imports torch; nothing else in :mod:`mepipe.spot` imports this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.utils.data
import zarr

from .read import open_spotting_store, window_labels
from .store import read_intervals


class SpotWindows(torch.utils.data.Dataset):
    """Every valid window ``t`` to ``t + k`` of the chosen videos, with its pseudo-label.

    Parameters
    ----------
    store : str
        A spotting store.
    videos : sequence of int, optional
        Positions along the ``video`` axis of :func:`mepipe.spot.read.open_spotting`
        (a fold of :func:`mepipe.spot.read.loso_splits`); default: all.
    types : sequence of str
        Interval types that make a window positive (``micro``, ``macro``).

    Each item: ``images`` float32 ``(3, 42, 42)`` (u, v, strain, channels first),
    ``region_motion`` float32 ``(R,)``, ``label`` (1 when the window overlaps an interval
    of ``types``, SOFTNet's pseudo-label), ``video`` (name), ``frame`` (the release's number
    of the window's first frame). The store is opened lazily in each reading process
    (safe with ``DataLoader(num_workers > 0)``).
    """

    def __init__(
        self, store: str, videos: Sequence[int] | np.ndarray | None = None, types: Sequence[str] = ("micro", "macro")
    ) -> None:
        from .read import open_spotting

        self.store = str(store)
        view = open_spotting(self.store)
        names = [str(v) for v in view.video.values]
        chosen = range(len(names)) if videos is None else [int(v) for v in videos]
        intervals = [i for i in read_intervals(open_spotting_store(self.store)) if i.type in types]
        rows: list[tuple[str, int, int, int]] = []
        for position in chosen:
            name = names[position]
            group = open_spotting_store(self.store)[f"videos/{name}"]
            numbers = group["numbers"][:]
            labels = window_labels(
                numbers, int(group.attrs["k"]), [i for i in intervals if i.video == name], group["valid"][:]
            )
            rows += [(name, int(t), int(numbers[t]), int(labels[t])) for t in np.flatnonzero(labels >= 0)]
        self.rows = rows
        self._group: Any = None

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def labels(self) -> np.ndarray:
        """Every window's label, in item order (for class weights or a sampler)."""
        return np.array([row[3] for row in self.rows], dtype=np.int64)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if self._group is None:
            self._group = zarr.open_group(self.store, mode="r")
        name, position, number, label = self.rows[index]
        group = self._group[f"videos/{name}"]
        image = np.ascontiguousarray(group["images"][position].transpose(2, 0, 1))
        return {
            "images": torch.from_numpy(image),
            "region_motion": torch.from_numpy(np.asarray(group["region_motion"][position])),
            "label": label,
            "video": name,
            "frame": number,
        }
