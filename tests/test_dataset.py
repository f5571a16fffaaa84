"""Any trainer reads a store: open_dataset, loso_splits, TorchDataset."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import zarr

from mepipe.dataset import loso_splits, open_dataset
from mepipe.errors import UsageError
from mepipe.pipelines import get_recipe
from mepipe.store import FAILED

from .no_torch import WITHOUT_TORCH

xarray = pytest.importorskip("xarray")


@pytest.fixture
def one_failed(casme2_store, tmp_path) -> str:
    """A copy of the CASME-II store whose first sample failed."""
    copy = str(tmp_path / "failed.zarr")
    shutil.copytree(casme2_store, copy)
    group = zarr.open_group(copy, mode="r+")
    group["status"][0] = FAILED
    group["error"][0] = "no face found"
    return copy


def _ids(group) -> list[str]:
    return [str(s) for s in group["sample_id"][:]]


def test_open_dataset_is_lazy_indexed_and_silent(casme2_store):
    group = zarr.open_group(casme2_store, mode="r")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = open_dataset(casme2_store)
    assert list(ds.data_vars) == ["trdi", "midi", "onset", "apex"]
    for name in ds.data_vars:
        assert ds[name].dims == ("sample", "y", "x", "channel")
        assert type(ds[name].data).__module__.startswith("dask")
        np.testing.assert_array_equal(ds[name].values, group[name][:])
    assert list(ds.indexes["sample"]) == _ids(group)
    for name in ("subject", "clip", "emotion", "label", "status", "onset_index", "checksum"):
        assert name in ds.coords and ds[name].dims == ("sample",)
        assert [str(x) for x in ds[name].values] == [str(x) for x in group[name][:]], name
    assert ds.attrs["mepipe"] == dict(group.attrs["mepipe"])
    assert ds.attrs["classes"] == "raw" and ds.attrs["class_names"] == group.attrs["mepipe"]["class_names"]
    one = ds.sel(sample=_ids(group)[2])
    np.testing.assert_array_equal(one.midi.values, group["midi"][2])


def test_open_dataset_relabels_through_the_recipe(casme2_store, casme2_release):
    recipe = get_recipe("casme2")
    expected = {s.sample_id: s.label for s in recipe.read(recipe.find_sheet(casme2_release), classes="3")}
    ds = open_dataset(casme2_store, classes="3")
    assert dict(zip(ds.indexes["sample"], ds.label.values.tolist())) == expected
    assert ds.attrs["class_names"] == ["negative", "positive", "surprise"]
    assert ds.trdi.shape[0] == len(expected) < zarr.open_group(casme2_store)["status"].shape[0]
    with pytest.raises(UsageError, match="unknown class set '7'"):
        open_dataset(casme2_store, classes="7")


def test_failed_samples_only_when_asked(one_failed):
    ids = _ids(zarr.open_group(one_failed))
    assert list(open_dataset(one_failed).indexes["sample"]) == ids[1:]
    everything = open_dataset(one_failed, ok_only=False)
    assert list(everything.indexes["sample"]) == ids
    assert everything.status.values[0] == FAILED and everything.error.values[0] == "no face found"


def test_loso_splits_partition_by_subject_in_open_dataset_positions(one_failed):
    ds = open_dataset(one_failed)
    subjects = ds.subject.values
    splits = list(loso_splits(one_failed))
    assert [s for s, _, _ in splits] == sorted(set(subjects))
    for subject, train, test in splits:
        assert set(subjects[test]) == {subject} and subject not in set(subjects[train])
        assert sorted([*train, *test]) == list(range(len(subjects)))


def test_train_reads_the_same_samples_in_the_same_order(one_failed):
    pytest.importorskip("torch")
    from mepipe.train.data import load_store

    data = load_store(one_failed, classes="3")
    ds = open_dataset(one_failed, classes="3")
    assert list(data.sample_ids) == list(ds.indexes["sample"])
    assert [data.class_names[i] for i in data.labels.tolist()] == ds.label.values.tolist()


def test_torch_dataset_items_and_two_worker_loader(one_failed):
    torch = pytest.importorskip("torch")
    from mepipe.dataset import TorchDataset

    group = zarr.open_group(one_failed, mode="r")
    ds = open_dataset(one_failed)
    subject, train, test = next(iter(loso_splits(one_failed)))
    dataset = TorchDataset(one_failed, train, arrays=("trdi", "apex"))
    assert isinstance(dataset, torch.utils.data.Dataset) and len(dataset) == len(train)
    item = dataset[0]  # the parent opens the store (and starts zarr's I/O thread) before forking
    row = _ids(group).index(item["sample_id"])
    assert item["trdi"].shape == (3, 64, 64) and item["trdi"].dtype == torch.uint8
    np.testing.assert_array_equal(item["apex"].permute(1, 2, 0).numpy(), group["apex"][row])
    assert dataset.class_names[item["label"]] == str(group["label"][row])
    assert item["subject"] == str(group["subject"][row]) != subject

    loader = torch.utils.data.DataLoader(dataset, batch_size=3, num_workers=2, timeout=120)
    seen = []
    for batch in loader:
        for k, sample_id in enumerate(batch["sample_id"]):
            row = _ids(group).index(sample_id)
            np.testing.assert_array_equal(batch["trdi"][k].permute(1, 2, 0).numpy(), group["trdi"][row])
            assert batch["label"][k].item() == ds.attrs["class_names"].index(str(group["label"][row]))
            seen.append(sample_id)
    assert seen == list(ds.indexes["sample"][train])


def test_torch_dataset_transform_and_bad_arguments(casme2_store):
    pytest.importorskip("torch")
    from mepipe.dataset import TorchDataset

    flipped = TorchDataset(casme2_store, [1], transform=lambda images: {k: v.flip(-1) for k, v in images.items()})
    plain = TorchDataset(casme2_store, [1])
    assert (flipped[0]["midi"] == plain[0]["midi"].flip(-1)).all()
    with pytest.raises(UsageError, match=r"no array 'trdi_raw' to serve; it holds trdi, midi, onset, apex"):
        TorchDataset(casme2_store, arrays=("trdi_raw",))
    n = len(TorchDataset(casme2_store))
    with pytest.raises(UsageError, match=f"index {n} is outside the {n} samples"):
        TorchDataset(casme2_store, [0, n])


def test_without_torch_dataset_imports_and_torch_dataset_says_so(casme2_store):
    code = WITHOUT_TORCH + textwrap.dedent(f"""
        from mepipe.dataset import open_dataset, loso_splits
        print(open_dataset({casme2_store!r}).trdi.shape[0], len(list(loso_splits({casme2_store!r}))))
        from mepipe.dataset import TorchDataset
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == [str(zarr.open_group(casme2_store)["status"].shape[0]), "3"]
    assert result.stderr.strip().splitlines()[-1] == (
        "mepipe.errors.MepipeError: mepipe.dataset.TorchDataset needs PyTorch: pip install 'mepipe[train]'"
    )
