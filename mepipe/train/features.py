"""A video backbone over a spotting store's face stream: one feature row per window, in
the layout the ActionFormer family (ActionFormer, TriDet) reads (``mepipe features``).

The backbone is any ``torch.nn.Module`` read from a local file (nothing is downloaded):
a TorchScript archive (``torch.jit.save``), a ``torch.export`` archive
(``torch.export.save``), or the weights of a model registered in
:mod:`mepipe.train.models`. It maps float ``(B, C, T, H, W)`` clips
(:class:`mepipe.dataset.FaceWindows`: ImageNet-normalised RGB) to ``(B, D)``. The outputs::

    DIR/features/<video>.npy       float32 (T', D): row i is window i, frames
                                   i stride .. i stride + length - 1 (kept frames)
    DIR/annotations/loso_<subject>.json
                                   one per leave-one-subject-out fold:
                                   {"version", "database": {video: {"subset": training |
                                   validation, "duration" (s), "fps", "annotations":
                                   [{"segment": [start_s, end_s], "label", "label_id"}]}}}
    DIR/features.json              what made them: store, backbone and its sha256, array,
                                   length (ActionFormer's num_frames), stride (its
                                   feat_stride), size, normalisation, D, per video T and T'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mepipe._shared.progress import Progress
from mepipe.arrays.face import FACE_SIDE
from mepipe.dataset import loso_splits, open_spotting
from mepipe.dataset.torch_view import FaceWindows
from mepipe.dataset.windows import IMAGENET_MEAN, IMAGENET_STD, VideoWindows
from mepipe.errors import MepipeError, UsageError
from mepipe.release.longvideo import TYPES
from mepipe.train.models import build_model, model_names
from mepipe.train.models.registry import TASKS

#: the layout's name, written as each annotation file's ``version``
FORMAT = "mepipe-features/1"


def load_backbone(path: str | Path, model: str | None = None, outputs: int = 1, device: str = "cpu") -> nn.Module:
    """The backbone in ``path``, in eval mode on ``device``.

    Parameters
    ----------
    path : str or Path
        A TorchScript archive, or (with ``model``) a state dict saved by ``torch.save``.
    model : str, optional
        A model registered in :mod:`mepipe.train.models` (either task), built with
        ``outputs`` and given the weights of ``path``.
    outputs : int
        The registered model's ``n_classes`` (its last layer's width in the weights).
    device : str
        ``cpu`` or ``cuda``.
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--backbone {path}: no such file")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {device}: this PyTorch sees no CUDA device")
    if model is None:
        network = _archive(path, device)
    else:
        task = next((t for t in TASKS if model in model_names(t)), None)
        if task is None:
            known = sorted({n for t in TASKS for n in model_names(t)})
            raise UsageError(f"--model {model}: no registered model of that name; known: {', '.join(known)}")
        network = build_model(model, outputs, task)
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        try:
            network.load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError) as exc:
            raise UsageError(f"--backbone {path}: not weights of {model!r}: {str(exc).splitlines()[0]}") from None
        network = network.to(device)
    try:
        network.eval()
    except NotImplementedError:  # an exported module is in eval mode already, and says so
        pass
    return network


def _archive(path: Path, device: str) -> nn.Module:
    """A TorchScript archive, or else a ``torch.export`` one (``.pt2``), as a module."""
    try:
        loaded: nn.Module = torch.jit.load(str(path), map_location=device)
        return loaded
    except (RuntimeError, ValueError):
        pass
    try:
        program = torch.export.load(str(path))
    except Exception:  # torch.export raises what its unzip and unpickle raise
        raise UsageError(
            f"--backbone {path} is not a TorchScript archive (torch.jit.save) nor a torch.export one "
            "(torch.export.save); for the weights of a registered model pass --model NAME"
        ) from None
    return program.module().to(device)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def video_annotations(video: VideoWindows, types: Sequence[str]) -> list[dict[str, Any]]:
    """A video's intervals as ActionFormer's annotations: seconds on the kept frames' time
    axis (:meth:`~mepipe.dataset.windows.VideoWindows.seconds`), the type and its index."""
    found = []
    for interval in sorted(video.intervals, key=lambda i: (i.onset, i.offset)):
        start, end = video.seconds(interval)
        found.append({"segment": [start, end], "label": interval.type, "label_id": list(types).index(interval.type)})
    return found


