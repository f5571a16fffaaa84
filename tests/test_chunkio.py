"""Image chunks written straight to their files are the files zarr itself writes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec

from mepipe.store.chunkio import chunk_files

SHAPE = (5, 24, 24, 3)


def files_of(root: Path) -> dict[str, bytes]:
    """Every chunk file under ``root`` (metadata left out), by relative path."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != "zarr.json"
    }


def pair(tmp_path: Path, dtype: str, **options) -> tuple[zarr.Array, zarr.Array]:
    """The same array created in two stores: one written by zarr, one by ChunkFiles."""
    arrays = []
    for name in ("zarr", "files"):
        group = zarr.open_group(tmp_path / f"{name}.zarr", mode="w")
        arrays.append(
            group.create_array("images", shape=SHAPE, chunks=(1, *SHAPE[1:]), dtype=dtype, fill_value=0, **options)
        )
    return arrays[0], arrays[1]


@pytest.mark.parametrize(
    "dtype, options",
    [
        ("uint8", {}),  # the store's image arrays: zstd
        ("float32", {}),  # keep_raw's arrays
        ("uint8", {"compressors": None}),
    ],
)
def test_chunk_files_are_byte_for_byte_the_ones_zarr_writes(tmp_path, dtype, options):
    by_zarr, by_files = pair(tmp_path, dtype, **options)
    writer = chunk_files(by_files)
    assert writer is not None
    rng = np.random.default_rng(0)
    values = [
        rng.integers(0, 255, SHAPE[1:]).astype(dtype),
        np.zeros(SHAPE[1:], dtype),
        np.full(SHAPE[1:], 7, dtype),
        rng.normal(size=SHAPE[1:]).astype(dtype),
    ]
    for index, value in enumerate(values):
        by_zarr[index] = value
        writer.write(index, value)
    # a chunk rewritten all-empty is removed, as zarr removes it
    by_zarr[2] = np.zeros(SHAPE[1:], dtype)
    writer.write(2, np.zeros(SHAPE[1:], dtype))
    expected = files_of(tmp_path / "zarr.zarr")
    assert sorted(expected) == ["images/c/0/0/0/0", "images/c/3/0/0/0"]
    assert files_of(tmp_path / "files.zarr") == expected
    np.testing.assert_array_equal(by_files[:], by_zarr[:])


def test_arrays_whose_chunks_it_does_not_reproduce_are_left_to_zarr(tmp_path):
    group = zarr.open_group(tmp_path / "s.zarr", mode="w")

    def make(name, **kw):
        return group.create_array(name, shape=SHAPE, dtype="uint8", fill_value=0, **{"chunks": (1, *SHAPE[1:]), **kw})

    assert chunk_files(make("plain")) is not None
    assert chunk_files(make("two_samples", chunks=(2, *SHAPE[1:]))) is None
    assert chunk_files(make("tiles", chunks=(1, 12, 24, 3))) is None
    assert chunk_files(make("sharded", chunks=(1, *SHAPE[1:]), shards=(5, *SHAPE[1:]))) is None
    assert chunk_files(make("blosc", compressors=BloscCodec(cname="lz4"))) is None
    memory = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    assert chunk_files(memory.create_array("m", shape=SHAPE, chunks=(1, *SHAPE[1:]), dtype="uint8")) is None
    with zarr.config.set({"array.write_empty_chunks": True}):
        assert chunk_files(make("empty_written")) is None


def test_a_failed_write_keeps_the_old_chunk_and_leaves_no_partial_file(tmp_path, monkeypatch):
    by_zarr, by_files = pair(tmp_path, "uint8")
    writer = chunk_files(by_files)
    old = np.full(SHAPE[1:], 3, np.uint8)
    writer.write(1, old)

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError):
        writer.write(1, np.full(SHAPE[1:], 9, np.uint8))
    monkeypatch.undo()
    assert sorted(files_of(tmp_path / "files.zarr")) == ["images/c/1/0/0/0"]
    np.testing.assert_array_equal(by_files[1], old)


@pytest.mark.parametrize(
    "shape, dtype, fill",
    [
        ((4, 6, 24, 24, 3), "uint8", 0),  # sequence: 5-D
        ((4, 24, 24), "float32", np.nan),  # strain: 3-D, NaN while not built
        ((4, 68, 2), "float32", np.nan),  # landmarks_aligned
    ],
)
def test_derived_arrays_chunks_are_the_ones_zarr_writes(tmp_path, shape, dtype, fill):
    arrays = [
        zarr.open_group(tmp_path / f"{name}.zarr", mode="w").create_array(
            "a", shape=shape, chunks=(1, *shape[1:]), dtype=dtype, fill_value=fill
        )
        for name in ("zarr", "files")
    ]
    writer = chunk_files(arrays[1])
    assert writer is not None
    rng = np.random.default_rng(1)
    values = [rng.normal(size=shape[1:]) * 50 + 100, np.full(shape[1:], fill), np.zeros(shape[1:])]
    for index, value in enumerate(values):
        arrays[0][index] = value.astype(dtype)
        writer.write(index, value.astype(dtype))
    # an all-fill chunk (NaN too) is not written, as zarr does not write it
    written = sorted(int(name.split("/")[2]) for name in files_of(tmp_path / "zarr.zarr"))
    assert written == ([0] if fill == 0 else [0, 2])
    assert files_of(tmp_path / "files.zarr") == files_of(tmp_path / "zarr.zarr")
    np.testing.assert_array_equal(arrays[1][:], arrays[0][:])
