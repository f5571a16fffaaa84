"""A clip's frames on disk: find them by the number in their names, decode them.

Frames are matched to the sheet by the integer parsed from each file name, never by
position in a listing (``os.listdir`` order is arbitrary, and folders may hold gaps or
extra frames). Decoding goes through ``np.fromfile`` + ``cv2.imdecode`` so that non-ASCII
paths work on every platform, and rejects the damaged files OpenCV would accept silently.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from mepipe.errors import SampleError
from mepipe.release.names import find_folder
from mepipe.release.recipe import Recipe, Sample

_JPEG_START = b"\xff\xd8"
_JPEG_END = b"\xff\xd9"
#: encoders may pad a JPEG after its end marker; look for the marker this far from the end
_JPEG_TAIL = 64


@dataclass(frozen=True)
class ClipFrames:
    """The frames of one sample's annotated span, in time order.

    Attributes
    ----------
    folder : Path
        The clip folder the frames were found in.
    numbers : tuple of int
        Frame numbers onset..offset (offset possibly clamped, see ``repairs``).
    paths : tuple of Path
        The file of each frame number.
    apex : int or None
        The sample's apex if it lies in the span found; ``None`` means estimate it.
    repairs : tuple of str
        Repairs made while resolving frames (offset clamped, apex dropped).
    """

    folder: Path
    numbers: tuple[int, ...]
    paths: tuple[Path, ...]
    apex: int | None
    repairs: tuple[str, ...]


def list_frames(folder: Path, recipe: Recipe) -> dict[int, Path]:
    """Frames in ``folder`` by frame number, sorted numerically.

    Files whose names are not frames (``Thumbs.db``, ``.DS_Store``) are ignored.

    Raises
    ------
    SampleError
        The folder does not exist, or two files claim the same frame number.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SampleError(f"no frame folder {folder}")
    frames: dict[int, Path] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            number = recipe.frame_number(entry.name)
            if number is None or not entry.is_file():
                continue
            if number in frames:
                raise SampleError(f"{folder}: two files for frame {number}: {frames[number].name}, {entry.name}")
            frames[number] = Path(entry.path)
    return dict(sorted(frames.items()))


def frame_folder(sample: Sample, recipe: Recipe, root: Path) -> Path:
    """The existing folder of ``sample``'s frames under the frames root ``root`` (the
    folder holding the subject folders, see :mod:`mepipe.release.discover`).

    Raises
    ------
    SampleError
        A candidate folder would leave ``root`` (``..`` or an absolute name in the sheet),
        or none exists (the message names the recipe's primary folder).
    """
    root = Path(root)
    base = root.resolve()
    candidates = recipe.clip_dirs(sample)
    for relative in candidates:
        relative = PurePosixPath(relative)
        target = (root / relative).resolve()
        if relative.is_absolute() or ".." in relative.parts or not target.is_relative_to(base):
            raise SampleError(f"{sample.sample_id}: frame folder {str(relative)!r} leaves the frames root {root}")
        found = find_folder(root, relative)
        if found is not None:
            return found
    raise SampleError(f"{sample.sample_id}: no frame folder {root / candidates[0]}")


def clip_frames(sample: Sample, recipe: Recipe, root: Path) -> ClipFrames:
    """Resolve the frames onset..offset of ``sample`` under the frames root ``root``.

    An offset past the last frame on disk is clamped to it (recorded in ``repairs``)
    while the span keeps at least 2 frames.

    Raises
    ------
    SampleError
        The sample has an ``error``, its folder is missing or unsafe, a frame inside the
        span is missing, or fewer than 2 frames remain.
    """
    if sample.error:
        raise SampleError(f"{sample.sample_id}: {sample.error}")
    folder = frame_folder(sample, recipe, root)
    frames = list_frames(folder, recipe)
    if not frames:
        raise SampleError(f"{sample.sample_id}: no frames in {folder}")
    repairs = []
    last = min(sample.offset, max(frames))
    if last < sample.offset:
        if last - sample.onset + 1 < 2:
            raise SampleError(
                f"{sample.sample_id}: offset {sample.offset} beyond the last frame {last} in {folder}; "
                f"fewer than 2 frames from onset {sample.onset}"
            )
        repairs.append(f"offset {sample.offset} beyond the last frame on disk: clamped to {last}")
    numbers = tuple(range(sample.onset, last + 1))
    for number in numbers:
        if number not in frames:
            name = recipe.frame_name(sample, number)
            raise SampleError(f"{sample.sample_id}: frame {number} missing ({folder / name})")
    apex = sample.apex
    if apex is not None and apex > last:
        repairs.append(f"apex {apex} beyond the clamped offset {last}: estimated from peak motion intensity")
        apex = None
    return ClipFrames(folder, numbers, tuple(frames[n] for n in numbers), apex, tuple(repairs))


