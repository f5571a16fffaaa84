"""One sample's image chunks written straight to a local store's files.

A build writes four (six with ``keep_raw``) images per sample, each its own chunk.
Through zarr's asynchronous ``setitem`` a 150 kB chunk cost 3-4 ms, most of it indexing
and codec-pipeline bookkeeping on zarr's one event loop, which every worker thread of a
build shares; written here it costs 0.9-1.9 ms, most of that the file system.
:class:`ChunkFiles` writes such a chunk itself: the same bytes, at the same key, by the
same write-then-rename as zarr's ``LocalStore``, and an all-fill chunk removed as zarr
does (``write_empty_chunks`` off). It takes only arrays whose layout it reproduces
exactly (:func:`chunk_files`); anything else (remote stores, shards, other codecs) is
written by zarr.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import numcodecs
import numpy as np
import zarr
from zarr.codecs import BytesCodec, ZstdCodec
from zarr.storage import LocalStore


class ChunkFiles:
    """Writer of an array's one-sample chunks as files; made by :func:`chunk_files`, which
    checks the array's layout and gives its local ``store`` and the zstd ``codec`` (None:
    chunks uncompressed)."""

    def __init__(self, array: zarr.Array, store: LocalStore, codec: numcodecs.Zstd | None) -> None:
        self.root = Path(store.root) / array.path
        self.metadata = array.metadata
        self.dtype = array.dtype
        self.codec = codec

    def path(self, index: int) -> Path:
        """The file of sample ``index``'s chunk."""
        return self.root / self.metadata.encode_chunk_key((index,) + (0,) * (len(self.metadata.shape) - 1))

    def write(self, index: int, value: np.ndarray) -> None:
        """Store ``value`` as sample ``index``'s chunk, as ``array[index] = value`` does."""
        path = self.path(index)
        value = np.ascontiguousarray(value, dtype=self.dtype)
        if np.array_equal(value, np.full_like(value, self.metadata.fill_value), equal_nan=value.dtype.kind == "f"):
            path.unlink(missing_ok=True)
            return
        data = value.tobytes() if self.codec is None else self.codec.encode(value)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{uuid.uuid4().hex}.partial")
        try:
            with open(partial, "wb") as file:
                file.write(data)
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise


def chunk_files(array: zarr.Array) -> ChunkFiles | None:
    """A :class:`ChunkFiles` for ``array``, or None when its chunks are not ones it writes
    exactly as zarr would: a local store, one chunk per first-axis index holding the rest
    of the array, plain bytes (native byte order) optionally zstd-compressed, no sharding,
    and empty chunks not written."""
    metadata, store = array.metadata, array.store
    if metadata.zarr_format != 3 or not isinstance(store, LocalStore):
        return None
    if array.chunks != (1, *array.shape[1:]) or zarr.config.get("array.write_empty_chunks"):
        return None
    serializer, *compressors = metadata.codecs
    if type(serializer) is not BytesCodec or len(compressors) > 1:
        return None
    zstd = compressors[0] if compressors else None
    if zstd is not None and type(zstd) is not ZstdCodec:
        return None
    order = serializer.endian
    if array.dtype.itemsize > 1 and (order is None or order.value != sys.byteorder):
        return None
    codec = None if zstd is None else numcodecs.Zstd(level=zstd.level, checksum=zstd.checksum)
    return ChunkFiles(array, store, codec)