def fold_database(
    videos: Sequence[VideoWindows], training: set[str], types: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """ActionFormer's ``database`` of one fold: every video, ``training`` or ``validation``."""
    return {
        v.name: {
            "subset": "training" if v.name in training else "validation",
            "duration": round(v.duration, 6),
            "fps": v.fps,
            "annotations": video_annotations(v, types),
        }
        for v in videos
    }


@dataclass
class FeatureSummary:
    """What ``mepipe features`` wrote."""

    out: str
    dim: int = 0
    videos: dict[str, tuple[int, int]] = field(default_factory=dict)
    folds: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def format(self) -> str:
        windows = sum(w for _, w in self.videos.values())
        frames = sum(t for t, _ in self.videos.values())
        return "\n".join(
            [
                f"{len(self.videos)} videos, {frames} frames, {windows} windows -> features of {self.dim} "
                f"in {self.out}/features ({self.seconds:.1f} s)",
                *(f"  {name}: {t} frames -> ({w}, {self.dim})" for name, (t, w) in self.videos.items()),
                f"{len(self.folds)} LOSO folds in {self.out}/annotations: {', '.join(self.folds)}",
            ]
        )


def extract_features(
    store: str,
    backbone: str | Path,
    out: str | Path,
    *,
    model: str | None = None,
    outputs: int = 1,
    length: int = 16,
    stride: int = 4,
    size: int | None = None,
    batch: int = 8,
    device: str = "cpu",
    types: Sequence[str] = TYPES,
    array: str | None = None,
    progress: bool = True,
) -> FeatureSummary:
    """Run a backbone over every window of a spotting store's face stream (see the module).

    Returns
    -------
    FeatureSummary
        Per video its kept frames and windows, the feature width, the folds written.
    """
    import time

    began = time.perf_counter()
    store, out = str(store), Path(out)
    names = [str(v) for v in open_spotting(store).video.values]
    folds = [(subject, {names[i] for i in train}) for subject, train, _ in loso_splits(store)]
    windows = FaceWindows(store, None, length, stride, types, size, array=array)
    network = load_backbone(backbone, model, outputs, device)
    index = windows.index
    (out / "features").mkdir(parents=True, exist_ok=True)
    summary = FeatureSummary(str(out))
    with Progress(len(index), "features", enabled=progress, unit="window") as bar, torch.inference_mode():
        for position, video in enumerate(index.videos):
            items = np.flatnonzero(index.rows[:, 0] == position)
            rows = []
            for first in range(0, len(items), batch):
                clips = torch.stack([windows[int(i)]["frames"] for i in items[first : first + batch]]).to(device)
                values = network(clips)
                if not isinstance(values, torch.Tensor) or values.ndim != 2 or values.shape[0] != len(clips):
                    shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
                    raise MepipeError(
                        f"the backbone maps clips {tuple(clips.shape)} to {shape}; mepipe features needs (B, D)"
                    )
                rows.append(values.float().cpu().numpy())
                bar.update(True, len(clips))
            features = np.concatenate(rows) if rows else np.zeros((0, summary.dim), np.float32)
            summary.dim = summary.dim or int(features.shape[1])
            np.save(out / "features" / f"{video.name}.npy", features.astype(np.float32))
            summary.videos[video.name] = (video.frames, len(features))
    (out / "annotations").mkdir(exist_ok=True)
    for subject, training in folds:
        document = {
            "version": f"{FORMAT} loso {subject}",
            "database": fold_database(index.videos, training, types),
        }
        (out / "annotations" / f"loso_{subject}.json").write_text(json.dumps(document, indent=1) + "\n")
        summary.folds.append(subject)
    about = {
        "format": FORMAT,
        "store": store,
        "backbone": str(backbone),
        "backbone_sha256": file_sha256(backbone),
        "model": model,
        "array": index.array,
        "length": length,
        "stride": stride,
        "size": size or FACE_SIDE,
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "types": list(types),
        "dim": summary.dim,
        "device": device,
        "videos": {name: {"frames": t, "windows": w} for name, (t, w) in summary.videos.items()},
    }
    (out / "features.json").write_text(json.dumps(about, indent=1) + "\n")
    summary.seconds = time.perf_counter() - began
    return summary
