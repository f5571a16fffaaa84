"""The zarr store that ``mepipe build`` writes: schema, creation, per-sample writes.

The layout is a contract that trainers and other tools read directly
(``zarr.open_group``, ``xarray.open_zarr``):

* ``trdi``, ``midi``, ``onset``, ``apex`` -- uint8 ``(N, S, S, C)``, one chunk per sample;
* ``trdi_raw``, ``midi_raw`` -- float32, only with ``keep_raw``;
* 1-D arrays over ``sample``: the sheet's fields (written once, at creation) and the
  build's outcome per sample (``status``, ``error``, ``repair``, frame indices,
  ``n_frames``, ``checksum``), each one chunk;
* the alignment of each sample (:data:`ALIGNMENT_FIELDS`: ``transform``, ``landmarks``,
  ``frame_size``, ``detect_step``), each one chunk; stores written before these existed
  lack them;
* ``attrs["mepipe"]`` -- version, dataset, configuration and provenance.

A build's workers write the images (:func:`write_images`), each sample into its own
chunks, so any number of them write concurrently without locks. The small per-sample
fields (:func:`sample_fields`) go back to the one process driving the build, which
writes those of many samples at once (:class:`FieldWriter`), ``status`` last: a killed
build never leaves a sample marked ``ok`` whose images are missing, and a sample whose
fields were not written yet is rebuilt by the next run.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import zarr
import zarr.api.asynchronous
from zarr.codecs import ZstdCodec
from zarr.core.sync import sync

from .chunkio import ChunkFiles, chunk_files
from .errors import MepipeError
from .recipe import Sample

PENDING, OK, FAILED = 0, 1, 2
STATUS_NAMES = {PENDING: "pending", OK: "ok", FAILED: "failed"}

IMAGES = ("trdi", "midi", "onset", "apex")
RAW_IMAGES = ("trdi_raw", "midi_raw")
#: written once at creation, from the sheet
SHEET_FIELDS = {"sample_id": str, "subject": str, "clip": str, "emotion": str, "label": str}
#: written by the task that builds the sample; ``status`` last
OUTCOME_FIELDS = {
    "onset_index": "int32", "apex_index": "int32", "offset_index": "int32",
    "n_frames": "int32", "error": str, "repair": str, "checksum": str, "status": "uint8",
}
IMAGE_DIMS = ("sample", "y", "x", "channel")
#: zstd at level 1, not zarr's default (3): on dynamic images it compresses as well
#: (1.72x vs 1.69x at 224 px) in a third of the time (0.7-0.9 ms vs 2.0-2.2 ms per image),
#: and on the aligned frames only a little less (1.07x vs 1.13x) in a quarter of it
IMAGE_COMPRESSOR = ZstdCodec(level=1)
#: how each sample was aligned: name -> (dtype, one sample's shape, its dimension names,
#: the value of a sample not aligned: failed or pending)
ALIGNMENT_FIELDS: dict[str, tuple[Any, tuple[int, ...], tuple[str, ...], Any]] = {
    # source pixels -> output pixels, cv2.warpAffine convention
    "transform": ("float64", (2, 3), ("affine_row", "affine_col"), np.nan),
    # dlib's 68 points on the onset frame, (x, y) in source pixels
    "landmarks": ("float32", (68, 2), ("landmark", "xy"), np.nan),
    # (height, width) of the source frames
    "frame_size": ("int32", (2,), ("hw",), -1),
    # the detection step that found the face (align.DETECT_STEPS)
    "detect_step": (str, (), (), ""),
}


@dataclass(frozen=True)
class Alignment:
    """How a sample's clip was aligned; stored per sample as :data:`ALIGNMENT_FIELDS`."""

    transform: np.ndarray
    landmarks: np.ndarray
    frame_size: tuple[int, int]
    detect_step: str


@dataclass
class SampleResult:
    """What building one sample produced; ``images`` is empty for a failed sample."""

    status: int
    error: str = ""
    repair: str = ""
    n_frames: int = 0
    onset_index: int = -1
    apex_index: int = -1
    offset_index: int = -1
    images: dict[str, np.ndarray] = field(default_factory=dict)
    alignment: Alignment | None = None


