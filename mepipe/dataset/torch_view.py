"""A store as a ``torch.utils.data.Dataset``: a clip store's samples
(``mepipe.dataset.TorchDataset``), a spotting store's windows (``mepipe.dataset.SpotWindows``).

Imports torch; :mod:`mepipe.dataset` imports this module only when asked for the class,
so mepipe works without PyTorch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.utils.data
import zarr

from mepipe.dataset.select import select_samples
from mepipe.dataset.spotting import open_spotting, window_labels
from mepipe.errors import UsageError
from mepipe.store import array, image_names, open_store
from mepipe.store.schema import AU_MULTIHOT
from mepipe.store.spotting import open_spotting_store, read_intervals


class TorchDataset(torch.utils.data.Dataset):
    """Samples of a store, one dict of tensors each.

    Parameters
    ----------
    store : str
        Path or URL of a store written by ``mepipe build``.
    index : sequence of int, optional
        Positions along the ``sample`` axis of ``open_dataset(store, classes)``, e.g. a
        fold from :func:`mepipe.dataset.loso_splits`; default: every sample.
    arrays : sequence of str
        Arrays to return: images (``trdi``, ``midi``, ``onset``, ``apex``, raw ones) and
        any other per-sample array the store holds (``flow``, ``strain``, ``sequence``,
        ``landmarks_aligned``, ...; see ``docs/arrays.md``).
    classes : str, optional
        Class set; default: the store's own.
    transform : callable, optional
        Called with the dict of image tensors, returns the dict to use (one call per
        sample, so TRDI and MIDI can share one random augmentation).

    Each item is ``{array: tensor, "label": int, "subject": str, "sample_id": str}`` in the
    stored dtype, channels first as torchvision and pytorchvideo expect (:func:`channels_first`):
    images ``(C, H, W)``, flow ``(2, H, W)``, strain ``(1, H, W)``, a sequence
    ``(C, T, H, W)``, aligned landmarks ``(68, 2)`` as stored; ``label`` indexes
    ``class_names``. Stores with AU targets add ``"au_multihot"``: uint8 ``(K,)`` over
    :attr:`au_vocabulary`.

    Safe with ``DataLoader(num_workers > 0)``: the store is opened lazily in each process
    that reads from it, never shared across a fork (zarr's I/O runs on an event-loop
    thread that a forked child does not inherit).
    """

    def __init__(
        self,
        store: str,
        index: Sequence[int] | np.ndarray | None = None,
        arrays: Sequence[str] = ("trdi", "midi"),
        classes: str | None = None,
        transform: Callable[[dict], dict] | None = None,
    ) -> None:
        self.store = str(store)
        group = open_store(self.store)
        held = image_names(group)
        for name in arrays:
            if name not in held:
                raise UsageError(f"{self.store}: no array {name!r} to serve; it holds {', '.join(held)}")
        selection = select_samples(group, classes)
        n = len(selection.rows)
        positions = np.arange(n) if index is None else np.asarray(index, dtype=np.int64).reshape(-1)
        outside = positions[(positions < -n) | (positions >= n)]
        if outside.size:
            raise UsageError(
                f"index {int(outside[0])} is outside the {n} samples of {self.store} "
                f"under class set {selection.classes}"
            )
        self.arrays = tuple(arrays)
        self.transform = transform
        self.class_names = list(selection.class_names)
        self.classes = selection.classes
        self.rows = selection.rows[positions]
        self.labels = selection.label_index[positions]
        self.subjects = selection.fields["subject"][positions]
        self.sample_ids = selection.fields["sample_id"][positions]
        targets = selection.fields.get(AU_MULTIHOT)
        self.au_multihot = None if targets is None else np.asarray(targets[positions], dtype=np.uint8)
        self.au_vocabulary = [int(a) for a in selection.provenance.get("au_vocabulary", [])]
        self._opened: tuple[int, dict] | None = None
        # zarr v2 metadata has no dimension names (mepipe writes v3)
        self._dims = {
            name: tuple(getattr(array(group, name).metadata, "dimension_names", None) or ()) for name in self.arrays
        }

    def __len__(self) -> int:
        return len(self.rows)

    def _array(self, name: str) -> zarr.Array:
        # one handle per process: a DataLoader worker opens its own after the fork
        if self._opened is None or self._opened[0] != os.getpid():
            group = open_store(self.store)
            self._opened = (os.getpid(), {name: array(group, name) for name in self.arrays})
        return self._opened[1][name]

    def __getstate__(self) -> dict:
        # spawned workers get the dataset pickled: without the parent's open store
        return {**self.__dict__, "_opened": None}

    def __getitem__(self, i: int) -> dict:
        row = int(self.rows[i])
        images = {
            name: torch.from_numpy(channels_first(np.asarray(self._array(name)[row]), self._dims[name]))
            for name in self.arrays
        }
        if self.transform is not None:
            images = self.transform(images)
        item = {
            **images,
            "label": int(self.labels[i]),
            "subject": str(self.subjects[i]),
            "sample_id": str(self.sample_ids[i]),
        }
        if self.au_multihot is not None:
            item["au_multihot"] = torch.from_numpy(self.au_multihot[i].copy())
        return item


def channels_first(value: np.ndarray, dims: Sequence[str]) -> np.ndarray:
    """One sample of an array, channels first by its dimension names (``sample`` included
    in ``dims``): a trailing ``channel`` / ``component`` axis moves to the front, a map
    ending in ``y, x`` alone gets a leading axis of 1, anything else stays as stored."""
    if dims and dims[-1] in ("channel", "component"):
        value = np.moveaxis(value, -1, 0)
    elif tuple(dims[-2:]) == ("y", "x") and len(dims) == value.ndim + 1:
        value = value[np.newaxis]
    return np.ascontiguousarray(value)


class SpotWindows(torch.utils.data.Dataset):
    """Every valid window ``t`` to ``t + k`` of the chosen videos, with its pseudo-label.

    Parameters
    ----------
    store : str
        A spotting store.
    videos : sequence of int, optional
        Positions along the ``video`` axis of :func:`mepipe.dataset.open_spotting`
        (a fold of :func:`mepipe.dataset.loso_splits`); default: all.
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
