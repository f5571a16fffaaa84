"""mepipe export: PNG folders and npz archives that equal the stored arrays."""

from __future__ import annotations

import csv
import shutil

import cv2
import numpy as np
import pytest
import zarr
from click.testing import CliRunner

from mepipe._shared.text import safe_name
from mepipe.cli import cli
from mepipe.dataset.export import export
from mepipe.errors import MepipeError, UsageError
from mepipe.release.recipe import Sample
from mepipe.store import FAILED, OK, SampleResult, create_store, write_sample


def read_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_png(path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return image[..., None] if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@pytest.fixture
def odd_store(tmp_path) -> str:
    """A gray store whose names need sanitising; its last sample failed."""
    names = [("s 1", "a/b"), ("s 1", "ü?"), ("s2", "c"), ("s2", "d")]
    samples = [
        Sample(sample_id=f"{s}/{c}", subject=s, clip=c, onset=1, apex=2, offset=3, emotion=e, label=e)
        for (s, c), e in zip(names, ("joy", "fear", "joy", "fear"))
    ]
    path = str(tmp_path / "odd.zarr")
    group = create_store(
        path,
        samples,
        size=16,
        channels=1,
        attrs={"version": "test", "dataset": "samm", "classes": "raw", "class_names": ["fear", "joy"]},
    )
    rng = np.random.default_rng(3)
    for i in range(3):
        images = {n: rng.integers(0, 256, (16, 16, 1), dtype=np.uint8) for n in ("trdi", "midi", "onset", "apex")}
        write_sample(
            group, i, SampleResult(status=OK, n_frames=2, onset_index=1, apex_index=2, offset_index=3, images=images)
        )
    write_sample(group, 3, SampleResult(status=FAILED, error="no face found"))
    return path


def test_png_export_equals_the_store(casme2_store, tmp_path):
    group = zarr.open_group(casme2_store, mode="r")
    out = tmp_path / "png"
    summary = export(casme2_store, out, "png", ("trdi", "midi", "onset"), progress=False)
    rows = read_csv(out / "samples.csv")
    ids = [str(s) for s in group["sample_id"][:]]
    assert summary.exported == len(rows) == len(ids) and not summary.left_out
    assert [r["sample_id"] for r in rows] == ids
    for i, row in enumerate(rows):
        label, subject, clip = (str(group[k][i]) for k in ("label", "subject", "clip"))
        assert row["trdi_path"] == f"trdi/{label}/{subject}_{clip}.png"
        assert (row["label"], row["subject"], int(row["onset"]), int(row["apex"])) == (
            label,
            subject,
            int(group["onset_index"][i]),
            int(group["apex_index"][i]),
        )
        for name in ("trdi", "midi", "onset"):
            np.testing.assert_array_equal(read_png(out / row[f"{name}_path"]), group[name][i])
    assert sorted(p.name for p in out.iterdir()) == [
        "export.json",
        "left_out.csv",
        "midi",
        "onset",
        "samples.csv",
        "trdi",
    ]


def test_npz_export_under_another_class_set(casme2_store, tmp_path):
    group = zarr.open_group(casme2_store, mode="r")
    export(casme2_store, tmp_path / "npz", "npz", ("midi",), classes="3", progress=False)
    archive = np.load(tmp_path / "npz" / "midi.npz")
    rows = read_csv(tmp_path / "npz" / "samples.csv")
    ids = [str(s) for s in group["sample_id"][:]]
    index = [ids.index(r["sample_id"]) for r in rows]
    assert list(archive["sample_id"]) == [r["sample_id"] for r in rows] and 0 < len(rows) < len(ids)
    np.testing.assert_array_equal(archive["images"], group["midi"].oindex[index])
    assert list(archive["class_names"]) == ["negative", "positive", "surprise"]
    assert [archive["class_names"][k] for k in archive["label"]] == [r["label"] for r in rows]
    assert list(archive["subject"]) == [r["subject"] for r in rows]


def test_failed_samples_are_left_out_and_names_made_portable(odd_store, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["export", odd_store, "--out", str(out), "--arrays", "trdi", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "mepipe: left out s2/d (failed): no face found" in result.output
    assert "exported 3 samples (trdi) as png" in result.output
    assert read_csv(out / "left_out.csv") == [{"sample_id": "s2/d", "status": "failed", "error": "no face found"}]
    group = zarr.open_group(odd_store, mode="r")
    files = {r["sample_id"]: r["trdi_path"] for r in read_csv(out / "samples.csv")}
    assert files == {"s 1/a/b": "trdi/joy/s_1_a_b.png", "s 1/ü?": "trdi/fear/s_1___.png", "s2/c": "trdi/joy/s2_c.png"}
    for i, sample_id in enumerate(("s 1/a/b", "s 1/ü?", "s2/c")):
        np.testing.assert_array_equal(read_png(out / files[sample_id]), group["trdi"][i])
    assert safe_name("..") == "_" and safe_name("a/../b") == "a_.._b"


def test_foreign_folders_refused_earlier_exports_replaced(casme2_store, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(
        MepipeError, match=f"^--out {foreign} is not empty and holds no mepipe export; choose a new or empty folder$"
    ):
        export(casme2_store, foreign, progress=False)
    assert [p.name for p in foreign.iterdir()] == ["thesis.tex"]
    with pytest.raises(UsageError, match="is a file; export writes a folder"):
        export(casme2_store, foreign / "thesis.tex", progress=False)

    out = tmp_path / "again"
    export(casme2_store, out, "png", progress=False)
    (out / "notes.txt").write_text("kept")
    export(casme2_store, out, "npz", ("trdi",), classes="3", progress=False)
    assert sorted(p.name for p in out.iterdir()) == [
        "export.json",
        "left_out.csv",
        "notes.txt",
        "samples.csv",
        "trdi.npz",
    ]
    with pytest.raises(UsageError, match="trdi_raw'; it holds trdi, midi, onset, apex"):
        export(casme2_store, out, arrays=("trdi_raw",), progress=False)


def test_cli_errors_are_one_line(casme2_store, tmp_path):
    shutil.copytree(casme2_store, tmp_path / "s.zarr")
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "s.zarr"), "--out", str(tmp_path), "--quiet"])
    assert result.exit_code == 1
    assert (
        result.output == f"mepipe: error: --out {tmp_path} is not empty and holds no mepipe export; "
        "choose a new or empty folder\n"
    )
