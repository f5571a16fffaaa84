"""A finished store: few files, consolidated metadata; resume and repair still work."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import zarr

from mepipe.build import build
from mepipe.store import FAILED, IMAGE_COMPRESSOR, IMAGES, OK, layout, per_sample_arrays
from mepipe.store.verify import verify_store

from .test_build import assert_same_arrays


def files(store: str) -> list[str]:
    return sorted(str(p.relative_to(store)) for p in Path(store).rglob("*") if p.is_file())


def chunk_files(store: str, array: str) -> int:
    return sum(1 for f in files(store) if f.startswith(f"{array}/c/"))


@pytest.fixture
def store_copy(casme2_store, tmp_path) -> str:
    copy = str(tmp_path / "copy.zarr")
    shutil.copytree(casme2_store, copy)
    return copy


def test_finished_store_has_one_file_per_field_and_per_image(casme2_store):
    group = zarr.open_group(casme2_store, mode="r")
    n = group["status"].shape[0]
    fields = [name for name in per_sample_arrays(group) if name not in IMAGES]
    for name in fields:
        assert group[name].chunks == group[name].shape, name
        assert chunk_files(casme2_store, name) <= 1, name  # none when every value is the fill
    for name in IMAGES:
        assert chunk_files(casme2_store, name) == n
    # one zarr.json per array and the root's, no leftovers of the rewrite
    assert (
        len(files(casme2_store))
        == 4 * n + sum(chunk_files(casme2_store, f) for f in fields) + len(fields) + len(IMAGES) + 1
    )
    assert not [name for name in os.listdir(casme2_store) if "." in name and name != "zarr.json"]


def test_opens_consolidated_without_warnings(casme2_store):
    xarray = pytest.importorskip("xarray")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = xarray.open_zarr(casme2_store)
        group = zarr.open_group(casme2_store, mode="r", use_consolidated=True)
    assert group.metadata.consolidated_metadata is not None
    assert ds["trdi"].dims == ("sample", "y", "x", "channel")
    assert ds["status"].shape == group["status"].chunks


def test_shards_then_resume_repair_and_reshard(store_copy, casme2_store, casme2_release):
    n = zarr.open_group(store_copy)["status"].shape[0]
    summary = build("casme2", casme2_release, store_copy, size=64, shard=4, progress=False)
    assert summary.built == 0
    group = zarr.open_group(store_copy, mode="r", use_consolidated=True)
    assert group["trdi"].shards == (4, 64, 64, 3) and group["trdi"].chunks == (1, 64, 64, 3)
    assert group["trdi"].compressors == (IMAGE_COMPRESSOR,)  # the rewrite keeps the codec
    assert chunk_files(store_copy, "trdi") == -(-n // 4)
    assert verify_store(store_copy).ok
    assert_same_arrays(casme2_store, store_copy)

    # a failed sample and a damaged shard: the next build writes per sample again, then reshards
    writable = zarr.open_group(store_copy, mode="r+")
    writable["status"][1] = FAILED
    shard = Path(store_copy) / "midi" / "c" / "1" / "0" / "0" / "0"  # samples 4..7
    shard.write_bytes(shard.read_bytes()[:-40])
    damaged = verify_store(store_copy).damaged
    assert {index for index, _, _ in damaged} == {4, 5, 6, 7}
    summary = build("casme2", casme2_release, store_copy, size=64, shard=4, progress=False)
    assert summary.built == 5 and summary.repaired_damage == 4 and summary.ok == n
    assert zarr.open_group(store_copy, use_consolidated=True)["midi"].shards == (4, 64, 64, 3)
    assert verify_store(store_copy).ok
    assert_same_arrays(casme2_store, store_copy)

    # without --shard the images go back to one file per sample, the listing with them
    build("casme2", casme2_release, store_copy, size=64, progress=False)
    group = zarr.open_group(store_copy, mode="r", use_consolidated=True)
    assert group["trdi"].shards is None and chunk_files(store_copy, "trdi") == n
    assert_same_arrays(casme2_store, store_copy)


@pytest.mark.parametrize("state", ["copy-partial", "between-renames", "old-left"])
def test_a_rewrite_killed_at_any_point_is_finished_by_the_next_build(state, store_copy, casme2_store, casme2_release):
    """Each state a kill during a rewrite of ``status`` can leave (see mepipe.store.layout)."""
    root = Path(store_copy)
    group = zarr.open_group(store_copy, mode="r+", use_consolidated=False)
    group.update_attributes({})  # what the build does before touching the layout
    per_sample = group.create_array(
        "status.compact", shape=group["status"].shape, chunks=(1,), dtype="uint8", dimension_names=("sample",)
    )
    if state == "copy-partial":
        per_sample[:2] = group["status"][:2]  # a kill while copying: the rest is missing
    else:
        per_sample[:] = group["status"][:]
        shutil.move(root / "status", root / "status.old")  # first rename done
        if state == "old-left":
            shutil.move(root / "status.compact", root / "status")  # second too; old not yet removed
    if state == "between-renames":
        assert "status" not in zarr.open_group(store_copy, mode="r", use_consolidated=False)
    summary = build("casme2", casme2_release, store_copy, size=64, progress=False)
    assert summary.built == 0 and summary.ok == summary.total
    assert sorted(name for name in os.listdir(root) if "." in name) == ["zarr.json"]
    assert zarr.open_group(store_copy, use_consolidated=True)["status"].chunks == (summary.total,)
    assert np.all(zarr.open_group(store_copy)["status"][:] == OK)
    assert_same_arrays(casme2_store, store_copy)


def test_layout_helpers_on_a_finished_store(store_copy):
    n = zarr.open_group(store_copy)["status"].shape[0]
    # unsharded, a finished store already has the layout a build writes into
    assert layout.prepare_writes(store_copy) == []
    assert zarr.open_group(store_copy).metadata.consolidated_metadata is None
    assert layout.finish(store_copy) == []
    assert zarr.open_group(store_copy, use_consolidated=True)["status"].chunks == (n,)


def test_fields_kept_one_chunk_per_sample_get_one_chunk(store_copy):
    # as an interrupted build of an older mepipe left them
    n = zarr.open_group(store_copy)["status"].shape[0]
    layout._rewrite(store_copy, layout.drop_consolidated(store_copy), "status", (1,), None)
    assert layout.prepare_writes(store_copy) == ["status"]
    assert zarr.open_group(store_copy, use_consolidated=False)["status"].chunks == (n,)
