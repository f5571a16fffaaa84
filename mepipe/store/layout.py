"""Chunk layout of a store: images one chunk per sample while building, few files when finished.

While a build runs, the images have one chunk per sample, so parallel workers never
share a chunk (two writers in one chunk or shard lose data); the small per-sample fields
(``status``, ``error``, frame indices, ...) are one chunk each, written only by the
build's driver (:class:`mepipe.store.FieldWriter`). Once every sample is settled,
:func:`finish` rewrites the images, when asked, as zarr v3 shards of ``shard`` samples; a
resumed build first returns them to one chunk per sample (:func:`prepare_writes`), and
gives the small fields of a store begun by an older mepipe (one chunk per sample) their
one chunk. Images keep one (inner) chunk per sample either way, so reading one sample
stays cheap.

An array is rewritten under ``<name>.compact`` and then swapped in by two renames
(``<name>`` -> ``<name>.old``, ``<name>.compact`` -> ``<name>``). A kill at any point
leaves one of three states, which :func:`recover` resolves at the next build: only
``<name>.compact`` beside ``<name>`` (the copy may be partial: dropped), ``<name>.compact``
without ``<name>`` (the copy is complete: renamed into place), or ``<name>.old`` beside
``<name>`` (dropped). Renames are atomic on POSIX file systems (local disks, NFS, Lustre,
GPFS); on object stores they are copies, and the swap is only as safe as the store.

Consolidated metadata (one ``zarr.json`` listing every array, so readers open the store
in one request) is dropped before any layout change and written again by :func:`finish`:
a stale listing would send readers and writers to the wrong chunks.
"""

from __future__ import annotations

import warnings
from typing import Any

import fsspec
import numpy as np
import zarr
from zarr.core.metadata import ArrayV3Metadata

from mepipe.arrays import derived_arrays
from mepipe.errors import MepipeError
from mepipe.store import PENDING, SHEET_FIELDS, array, is_image, per_sample_arrays, read_array

NEW, OLD = ".compact", ".old"
#: bytes copied per step when rewriting images (bounds memory, keeps zarr's I/O batched)
_BLOCK_BYTES = 32 << 20


def _target(array: zarr.Array, per_sample: bool, shard: int | None) -> tuple[tuple, tuple | None]:
    """(chunks, shards) an array should have: small fields in one chunk (their one writer
    is the build's driver); images one chunk per sample, and when finished optionally
    sharded (``per_sample``: still being built, never sharded)."""
    rest = tuple(array.shape[1:])
    if not is_image(array.basename):
        return (max(array.shape[0], 1), *rest), None
    return (1, *rest), ((shard, *rest) if shard and not per_sample else None)


def _layout(array: zarr.Array) -> tuple[tuple, tuple | None]:
    return tuple(array.chunks), (tuple(array.shards) if array.shards else None)


def _fs(out: str) -> tuple[Any, str]:
    fs, root = fsspec.core.url_to_fs(out)
    return fs, root.rstrip("/")


def recover(out: str) -> None:
    """Finish or roll back array swaps that a killed :func:`finish` or
    :func:`prepare_writes` left half done (see the module notes)."""
    fs, root = _fs(out)
    names = {entry.rstrip("/").rsplit("/", 1)[-1] for entry in fs.ls(root, detail=False)}
    for name in sorted(names):
        for suffix in (NEW, OLD):
            if not name.endswith(suffix):
                continue
            base = name[: -len(suffix)]
            if suffix == NEW and base not in names:
                fs.mv(f"{root}/{name}", f"{root}/{base}", recursive=True)
            else:
                fs.rm(f"{root}/{name}", recursive=True)
            names.discard(name)


def drop_consolidated(out: str) -> zarr.Group:
    """Remove the consolidated listing (before changing metadata); returns the group opened
    from the arrays' own metadata."""
    group = zarr.open_group(out, mode="r+", use_consolidated=False)
    group.update_attributes({})  # rewrites the root metadata from the unconsolidated view
    return group


