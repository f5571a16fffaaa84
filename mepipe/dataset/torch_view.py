"""A store as a ``torch.utils.data.Dataset``: a clip store's samples
(``mepipe.dataset.TorchDataset``), a spotting store's windows (``mepipe.dataset.SpotWindows``)
and its face stream's clips (``mepipe.dataset.FaceWindows``).

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
from mepipe.dataset.windows import IMAGENET_MEAN, IMAGENET_STD, face_windows
from mepipe.errors import UsageError
from mepipe.release.longvideo import TYPES
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


class FaceWindows(torch.utils.data.Dataset):
    """Sliding windows of a spotting store's face stream as clips for video backbones.

    Parameters
    ----------
    store : str
        A spotting store holding ``face`` or ``face_gray`` (``mepipe build ... --arrays
        ...,face``).
    videos : sequence of int, optional
        Positions along the ``video`` axis of :func:`mepipe.dataset.open_spotting` (a fold
        of :func:`mepipe.dataset.loso_splits`); default: all.
    length, stride : int
        Frames per window, frames between window starts (kept frames;
        :func:`mepipe.dataset.windows.window_starts`).
    types : sequence of str
        Interval types, one label column each.
    size : int, optional
        Side the frames are resized to (bilinear), e.g. 224 for VideoMAE; default: as
        stored (128).
    mean, std : sequence of float
        Per RGB channel, applied to values on ``[0, 1]``; default ImageNet's, VideoMAE's
        (:data:`mepipe.dataset.windows.IMAGENET_MEAN`).
    array : str, optional
        ``face`` or ``face_gray`` (its one channel repeated into three); default: the
        store's.

    Each item: ``frames`` float32 ``(3, length, size, size)`` RGB, ``(value / 255 - mean)
    / std``; ``overlap`` float32 ``(types,)`` (the share of the window's frames in an
    interval of each type); ``label`` int64 ``(types,)`` (SOFTNet's pseudo-label: the
    window overlaps one by a frame); ``video`` (name), ``start`` (position of its first
    kept frame), ``frame`` (that frame's number in the release). A window of a frame whose
    face was lost holds that frame as stored (zeros). Reads a video's rows a zarr chunk
    at a time and keeps the last chunks read, so windows in order cost one read per chunk;
    the store is opened lazily in each reading process (safe with ``DataLoader(num_workers
    > 0)``).
    """

    def __init__(
        self,
        store: str,
        videos: Sequence[int] | np.ndarray | None = None,
        length: int = 16,
        stride: int = 4,
        types: Sequence[str] = TYPES,
        size: int | None = None,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        array: str | None = None,
    ) -> None:
        self.index = face_windows(store, videos, length, stride, types, array)
        self.store = self.index.store
        self.size = size
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(3, 1, 1, 1)
        self._opened: tuple[int, Any] | None = None
        self._cached: tuple[str, int, int, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.index)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_opened": None, "_cached": None}

    def _array(self, video: str) -> Any:
        if self._opened is None or self._opened[0] != os.getpid():
            self._opened = (os.getpid(), zarr.open_group(self.store, mode="r"))
        return self._opened[1][f"videos/{video}/{self.index.array}"]

    def rows(self, video: str, start: int, stop: int) -> np.ndarray:
        """uint8 rows ``[start, stop)`` of a video's face array, read by whole chunks."""
        cached = self._cached
        if cached is None or cached[0] != video or start < cached[1] or stop > cached[2]:
            stored = self._array(video)
            chunk = int(stored.chunks[0])
            first, last = start // chunk * chunk, min(-(-stop // chunk) * chunk, stored.shape[0])
            cached = (video, first, last, np.asarray(stored[first:last]))
            self._cached = cached
        return cached[3][start - cached[1] : stop - cached[1]]

    def clip(self, video: str, start: int, frames: int) -> torch.Tensor:
        """float32 ``(3, length, size, size)``: the normalised window at ``start``."""
        length = self.index.length
        stop = min(start + length, frames)
        values = self.rows(video, start, stop)
        if len(values) < length:  # a video shorter than a window: its last frame repeated
            values = np.concatenate([values, np.repeat(values[-1:], length - len(values), axis=0)])
        clip = torch.from_numpy(np.ascontiguousarray(values)).float().div_(255.0)
        clip = clip.unsqueeze(-1).expand(*clip.shape, 3) if clip.ndim == 3 else clip
        clip = clip.permute(3, 0, 1, 2)  # (T, H, W, C) -> (C, T, H, W)
        if self.size is not None and self.size != clip.shape[-1]:
            size = (self.size, self.size)
            clip = torch.nn.functional.interpolate(clip, size=size, mode="bilinear", align_corners=False)
        return ((clip - self.mean) / self.std).contiguous()

    def __getitem__(self, item: int) -> dict[str, Any]:
        video, window = self.index.window(item)
        start = int(video.starts[window])
        return {
            "frames": self.clip(video.name, start, video.frames),
            "overlap": torch.from_numpy(video.overlap[window].copy()),
            "label": torch.from_numpy(video.label[window].astype(np.int64)),
            "video": video.name,
            "start": start,
            "frame": int(video.numbers[start]),
        }
