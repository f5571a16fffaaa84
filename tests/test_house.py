"""One house for clips and long videos: a spotting store goes through the same commands,
lock, verify and readers as a clip store, its per-frame features are registered like
array sets, and a build refuses the options of the other task in one line.

On a small synthetic CAS(ME)^2 release (two subjects of one short video each), built
through ``mepipe build`` with DIS flow on the default crop.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zarr
from click.testing import CliRunner

from mepipe.arrays import perframe
from mepipe.build import build
from mepipe.cli import cli
from mepipe.engine.lock import StoreLock
from mepipe.errors import MepipeError, UsageError
from mepipe.release import plugins
from mepipe.store.spotting import open_spotting_store, spotting_record

from .spotvideo import SMALL_SPOTTING
from .test_extend_recipe import write_distribution

ROOT = Path(__file__).resolve().parents[1]
#: quick and small: DIS flow, a 48 px crop, blocks of 8 pairs
SMALL = SMALL_SPOTTING


@pytest.fixture(scope="module")
def release(casme_sq_release) -> Path:
    return casme_sq_release


@pytest.fixture(scope="module")
def store(casme_sq_store) -> Path:
    return casme_sq_store


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def test_every_store_command_takes_a_spotting_store(store, tmp_path):
    code, text = run("inspect", store)
    assert code == 0 and "casme_sq spotting store: 2 videos, 192 frames" in text
    assert "features: validity, regions, mdmd, motion" in text and "images" in text

    code, text = run("verify", store, "--quiet")
    assert (code, text.strip()) == (0, "24 blocks checked, 0 damaged")

    code, text = run("splits", store, "--out", tmp_path / "folds.csv")
    assert code == 0 and "2 loso folds, 4 rows" in text
    rows = list(csv.DictReader((tmp_path / "folds.csv").open()))
    assert {(r["held_out"], r["sample_id"], r["split"]) for r in rows} == {
        ("s15", "s15_0101", "test"),
        ("s15", "s16_0101", "train"),
        ("s16", "s15_0101", "train"),
        ("s16", "s16_0101", "test"),
    }

    code, text = run("preview", store, "--out", tmp_path / "previews")
    assert code == 0 and sorted(Path(line).name for line in text.split()) == ["s15_0101.png", "s16_0101.png"]

    code, text = run("report", store, "--out", tmp_path / "report")
    page = (tmp_path / "report" / "index.html").read_text()
    assert code == 0 and "<h1>mepipe report: casme_sq store" in page
    for part in ("Summary", "Provenance", "Legend", "micro-expression (red band)", "macro-expression (blue band)"):
        assert part in page
    assert "sheet sha256" in page and spotting_record(open_spotting_store(store)).sheet_sha256 in page


def test_export_writes_the_intervals_and_one_archive_per_video(store, tmp_path):
    code, text = run("export", store, "--out", tmp_path / "x")
    assert code == 0 and "exported 2 videos as npz" in text
    intervals = list(csv.DictReader((tmp_path / "x" / "intervals.csv").open()))
    stored = zarr.open_group(str(store), mode="r")
    assert len(intervals) == stored["intervals/onset"].shape[0]
    assert [int(r["onset"]) for r in intervals] == stored["intervals/onset"][:].tolist()
    with np.load(tmp_path / "x" / "s15_0101.npz") as archive:
        group = stored["videos/s15_0101"]
        for name in ("numbers", "images", "region_motion", "valid", "label_type"):
            np.testing.assert_array_equal(archive[name], group[name][:], err_msg=name)
        assert int(archive["k"]) == group.attrs["k"]
    code, text = run("export", store, "--out", tmp_path / "y", "--classes", "5")
    assert code != 0 and "--arrays, --classes and --framing apply to clip stores" in text


def test_commands_that_cannot_apply_say_what_to_use(store, tmp_path):
    code, text = run("train", store, "--out", tmp_path / "runs")
    assert code != 0 and len(text.strip().splitlines()) == 1
    assert "is a spotting store (long videos)" in text and "mepipe spot" in text
    missing = tmp_path / "nothing.zarr"
    for command in ("inspect", "verify", "report", "export", "train"):
        extra = () if command in ("inspect", "verify") else ("--out", tmp_path / command)
        code, text = run(command, missing, *extra)
        assert code != 0 and "not a mepipe store (no zarr group there)" in text, (command, text)


def test_a_build_refuses_the_options_of_the_other_task(release, tmp_path):
    code, text = run(
        "build",
        "--dataset",
        "casme_sq",
        "--root",
        release,
        "--out",
        tmp_path / "a.zarr",
        "--classes",
        "5",
        "--size",
        "64",
    )
    assert code != 0 and "--size, --classes apply to clip datasets only" in text.replace(
        "--classes, --size", "--size, --classes"
    )
    code, text = run("build", "--dataset", "samm", "--root", release, "--out", tmp_path / "b.zarr", "--fps", "30")
    assert code != 0 and "--fps applies to long-video (spotting) datasets only" in text
    with pytest.raises(UsageError, match="span applies to clip datasets only"):
        build("casme_sq", release, str(tmp_path / "c.zarr"), span="onset-offset")
    with pytest.raises(UsageError, match="k applies to long-video"):
        build("samm", release, str(tmp_path / "d.zarr"), k=3)


def test_naming_a_feature_on_a_finished_store_adds_only_it(release, store, tmp_path):
    out = tmp_path / "more.zarr"
    build("casme_sq", release, str(out), arrays="regions,mdmd,motion", settings=SMALL, scheduler="sync", progress=False)
    before = {n: zarr.open_group(str(out), mode="r")[f"videos/s15_0101/{n}"][:] for n in ("images", "region_motion")}
    summary = build(
        "casme_sq",
        release,
        str(out),
        arrays="validity,regions,mdmd,motion,cells",
        settings=SMALL,
        scheduler="sync",
        progress=False,
    )
    assert summary.added == ("cells",) and "added cells" in summary.format()
    group = zarr.open_group(str(out), mode="r")["videos/s15_0101"]
    for name, values in before.items():
        np.testing.assert_array_equal(group[name][:], values, err_msg=name)
    assert group["done_cells"][:].all() and spotting_record(open_spotting_store(out)).added == ["cells"]
    # the added feature is what the baseline reads: the signed flow (the region images
    # are SOFTNet's |u|, |v|)
    from mepipe.spot.baseline import store_videos

    valid = group["valid"][:]
    read = {v.name: v.flow for v in store_videos(out)[0]}["s15_0101"]
    np.testing.assert_allclose(read[valid], group["cell_flow"][:][valid], atol=1e-6)
    assert (group["cell_flow"][:][valid] < 0).any() and (group["images"][:][valid][..., :2] >= 0).all()
    # a rerun without --arrays keeps the store's own; one that leaves a feature out is refused
    assert build("casme_sq", release, str(out), settings=SMALL, scheduler="sync", progress=False).computed == 0
    with pytest.raises(UsageError, match="holds mdmd, motion, cells, which --arrays regions leaves out"):
        build("casme_sq", release, str(out), arrays="regions", settings=SMALL, scheduler="sync", progress=False)
    code, text = run("verify", out, "--quiet")
    assert (code, text.strip()) == (0, "48 blocks checked, 0 damaged")
    with pytest.raises(UsageError, match="no per-frame feature 'trdi'"):
        build("casme_sq", release, str(out), arrays="trdi", settings=SMALL, progress=False)


def test_a_second_build_into_a_store_being_built_is_refused(release, tmp_path):
    out = tmp_path / "locked.zarr"
    with StoreLock(str(out)):
        with pytest.raises(MepipeError, match="lock"):
            build("casme_sq", release, str(out), settings=SMALL, scheduler="sync", progress=False)


def test_verify_counts_what_an_interrupted_build_left_and_the_rerun_finishes_it(release, store, tmp_path):
    out = tmp_path / "cut.zarr"
    build("casme_sq", release, str(out), settings=SMALL, scheduler="sync", progress=False)
    root = zarr.open_group(str(out), mode="r+", use_consolidated=False)
    # as a kill leaves it: one video's later blocks unmarked, the other video never made
    root["videos/s15_0101/done"][4:] = False
    del root["videos/s16_0101"]
    code, text = run("verify", out, "--quiet")
    assert code == 0, text
    assert text.strip() == (
        "4 blocks checked, 0 damaged, 8 unfinished in 2 videos; rerunning the build finishes the unfinished ones"
    )
    summary = build("casme_sq", release, str(out), settings=SMALL, scheduler="sync", progress=False)
    assert summary.computed == 96 + 64
    for name in ("images", "region_motion", "valid"):
        for video in ("s15_0101", "s16_0101"):
            np.testing.assert_array_equal(
                zarr.open_group(str(out), mode="r")[f"videos/{video}/{name}"][:],
                zarr.open_group(str(store), mode="r")[f"videos/{video}/{name}"][:],
            )


def test_the_spotting_build_counts_frames(release, tmp_path):
    env = {**os.environ, "MEPIPE_PROGRESS": "lines"}
    probe = (
        "from mepipe.build import build; from mepipe.engine.spotting import SpotSettings; "
        f"build('casme_sq', {str(release)!r}, {str(tmp_path / 'p.zarr')!r}, "
        "settings=SpotSettings(method='dis', crop=48, block=8, chunk=16), scheduler='threads', workers=1)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    lines = [line for line in done.stderr.splitlines() if line.startswith("build spotting")]
    assert lines[0] == "build spotting: 192 frames" and lines[-1].startswith("build spotting: 192/192 frames in")
    assert any("eta" in line for line in lines[1:-1])


#: a lab's per-frame feature: the face crop's mean grey level, from the frame alone
FEATURE_MODULE = """
import numpy as np