def consolidate(out: str) -> None:
    """Write the consolidated listing, so ``xarray.open_zarr`` and
    ``zarr.open_group(use_consolidated=True)`` open the store in one read, without warnings."""
    with warnings.catch_warnings():
        # zarr warns that consolidated metadata is not yet in the v3 specification; it is
        # what xarray and zarr-python read, and readers without it fall back to the arrays
        warnings.simplefilter("ignore", zarr.errors.ZarrUserWarning)
        zarr.consolidate_metadata(out)


def _copy(old: zarr.Array, new: zarr.Array, step: int) -> None:
    """Copy ``old`` into ``new`` in blocks of ``step`` samples. Samples that cannot be read
    (damaged chunks, which verify reports and a build rebuilds) keep the fill value:
    ``status`` falls back to pending and damaged images stay damaged."""
    for start in range(0, old.shape[0], step):
        block = slice(start, min(start + step, old.shape[0]))
        try:
            new[block] = old[block]
        except Exception:
            for index in range(block.start, block.stop):
                try:
                    new[index] = old[index]
                except Exception:
                    continue


def _rewrite(out: str, group: zarr.Group, name: str, chunks: tuple, shards: tuple | None) -> None:
    """Rewrite array ``name`` with a new chunk layout: copy, then swap (crash-safe)."""
    old = array(group, name)
    metadata, serializer = old.metadata, old.serializer
    if not isinstance(metadata, ArrayV3Metadata) or serializer is None:
        raise MepipeError(f"{out}: {name!r} is a zarr v2 array; mepipe rewrites the layout of v3 stores only")
    new = group.create_array(
        name + NEW,
        shape=old.shape,
        dtype=metadata.data_type,
        chunks=chunks,
        shards=shards,
        fill_value=old.fill_value,
        dimension_names=metadata.dimension_names,
        serializer=serializer,
        compressors=old.compressors,
        filters=old.filters,
        attributes=dict(old.attrs),
        overwrite=True,
    )
    sample_bytes = max(1, int(np.prod(old.shape[1:], dtype=np.int64)) * old.dtype.itemsize)
    unit = (shards or chunks)[0]
    step = max(unit, (_BLOCK_BYTES // sample_bytes) // unit * unit)
    _copy(old, new, step)
    fs, root = _fs(out)
    fs.mv(f"{root}/{name}", f"{root}/{name}{OLD}", recursive=True)
    fs.mv(f"{root}/{name}{NEW}", f"{root}/{name}", recursive=True)
    fs.rm(f"{root}/{name}{OLD}", recursive=True)


def _relayout(out: str, names: list[str], per_sample: bool, shard: int | None) -> list[str]:
    group = zarr.open_group(out, mode="r+", use_consolidated=False)
    changed = []
    for name in names:
        node = array(group, name)
        target = _target(node, per_sample, shard)
        if _layout(node) != target:
            _rewrite(out, group, name, *target)
            changed.append(name)
    return changed


def prepare_writes(out: str, images: bool = True) -> list[str]:
    """Give every array a build writes its layout while building (images one chunk per
    sample again, after a finished build was sharded); returns the arrays rewritten. The
    sheet's fields are written once, at creation, and keep their single chunk.

    ``images=False``: a build that only adds derived arrays (flow, ...) to built samples
    writes none of the images, which keep their layout (and bytes) as they are.
    """
    group = drop_consolidated(out)
    derived = derived_arrays()
    written = [
        name
        for name in per_sample_arrays(group)
        if name not in SHEET_FIELDS and (images or not is_image(name) or name in derived)
    ]
    return _relayout(out, written, per_sample=True, shard=None)


def finish(out: str, shard: int | None = None) -> list[str]:
    """The finished layout, then the consolidated listing; returns the arrays rewritten.

    Parameters
    ----------
    out : str
        Store path or URL (held under the build's lock).
    shard : int, optional
        Store the images as zarr v3 shards of this many samples (one file per shard);
        default: one file per sample.

    Nothing is compacted while a sample is still pending: a later build writes it.
    """
    group = drop_consolidated(out)
    changed = []
    if not np.any(read_array(group, "status") == PENDING):
        changed = _relayout(out, per_sample_arrays(group), per_sample=False, shard=shard)
    consolidate(out)
    return changed
