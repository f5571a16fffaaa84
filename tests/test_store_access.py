"""The typed ways into a store: array nodes, their values as NumPy, the mepipe attributes."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from mepipe.errors import MepipeError
from mepipe.release.recipe import Sample
from mepipe.store import array, create_store, layout, read_array, store_attrs

SAMPLES = [Sample(f"s{i}/c{i}", f"s{i}", f"c{i}", 1, 3, 5, "happiness", "happiness") for i in range(3)]


@pytest.fixture
def group(tmp_path) -> zarr.Group:
    return create_store(str(tmp_path / "s.zarr"), SAMPLES, size=8, attrs={"dataset": "casme2"})


def test_reads_are_numpy_arrays_equal_to_what_zarr_holds(group):
    trdi = array(group, "trdi")
    trdi[1] = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    whole = read_array(group, "sample_id")
    assert isinstance(whole, np.ndarray) and list(whole) == [s.sample_id for s in SAMPLES]
    one = read_array(group, "trdi", 1)
    assert isinstance(one, np.ndarray) and one.shape == (8, 8, 3)
    np.testing.assert_array_equal(one, trdi[1])
    np.testing.assert_array_equal(read_array(group, "trdi", slice(1, 3))[0], one)


def test_a_group_where_an_array_belongs_is_one_line_naming_it(group):
    group.create_group("extra")
    with pytest.raises(MepipeError, match=r"'extra' is a group, not an array$"):
        array(group, "extra")
    with pytest.raises(MepipeError, match="'extra' is a group"):
        read_array(group, "extra")


def test_attributes_are_a_copy_and_their_absence_an_error(group, tmp_path):
    attrs = store_attrs(group)
    assert attrs == {"dataset": "casme2"}
    attrs["dataset"] = "samm"
    assert store_attrs(group)["dataset"] == "casme2"
    plain = zarr.open_group(str(tmp_path / "plain.zarr"), mode="w")
    with pytest.raises(MepipeError, match="not a mepipe store"):
        store_attrs(plain)
    plain.attrs["mepipe"] = "a string"
    with pytest.raises(MepipeError, match="not a mepipe store"):
        store_attrs(plain)


def test_layout_rewrites_refuse_zarr_v2_arrays_in_one_line(tmp_path):
    out = str(tmp_path / "v2.zarr")
    group = zarr.open_group(out, mode="w", zarr_format=2)
    group.create_array("trdi", shape=(2, 4, 4, 3), chunks=(1, 4, 4, 3), dtype="uint8")
    with pytest.raises(MepipeError, match=r"'trdi' is a zarr v2 array"):
        layout._rewrite(out, group, "trdi", (2, 4, 4, 3), None)