def sample_reason(sample: Sample, error: SampleError) -> str:
    """``error``'s message without the sample id :func:`clip_frames` starts it with.

    For reports that show the sample beside its reason (a store's row, ``mepipe check``
    and the build summary), where the id would otherwise appear twice.
    """
    return str(error).removeprefix(f"{sample.sample_id}: ")


def read_frame(path: Path, color: str) -> np.ndarray:
    """Decode one frame: ``(H, W, 3)`` uint8 RGB for ``color='rgb'``, ``(H, W)`` for ``'gray'``.

    Raises
    ------
    SampleError
        Naming the file: empty, truncated JPEG (no end marker; OpenCV would decode the
        top part and fill the rest with grey) or not decodable.
    """
    image = _decode(Path(path), color)
    if color != "gray":
        cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=image)
    return image


def read_clip(paths: Sequence[Path], color: str) -> np.ndarray:
    """Decode frames into one ``(T, H, W, 3)`` RGB (or ``(T, H, W)`` gray) uint8 array.

    Raises
    ------
    SampleError
        A frame cannot be read (see :func:`read_frame`) or its size differs from the
        first frame's.
    """
    if not paths:
        raise SampleError("no frames to read")
    first = _decode(Path(paths[0]), color)
    clip = np.empty((len(paths), *first.shape), dtype=np.uint8)
    _store(first, clip[0], color)
    for index, path in enumerate(paths[1:], start=1):
        frame = _decode(Path(path), color)
        _check_size(frame, first.shape, path)
        _store(frame, clip[index], color)
    return clip


class FrameFiles(Sequence):
    """A clip's frames, decoded one at a time when read: ``files[i]`` is the ``i``-th frame.

    The build warps each frame as soon as it is decoded, so a clip never stands in memory
    at its source resolution (a SAMM clip of 300 frames is 2 GB of RGB) and each frame is
    still in cache when it is warped. Frames are checked like :func:`read_clip`'s (damaged
    files, sizes differing from the first frame's); the last frame read is kept, so the
    reference frame the face is found on is decoded once.

    Parameters
    ----------
    paths : sequence of Path
        The frame files, in clip order.
    color : str
        The release's colour, ``rgb`` or ``gray``.
    bgr : bool
        Give colour frames in OpenCV's BGR order, as decoded, instead of RGB: for callers
        that only resample them (per channel), which then swap the channels of the far
        smaller result.
    """

    def __init__(self, paths: Sequence[Path], color: str, bgr: bool = False) -> None:
        if not paths:
            raise SampleError("no frames to read")
        self.paths = tuple(Path(p) for p in paths)
        self.color = color
        self.bgr = bgr
        self._first_shape: tuple[int, ...] | None = None
        self._last: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> np.ndarray:  # type: ignore[override]
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"frame index must be an integer, not {type(index).__name__}")
        index = range(len(self.paths))[index]
        if self._last is not None and self._last[0] == index:
            return self._last[1]
        if self._first_shape is None and index != 0:
            self[0]  # sizes are checked against the first frame's
        frame = _decode(self.paths[index], self.color)
        if self._first_shape is None:
            self._first_shape = frame.shape
        else:
            _check_size(frame, self._first_shape, self.paths[index])
        if self.color != "gray" and not self.bgr:
            cv2.cvtColor(frame, cv2.COLOR_BGR2RGB, dst=frame)
        self._last = (index, frame)
        return frame


def check_clip(paths: Sequence[Path], color: str) -> tuple[int, int]:
    """Decode every frame like :func:`read_clip` without keeping them; ``(width, height)``.

    For validating long high-resolution clips whose stacked frames would not fit in memory.
    """
    if not paths:
        raise SampleError("no frames to read")
    first = _decode(Path(paths[0]), color)
    for path in paths[1:]:
        _check_size(_decode(Path(path), color), first.shape, path)
    return first.shape[1], first.shape[0]


def _decode(path: Path, color: str) -> np.ndarray:
    """The frame as OpenCV decodes it (BGR or gray), after rejecting damaged files."""
    try:
        # a plain read, not np.fromfile: it lets go of the GIL while it waits on the disk
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        raise SampleError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data:
        raise SampleError(f"{path}: empty file (0 bytes)")
    if data[:2] == _JPEG_START and _JPEG_END not in data[-_JPEG_TAIL:]:
        raise SampleError(f"{path}: truncated JPEG (no end marker)")
    image = cv2.imdecode(
        np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE if color == "gray" else cv2.IMREAD_COLOR
    )
    if image is None:
        raise SampleError(f"{path}: cannot decode image (corrupt or not an image)")
    return image


def _store(image: np.ndarray, out: np.ndarray, color: str) -> None:
    # converting straight into the clip array saves a copy per frame
    if color == "gray":
        out[...] = image
    else:
        cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=out)


def _check_size(frame: np.ndarray, first: tuple[int, ...], path: Path) -> None:
    if frame.shape != first:
        raise SampleError(f"{path}: frame size {_size(frame.shape)} differs from the clip's first frame {_size(first)}")


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]}"
