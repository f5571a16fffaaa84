"""The build: store schema, resume after kill -9, determinism, failures as data."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import zarr
from click.testing import CliRunner

from mepipe._shared.testhook import KILL_AFTER
from mepipe.build import build, opencv_threads
from mepipe.cli import cli
from mepipe.engine.config import BuildConfig
from mepipe.engine.stages import Clip, detect_side, frames_needed, pool_clip
from mepipe.errors import MepipeError, UsageError
from mepipe.imaging import align
from mepipe.pipelines import get_recipe
from mepipe.release import frames
from mepipe.release.discover import open_release
from mepipe.report.summary import describe
from mepipe.store import ALIGNMENT_FIELDS, FAILED, IMAGES, OK, Alignment, create_store, read_columns, write_sample
from mepipe.store.layout import drop_consolidated
from mepipe.store.verify import verify_store

TABLE_ARRAYS = (
    "sample_id",
    "subject",
    "clip",
    "emotion",
    "label",
    "onset_index",
    "apex_index",
    "offset_index",
    "n_frames",
    "status",
    "error",
    "repair",
    "checksum",
)


def arrays(store: str) -> dict[str, np.ndarray]:
    group = zarr.open_group(store, mode="r")
    return {name: group[name][:] for name in (*IMAGES, *TABLE_ARRAYS)}


def assert_same_arrays(a: str, b: str) -> None:
    left, right = arrays(a), arrays(b)
    for name in left:
        assert left[name].dtype == right[name].dtype, name
        np.testing.assert_array_equal(left[name], right[name], err_msg=name)


def test_store_schema(casme2_store, casme2_release):
    group = zarr.open_group(casme2_store, mode="r")
    recipe = get_recipe("casme2")
    samples = recipe.read(recipe.find_sheet(casme2_release))
    n = len(samples)
    for name in IMAGES:
        array = group[name]
        assert array.shape == (n, 64, 64, 3) and array.dtype == np.uint8
        assert array.chunks == (1, 64, 64, 3)
        assert tuple(array.metadata.dimension_names) == ("sample", "y", "x", "channel")
    table = read_columns(group)
    assert [str(s) for s in table["sample_id"]] == [s.sample_id for s in samples]
    for name in ("onset_index", "apex_index", "offset_index", "n_frames"):
        assert table[name].dtype == np.int32
    for name, dtype, shape in (
        ("transform", np.float64, (2, 3)),
        ("landmarks", np.float32, (68, 2)),
        ("frame_size", np.int32, (2,)),
    ):
        assert group[name].dtype == dtype and group[name].shape == (n, *shape), name
        assert group[name].chunks == (n, *shape), name  # a finished store: one chunk each
    assert group["detect_step"].shape == (n,) and group["detect_step"].chunks == (n,)
    assert np.isfinite(group["transform"][:]).all() and np.isfinite(group["landmarks"][:]).all()
    height, width = cv2.imread(str(next(casme2_release.rglob("*.jpg")))).shape[:2]
    assert (group["frame_size"][:] == [height, width]).all()
    assert set(group["detect_step"][:]) == {"scaled"}
    assert table["status"].dtype == np.uint8
    assert set(table["status"]) == {OK}, table["error"]
    attrs = group.attrs["mepipe"]
    for key in (
        "version",
        "dataset",
        "span",
        "size",
        "classes",
        "class_names",
        "config",
        "sheet_sha256",
        "created",
        "versions",
    ):
        assert key in attrs, key
    assert attrs["config"]["span"] == "onset-apex" and attrs["size"] == 64
    for sample, onset, apex, n_frames in zip(samples, table["onset_index"], table["apex_index"], table["n_frames"]):
        assert onset == sample.onset
        if sample.apex is not None:
            assert apex == sample.apex and n_frames == sample.apex - sample.onset + 1


def test_store_reads_with_xarray(casme2_store):
    xarray = pytest.importorskip("xarray")
    ds = xarray.open_zarr(casme2_store, consolidated=False)
    assert ds["trdi"].dims == ("sample", "y", "x", "channel")
    assert ds["midi"].shape == zarr.open_group(casme2_store)["midi"].shape


def test_dynamic_images_carry_the_motion(casme2_store):
    group = zarr.open_group(casme2_store, mode="r")
    trdi, midi = group["trdi"][:], group["midi"][:]
    for image in (trdi, midi):
        # per-image min-max: every sample spans the full range
        assert (image.reshape(len(image), -1).min(axis=1) == 0).all()
        assert (image.reshape(len(image), -1).max(axis=1) == 255).all()
    assert not np.array_equal(trdi, midi)


def test_rerun_skips_ok_samples(casme2_store, casme2_release):
    before = arrays(casme2_store)
    summary = build("casme2", casme2_release, casme2_store, size=64, progress=False)
    assert summary.built == 0 and summary.skipped == summary.total == summary.ok
    after = arrays(casme2_store)
    for name in before:
        np.testing.assert_array_equal(before[name], after[name])


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"size": "64"}, "size must be an integer, not '64' (str)"),
        ({"classes": 5}, "classes must be text (a class set name such as '5'), not 5 (int)"),
        ({"gray": "yes"}, "gray must be True or False, not 'yes' (str)"),
        ({"motion_sigma": "1"}, "motion_sigma must be a number, not '1' (str)"),
        ({"span": "onset"}, "--span must be one of onset-apex, onset-offset, apex-offset, not 'onset'"),
        ({"arrays": 5}, "arrays must be names, comma-separated or a list of them, not 5"),
        ({"au_vocabulary": ["AU1"]}, "au_vocabulary must be AU numbers, e.g. (1, 2, 4), not ['AU1']"),
        ({"shard": "2"}, "shard must be an integer, not '2' (str)"),
        ({"shard": 1}, "shard must be at least 2, not 1"),
        ({"workers": 0}, "workers must be at least 1, not 0"),
        ({"sheet": 3}, "sheet must be a path, not 3 (int)"),
        ({"sise": 64}, "build: no option sise; the options are classes, span, size, gray, "),
    ],
)
def test_build_arguments_are_checked_in_one_line(casme2_release, tmp_path, arguments, message):
    out = tmp_path / "x.zarr"
    with pytest.raises(UsageError) as caught:
        build("casme2", casme2_release, str(out), progress=False, **arguments)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert not out.exists()


def test_a_rebuild_refusal_names_the_stores_value_and_the_asked_one(casme2_store, casme2_release, tmp_path):
    store = str(tmp_path / "copy.zarr")
    shutil.copytree(casme2_store, store)
    with pytest.raises(MepipeError) as caught:
        build("casme2", casme2_release, store, size=32, gray=True, progress=False)
    assert str(caught.value) == (
        f"{store} was built with size=64, gray=False; this build asks size=32, gray=True; "
        "rerun with --overwrite to replace it, or choose another --out"
    )


def test_other_configuration_refused_then_overwritten(casme2_store, casme2_release, tmp_path):
    store = str(tmp_path / "copy.zarr")
    shutil.copytree(casme2_store, store)
    with pytest.raises(
        MepipeError, match=r"was built with span='onset-apex'; this build asks span='onset-offset'; rerun"
    ):
        build("casme2", casme2_release, store, size=64, span="onset-offset", progress=False)
    summary = build("casme2", casme2_release, store, size=64, span="onset-offset", overwrite=True, progress=False)
    assert summary.ok == summary.total
    assert zarr.open_group(store).attrs["mepipe"]["span"] == "onset-offset"


@pytest.mark.parametrize("scheduler", ["sync", "processes"])
def test_same_arrays_whatever_the_scheduler(casme2_store, casme2_release, tmp_path, scheduler):
    store = str(tmp_path / f"{scheduler}.zarr")
    threads = cv2.getNumThreads()
    cv2.setNumThreads(3)
    try:
        build("casme2", casme2_release, store, size=64, scheduler=scheduler, workers=2, progress=False)
        # the build's tasks run OpenCV single-threaded; the caller's setting comes back
        assert cv2.getNumThreads() == 3
    finally:
        cv2.setNumThreads(threads)
    assert_same_arrays(casme2_store, store)


def shrink_subject(folder: Path) -> None:
    """Every frame in ``folder`` shrunk to half size in the middle of a same-size frame: a
    face too small for the detector's scaled copy, found at full resolution."""
    for path in folder.glob("*.jpg"):
        frame = cv2.imread(str(path))
        height, width = frame.shape[:2]
        small = cv2.resize(frame, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        canvas = np.full_like(frame, frame[0, 0])
        canvas[height // 4 : height // 4 + small.shape[0], width // 4 : width // 4 + small.shape[1]] = small
        cv2.imwrite(str(path), canvas)


def test_missing_frame_fails_that_sample_only_and_fallback_faces_are_counted(casme2_release, tmp_path):
    root = tmp_path / "release"
    shutil.copytree(casme2_release, root)
    recipe = get_recipe("casme2")
    samples = recipe.read(recipe.find_sheet(root))
    victim = next(s for s in samples if s.apex is not None)
    missing = victim.onset + 1
    (root / recipe.frame_dir(victim) / recipe.frame_name(victim, missing)).unlink()
    small = next(s for s in samples if s.clip != victim.clip)
    shrink_subject(root / recipe.frame_dir(small))
    summary = build("casme2", root, str(tmp_path / "s.zarr"), size=64, progress=False)
    assert summary.failed == 1 and summary.ok == summary.total - 1
    group = zarr.open_group(str(tmp_path / "s.zarr"))
    table = read_columns(group)
    index = [str(s) for s in table["sample_id"]].index(victim.sample_id)
    assert table["status"][index] == FAILED
    error = str(table["error"][index])
    assert f"frame {missing} missing" in error and recipe.frame_name(victim, missing) in error
    assert "\n" not in error
    assert "failed samples:" in summary.format() and victim.sample_id in summary.format()
    # the failed sample records no alignment; the small face is counted by its step
    assert group["detect_step"][index] == "" and group["frame_size"][index].tolist() == [-1, -1]
    assert group["detect_step"][samples.index(small)] == "full"
    assert summary.detect_steps == {"scaled": summary.total - 2, "full": 1}
    assert f"faces     scaled {summary.total - 2}, full 1  (found by detection step" in summary.format()
    report = describe(group)
    assert "faces by detection step (ok samples):" in report
    assert any(line.split() == ["full", "1"] for line in report.splitlines())


def test_killed_build_resumes_to_identical_arrays(casme2_store, casme2_release, tmp_path):
    store = tmp_path / "killed.zarr"
    command = [
        sys.executable,
        "-m",
        "mepipe",
        "build",
        "--dataset",
        "casme2",
        "--root",
        str(casme2_release),
        "--out",
        str(store),
        "--size",
        "64",
        "--workers",
        "1",
        "--quiet",
    ]
    # the build kills itself (SIGKILL) once its first sample is committed: the others were
    # in flight, their images maybe half written, their status not
    killed = subprocess.run(command, env={**os.environ, KILL_AFTER: "1"}, capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    status = zarr.open_group(str(store), use_consolidated=False)["status"][:]
    assert np.sum(status == OK) == 1 and np.sum(status != 0) == 1 and len(status) > 1
    done = 1
    assert Path(str(store) + ".lock").exists()  # left behind by the killed build ...
    result = subprocess.run(command, capture_output=True, text=True)  # ... and taken over
    assert result.returncode == 0, result.stderr
    assert f"already ok {done}" in result.stdout
    assert_same_arrays(casme2_store, str(store))


def test_cli_build_inspect_preview(casme2_release, tmp_path):
    store = str(tmp_path / "cli.zarr")
    runner = CliRunner()
    result = runner.invoke(
        cli, ["build", "--dataset", "casme2", "--root", str(casme2_release), "--out", store, "--size", "48", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert "ok " in result.output and "frames/s" in result.output
    *_, last, closing = result.output.strip().splitlines()
    assert last == f"look at every sample: mepipe report {store} --out {tmp_path / 'cli-report'}"
    assert closing == f"built {store}: 9 of 9 samples ok, 0 failed"
    result = runner.invoke(cli, [*shlex.split(last.split(": ", 1)[1])[1:], "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli-report" / "index.html").is_file()
    result = runner.invoke(cli, ["inspect", store])
    assert result.exit_code == 0
    assert "status:" in result.output and '"span": "onset-apex"' in result.output
    result = runner.invoke(cli, ["preview", store, "--out", str(tmp_path / "png"), "--per-class", "2"])
    assert result.exit_code == 0, result.output
    pngs = sorted((tmp_path / "png").glob("*.png"))
    assert pngs and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    labels = {str(x) for x in zarr.open_group(store)["label"][:]}
    assert {p.stem for p in pngs} == labels


def test_cli_build_missing_root_is_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mepipe", "build", "--dataset", "samm", "--root", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "no SAMM release at" in result.stderr and "mepipe synth --dataset samm" in result.stderr


def test_cli_build_without_root_or_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MEPIPE_DATA"}
    result = subprocess.run(
        [sys.executable, "-m", "mepipe", "build", "--dataset", "samm"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "$MEPIPE_DATA is not set" in result.stderr and result.stderr.count("\n") == 1


def test_gray_samm_build(samm_release, tmp_path):
    store = str(tmp_path / "samm.zarr")
    summary = build("samm", samm_release, store, size=48, gray=True, progress=False)
    assert summary.ok == summary.total
    group = zarr.open_group(store, mode="r")
    assert group["trdi"].shape[1:] == (48, 48, 1)
    assert json.loads(json.dumps(group.attrs["mepipe"]))["config"]["gray"] is True


def test_store_without_alignment_arrays_needs_overwrite(casme2_store, casme2_release, tmp_path):
    # a store written before the alignment record existed: built with replicated edges
    old = tmp_path / "old.zarr"
    shutil.copytree(casme2_store, old)
    for name in ALIGNMENT_FIELDS:
        shutil.rmtree(old / name)
    drop_consolidated(str(old))  # older stores had no consolidated metadata either
    with pytest.raises(MepipeError) as caught:
        build("casme2", casme2_release, str(old), size=64, progress=False)
    assert str(caught.value) == (
        f"{old} was built by an older mepipe (no transform, landmarks, frame_size, detect_step "
        "arrays, edge pixels replicated); rerun with --overwrite to rebuild it, or choose another --out"
    )
    assert verify_store(str(old)).ok
    assert "faces by detection step" not in describe(zarr.open_group(str(old), mode="r"))


def test_build_matches_the_straightforward_path_byte_for_byte(casme2_release, casme2_store):
    # the build decodes each frame as it warps it (BGR, channels swapped after warping) and
    # writes the per-sample fields in batches; the straightforward path decodes the whole
    # clip into one RGB array, aligns it, pools it and writes one sample at a time
    group = zarr.open_group(casme2_store, mode="r")
    config = BuildConfig.from_dict(group.attrs["mepipe"]["config"])
    recipe = get_recipe("casme2")
    release = open_release(recipe, casme2_release)
    plain = create_store(
        str(Path(casme2_store).with_suffix(".plain")), release.samples, size=config.size, attrs={}, overwrite=True
    )
    ok = group["status"][:] == OK
    assert ok.sum() >= 8
    for index in np.flatnonzero(ok):
        sample = release.samples[index]
        found = frames.clip_frames(sample, recipe, Path(release.frame_roots[""]))
        wanted = frames_needed(found.apex, found.numbers[0], found.numbers[-1], config.span)
        by_number = dict(zip(found.numbers, found.paths))
        pixels = frames.read_clip([by_number[n] for n in wanted], recipe.color)
        side = detect_side(recipe, pixels.shape[1:], config.detect_face_px)
        aligned, info = align.align_clip(pixels, size=config.size, detect_max_side=side)
        alignment = Alignment(info["matrix"], info["landmarks"], info["frame_size"], info["step"])
        clip = Clip(
            np.asarray(wanted),
            aligned,
            found.numbers[0],
            found.numbers[-1],
            found.apex,
            found.repairs,
            onset_file=by_number[found.numbers[0]],
            alignment=alignment,
        )
        write_sample(plain, int(index), pool_clip(clip, sample, config))
    for name in (*IMAGES, *ALIGNMENT_FIELDS, *TABLE_ARRAYS):
        np.testing.assert_array_equal(group[name][:][ok], plain[name][:][ok], err_msg=name)


def test_opencv_gets_the_cores_the_workers_leave(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert opencv_threads("threads", None) == 1  # one worker per core
    assert opencv_threads("threads", 4) == 4
    assert opencv_threads("processes", 16) == 1
    assert opencv_threads("threads", 32) == 1
    assert opencv_threads("sync", None) == 16
    assert opencv_threads("tcp://127.0.0.1:8786", None) == 1