from mepipe.arrays import ArraySpec, PerFrameFeature, register_feature

register_feature(
    PerFrameFeature(
        "brightness",
        (ArraySpec("brightness", "float32", (), (), fill=float("nan")),),
        "frame",
        lambda pair: {"brightness": np.float32(pair.crop.mean())},
        "the face crop's mean grey level",
    )
)
"""


def test_a_plug_in_feature_is_found_through_its_entry_point(installed, release, tmp_path, monkeypatch):
    monkeypatch.setattr(perframe, "_FEATURES", dict(perframe._FEATURES))
    monkeypatch.setattr(plugins, "_imported", set(plugins._imported))
    monkeypatch.setattr(plugins, "_seen", {})
    write_distribution(
        installed,
        "labme_features",
        {"labme_features/__init__.py": "", "labme_features/brightness.py": FEATURE_MODULE},
        {"brightness": "labme_features.brightness"},
        group=plugins.SPOT_FEATURES,
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(installed), str(ROOT)]))
    out = tmp_path / "b.zarr"
    code, text = run(
        "build",
        "--dataset",
        "casme_sq",
        "--root",
        release,
        "--out",
        out,
        "--arrays",
        "brightness",
        "--flow",
        "dis",
        "--scheduler",
        "sync",
        "--quiet",
    )
    assert code == 0, text
    record = spotting_record(open_spotting_store(out))
    assert record.features == ["validity", "brightness"] and record.feature_versions["brightness"] == 1
    group = zarr.open_group(str(out), mode="r")["videos/s15_0101"]
    assert "images" not in group and np.isfinite(group["brightness"][:]).all()
    assert 0 < float(group["brightness"][0]) < 255
    code, text = run("inspect", out)
    assert "brightness" in text


def test_old_store_layout_still_opens_and_resumes(release, tmp_path):
    out = tmp_path / "old.zarr"
    build("casme_sq", release, str(out), settings=SMALL, scheduler="sync", progress=False)
    root = zarr.open_group(str(out), mode="r+", use_consolidated=False)
    # as stores made before the registry: no features, provenance or checksums recorded
    meta = {
        k: v for k, v in dict(root.attrs["mepipe_spotting"]).items() if k in ("format", "settings", "regions", "videos")
    }
    root.attrs["mepipe_spotting"] = meta
    for video in ("s15_0101", "s16_0101"):
        del root[f"videos/{video}/checksum"]
    root["videos/s15_0101/done"][2] = False
    code, text = run("verify", out, "--quiet")
    assert code == 0 and text.startswith("23 blocks checked, 0 damaged, 1 unfinished in 1 videos"), text
    summary = build("casme_sq", release, str(out), settings=SMALL, scheduler="sync", progress=False)
    assert summary.ok and summary.computed == 16
    assert json.loads(json.dumps(spotting_record(open_spotting_store(out)).features)) == [
        "validity",
        "regions",
        "mdmd",
        "motion",
    ]


def test_the_extending_page_shows_the_feature_module_this_test_installs():
    text = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8").split("## A per-frame feature", 1)[1]
    block = text.split("```python\n", 1)[1].split("```", 1)[0]
    assert block.strip() == FEATURE_MODULE.strip()


def test_verify_counts_the_samples_an_interrupted_clip_build_left(casme2_release, casme2_store, tmp_path):
    import shutil

    out = tmp_path / "cut.zarr"
    shutil.copytree(casme2_store, out)
    group = zarr.open_group(str(out), mode="r+", use_consolidated=False)
    ok = int((group["status"][:] == 1).sum())
    group["status"][:2] = 0  # pending: as a kill before their writes leaves them
    code, text = run("verify", out, "--quiet")
    assert code == 0, text
    assert text.strip() == (
        f"{ok - 2} ok samples checked, 0 damaged, 2 unfinished; rerunning the build finishes the unfinished ones"
    )
    build("casme2", casme2_release, str(out), size=64, progress=False, workers=1)
    code, text = run("verify", out, "--quiet")
    assert (code, text.strip()) == (0, f"{ok} ok samples checked, 0 damaged")