def checksum(images: Mapping[str, np.ndarray]) -> str:
    """sha256 over a sample's arrays in a fixed order (names, shapes and bytes)."""
    digest = hashlib.sha256()
    for name in sorted(images):
        array = np.ascontiguousarray(images[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def local_path(store: str) -> str:
    """``file://`` URLs as plain paths, so local stores get zarr's LocalStore (atomic
    writes) rather than the generic fsspec store; other URLs unchanged."""
    store = str(store)
    if store.startswith("file://"):
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem._strip_protocol(store)
    return store


def create_store(
    path: str,
    samples: Sequence[Sample],
    *,
    size: int,
    channels: int = 3,
    keep_raw: bool = False,
    attrs: Mapping[str, Any],
    overwrite: bool = False,
) -> zarr.Group:
    """Create an empty store for ``samples``: every sample ``pending``.

    Parameters
    ----------
    path : str
        Local path or any fsspec URL zarr accepts.
    samples : sequence of Sample
        The build's samples, in store order.
    size, channels : int
        Image side and channel count (3, or 1 with ``--gray``).
    keep_raw : bool
        Also create the float32 ``trdi_raw`` / ``midi_raw`` arrays.
    attrs : mapping
        Stored as ``attrs["mepipe"]`` (configuration and provenance).
    overwrite : bool
        Replace an existing store at ``path``.
    """
    n = len(samples)
    group = zarr.open_group(path, mode="w" if overwrite else "w-")
    image_shape = (n, size, size, channels)
    image_chunks = (1, size, size, channels)
    for name in IMAGES:
        group.create_array(name, shape=image_shape, chunks=image_chunks, dtype="uint8",
                           fill_value=0, dimension_names=IMAGE_DIMS, compressors=IMAGE_COMPRESSOR)
    if keep_raw:
        for name in RAW_IMAGES:
            group.create_array(name, shape=image_shape, chunks=image_chunks, dtype="float32",
                               fill_value=0.0, dimension_names=IMAGE_DIMS, compressors=IMAGE_COMPRESSOR)
    for name, dtype in SHEET_FIELDS.items():
        values = np.array([getattr(s, name) for s in samples], dtype=dtype)
        array = group.create_array(name, shape=(n,), chunks=(max(n, 1),), dtype=dtype,
                                   dimension_names=("sample",))
        if n:
            array[:] = values
    for name, dtype in OUTCOME_FIELDS.items():
        fill = "" if dtype is str else (PENDING if name == "status" else -1)
        group.create_array(name, shape=(n,), chunks=(max(n, 1),), dtype=dtype, fill_value=fill,
                           dimension_names=("sample",))
    for name, (dtype, shape, dims, fill) in ALIGNMENT_FIELDS.items():
        group.create_array(name, shape=(n, *shape), chunks=(max(n, 1), *shape), dtype=dtype,
                           fill_value=fill, dimension_names=("sample", *dims))
    group.attrs["mepipe"] = dict(attrs)
    return group


def open_store(path: str, mode: str = "r") -> zarr.Group:
    """Open an existing mepipe store; a one-line error when ``path`` is not one."""
    try:
        group = zarr.open_group(path, mode=mode)
    except (FileNotFoundError, zarr.errors.GroupNotFoundError, zarr.errors.NodeTypeValidationError):
        raise MepipeError(f"{path}: not a mepipe store (no zarr group there)") from None
    if "mepipe" not in group.attrs:
        raise MepipeError(f"{path}: a zarr group, but not a mepipe store (no 'mepipe' attributes)")
    return group


def write_sample(group: zarr.Group, index: int, result: SampleResult) -> None:
    """Write one sample's images and fields; ``status`` goes last as the commit mark.

    For one writer at a time (tests, tools); a build writes the images from its workers
    and the fields from its driver, in batches.
    """
    arrays = {name: group[name].async_array for name in result.images}
    sync(_write_images(arrays, index, result.images))
    writer = FieldWriter(group)
    writer.add(index, sample_fields(result))
    writer.flush()


def write_images(store: str, index: int, images: Mapping[str, np.ndarray], token: str) -> None:
    """Write one sample's images, each into its own chunk.

    Chunks of a local store go straight to their files (:mod:`mepipe.chunkio`), the
    others through zarr's event loop in one trip. ``token`` names one build: the arrays
    are opened once per build and process and reused (opening reads each array's
    metadata, which cost more than writing small images); a new token opens them again,
    after the layout changed.
    """
    if not images:
        return
    files, arrays = _image_writers(store, tuple(sorted(images)), token)
    for name in files:
        files[name].write(index, images[name])
    if arrays:
        sync(_write_images(arrays, index, {name: images[name] for name in arrays}))


@functools.lru_cache(maxsize=8)
def _image_writers(store: str, names: tuple[str, ...], token: str) -> tuple[dict[str, ChunkFiles], dict[str, Any]]:
    group = zarr.open_group(store, mode="r+", use_consolidated=False)
    files, arrays = {}, {}
    for name in names:
        writer = chunk_files(group[name])
        if writer is None:
            arrays[name] = group[name].async_array
        else:
            files[name] = writer
    return files, arrays


async def _write_images(arrays: Mapping[str, Any], index: int, images: Mapping[str, np.ndarray]) -> None:
    await asyncio.gather(*(arrays[name].setitem(index, value) for name, value in images.items()))


def sample_fields(result: SampleResult) -> dict[str, Any]:
    """A sample's stored values other than its images, ``status`` included (last)."""
    return {
        "onset_index": result.onset_index, "apex_index": result.apex_index,
        "offset_index": result.offset_index, "n_frames": result.n_frames,
        "error": result.error, "repair": result.repair,
        "checksum": checksum(result.images) if result.status == OK else "",
        **alignment_values(result.alignment),
        "status": result.status,
    }


class FieldWriter:
    """The per-sample fields of settled samples, written many samples at a time.

    :meth:`add` collects a sample's :func:`sample_fields`; :meth:`flush` writes everything
    collected, ``status`` last, one write per array. It runs by itself for the first
    sample (progress shows on disk at once) and then once ``interval`` seconds have passed
    since the last flush. Writing per sample costs a dozen small writes through zarr's one
    event loop, more than compressing the images.

    Parameters
    ----------
    group : zarr.Group
        The store, opened for writing.
    interval : float
        Seconds between automatic flushes: how much finished work a killed build loses.
    """

    def __init__(self, group: zarr.Group, interval: float = 2.0) -> None:
        self.group = group
        self.interval = interval
        self.pending: dict[int, dict[str, Any]] = {}
        self._last = -math.inf

    def add(self, index: int, fields: Mapping[str, Any]) -> None:
        self.pending[index] = dict(fields)
        if time.monotonic() - self._last >= self.interval:
            self.flush()

    def flush(self) -> None:
        """Write every collected sample's fields, ``status`` last."""
        self._last = time.monotonic()
        if not self.pending:
            return
        indices = np.array(sorted(self.pending))
        rows = [self.pending[i] for i in indices]
        for name in rows[0]:  # sample_fields' order: status last
            array = self.group[name]
            values = np.array([row[name] for row in rows])
            array.oindex[indices] = values if array.dtype.kind in "TO" else values.astype(array.dtype)
        self.pending.clear()


def alignment_values(alignment: Alignment | None) -> dict[str, Any]:
    """The :data:`ALIGNMENT_FIELDS` of one sample as stored; NaN / -1 / "" without one."""
    if alignment is None:
        return {name: fill if dtype is str else np.full(shape, fill, dtype)
                for name, (dtype, shape, _, fill) in ALIGNMENT_FIELDS.items()}
    return {
        "transform": np.asarray(alignment.transform, dtype="float64"),
        "landmarks": np.asarray(alignment.landmarks, dtype="float32"),
        "frame_size": np.asarray(alignment.frame_size, dtype="int32"),
        "detect_step": alignment.detect_step,
    }


def missing_alignment(group: zarr.Group) -> list[str]:
    """The :data:`ALIGNMENT_FIELDS` a store lacks (all of them in stores from before them)."""
    return [name for name in ALIGNMENT_FIELDS if name not in group]


def detect_step_counts(group: zarr.Group) -> dict[str, int]:
    """How many ``ok`` samples each detection step found the face of, most first; empty
    for a store without the ``detect_step`` array."""
    if "detect_step" not in group:
        return {}
    ok = group["status"][:] == OK
    return dict(Counter(str(step) for step in group["detect_step"][:][ok]).most_common())


def per_sample_arrays(group: zarr.Group) -> list[str]:
    """Every array of the store with one entry per sample (first axis of length N).

    Generic on purpose: arrays added to the schema later are read and compacted like the
    others without being listed anywhere. Names with a dot are a layout rewrite's
    temporary copies (``mepipe.layout``), not part of the store.
    """
    n = group["sample_id"].shape[0]
    return sorted(name for name, array in group.arrays()
                  if "." not in name and array.ndim >= 1 and array.shape[0] == n)


def is_image(name: str) -> bool:
    """Image arrays ``(sample, y, x, channel)``, as opposed to small per-sample fields."""
    return name in IMAGES or name in RAW_IMAGES


def as_str(values: np.ndarray) -> np.ndarray:
    """Strings as NumPy ``str_``: zarr 3 returns the variable-width StringDType, which
    neither casts to ``"U"`` nor is understood by every library."""
    if values.dtype.kind in "TO":
        return np.array(values.tolist(), dtype=str).reshape(values.shape)
    return values


def read_fields(group: zarr.Group) -> dict[str, np.ndarray]:
    """Every per-sample array that is not an image, read into memory (strings as ``str_``)."""
    return {name: as_str(group[name][:]) for name in per_sample_arrays(group) if not is_image(name)}


def read_table(group: zarr.Group) -> dict[str, np.ndarray]:
    """All 1-D per-sample arrays of a store, read into memory."""
    return {name: group[name][:] for name in (*SHEET_FIELDS, *OUTCOME_FIELDS)}


def image_names(group: zarr.Group) -> tuple[str, ...]:
    """The image arrays this store holds (``IMAGES`` plus raw ones when kept)."""
    return tuple(name for name in (*IMAGES, *RAW_IMAGES) if name in group)


def sample_checksum(group: zarr.Group, index: int) -> str:
    """Checksum of a sample's arrays as they are on disk now."""
    return checksum({name: group[name][index] for name in image_names(group)})
