"""Writing a store's samples: images by the build's workers, small fields by its driver.

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
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import zarr
from zarr.core.sync import sync

from mepipe._shared import testhook
from mepipe.store.chunkio import ChunkFiles, chunk_files
from mepipe.store.schema import (
    ALIGNMENT_FIELDS,
    OK,
    Alignment,
    SampleResult,
    array,
    base_images,
    checksum,
    set_checksum_field,
    set_checksums,
)


def write_sample(group: zarr.Group, index: int, result: SampleResult) -> None:
    """Write one sample's images and fields; ``status`` goes last as the commit mark.

    For one writer at a time (tests, tools); a build writes the images from its workers
    and the fields from its driver, in batches.
    """
    arrays = {name: array(group, name).async_array for name in result.images}
    sync(_write_images(arrays, index, result.images))
    writer = FieldWriter(group)
    writer.add(index, sample_fields(result))
    writer.flush()


def write_images(store: str, index: int, images: Mapping[str, np.ndarray], token: str) -> None:
    """Write one sample's images, each into its own chunk.

    Chunks of a local store go straight to their files (:mod:`mepipe.store.chunkio`), the
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
        node = array(group, name)
        writer = chunk_files(node)
        if writer is None:
            arrays[name] = node.async_array
        else:
            files[name] = writer
    return files, arrays


async def _write_images(arrays: Mapping[str, Any], index: int, images: Mapping[str, np.ndarray]) -> None:
    await asyncio.gather(*(arrays[name].setitem(index, value) for name, value in images.items()))


def sample_fields(result: SampleResult) -> dict[str, Any]:
    """A sample's stored values other than its images, ``status`` included (last).

    Arrays added to a sample already built (``result.added``) give only ``repair`` and
    their sets' checksums, the commit mark of what was added: the sample's other fields,
    its images and their ``checksum`` stay as they are. Added arrays that failed give
    their ``error`` and empty checksums: the sample keeps what it had, and the next build
    tries the new arrays again.
    """
    ok = result.status == OK
    sets = set_checksums(result.images, result.sets) if ok else {set_checksum_field(s): "" for s in result.sets}
    if result.added:
        return {"error": "", "repair": result.repair, **sets} if ok else {"error": result.error, **sets}
    return {
        "onset_index": result.onset_index,
        "apex_index": result.apex_index,
        "offset_index": result.offset_index,
        "n_frames": result.n_frames,
        "error": result.error,
        "repair": result.repair,
        "checksum": checksum(base_images(result.images)) if ok else "",
        **sets,
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
        self.committed = 0
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
        names = list(dict.fromkeys(name for row in self.pending.values() for name in row))
        # status last: the commit mark; samples that only had arrays added carry fewer fields
        names.sort(key=lambda name: name == "status")
        for name in names:
            indices = np.array(sorted(i for i, row in self.pending.items() if name in row))
            column = array(self.group, name)
            values = np.array([self.pending[i][name] for i in indices])
            column.oindex[indices] = values if column.dtype.kind in "TO" else values.astype(column.dtype)
        self.committed += len(self.pending)
        self.pending.clear()
        testhook.committed(self.committed)


def alignment_values(alignment: Alignment | None) -> dict[str, Any]:
    """The :data:`ALIGNMENT_FIELDS` of one sample as stored; NaN / -1 / "" without one."""
    if alignment is None:
        return {
            name: fill if dtype is str else np.full(shape, fill, dtype)
            for name, (dtype, shape, _, fill) in ALIGNMENT_FIELDS.items()
        }
    return {
        "transform": np.asarray(alignment.transform, dtype="float64"),
        "landmarks": np.asarray(alignment.landmarks, dtype="float32"),
        "frame_size": np.asarray(alignment.frame_size, dtype="int32"),
        "detect_step": alignment.detect_step,
    }
