"""The bad-input catalogue: each case fails its own sample (or refuses the whole build) with
one line naming the file, row or sample, and leaves everything else as a clean build makes it.

Every case damages a copy of the session's synthetic CASME-II release; samples it does not
damage must come out byte for byte as in ``casme2_store``, the clean build of that release.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pytest
import zarr

from mepipe.build import BuildSummary, build
from mepipe.errors import MepipeError
from mepipe.pipelines import get_recipe
from mepipe.release.check import check_release
from mepipe.release.recipe import Sample
from mepipe.store import FAILED, IMAGES, OK, read_columns

RECIPE = get_recipe("casme2")
#: the size ``casme2_store`` was built at, so that undamaged samples compare byte for byte
SIZE = 64
#: sheet index of the damaged sample: ``sub02/EP02_01``, with clean samples before and after
VICTIM = 4

#: damages a sample of a release; returns the exact error the build must store for it
Damage = Callable[[Path, Sample], str]


@pytest.fixture
def release(casme2_release, tmp_path) -> Path:
    """A copy of the synthetic release, free to damage."""
    root = tmp_path / "release"
    shutil.copytree(casme2_release, root)
    return root


@pytest.fixture(scope="module")
def clean(casme2_store) -> dict[str, dict[str, np.ndarray]]:
    """Sample id -> image name -> the image in the clean build."""
    group = zarr.open_group(casme2_store, mode="r")
    return {
        str(sample_id): {name: group[name][index] for name in IMAGES}
        for index, sample_id in enumerate(group["sample_id"][:])
    }


def sheet_samples(root: Path) -> list[Sample]:
    return RECIPE.read(RECIPE.find_sheet(root))


def rewrite_sheet(root: Path, samples: list[Sample]) -> None:
    """Write ``samples`` as the release's sheet, from their fields rather than the cells read."""
    RECIPE.write_sheet([replace(s, extra={}) for s in samples], RECIPE.find_sheet(root))


def sheet_row(index: int) -> int:
    """The sheet row (as Excel numbers it) of sample ``index``: CASME-II's header is row 1."""
    return index + 2


def frame_path(root: Path, sample: Sample, number: int) -> Path:
    return root / RECIPE.frame_dir(sample) / RECIPE.frame_name(sample, number)


def run_build(root: Path, out: Path) -> tuple[BuildSummary, zarr.Group]:
    summary = build("casme2", root, str(out), size=SIZE, progress=False, workers=2)
    return summary, zarr.open_group(str(out), mode="r")


def mepipe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mepipe", *args], capture_output=True, text=True)


def file_states(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Relative path -> (inode, size, mtime) of every file: changes when a file is rewritten."""
    states = {}
    for path in folder.rglob("*"):
        if path.is_file():
            stat = path.stat()
            states[str(path.relative_to(folder))] = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    return states


def assert_failed(group: zarr.Group, index: int, error: str) -> None:
    """Row ``index`` failed with exactly ``error`` (one line) and none of its images written."""
    table = read_columns(group)
    assert (table["status"][index], str(table["error"][index])) == (FAILED, error)
    assert "\n" not in error and table["checksum"][index] == ""
    assert not any(group[name][index].any() for name in IMAGES)


def assert_others_clean(group: zarr.Group, clean: dict, skip: set[int]) -> None:
    """Every row but ``skip`` is ok, with the images the clean build made for its sample."""
    table = read_columns(group)
    for index, sample_id in enumerate(map(str, table["sample_id"])):
        if index in skip:
            continue
        assert (table["status"][index], str(table["error"][index])) == (OK, ""), sample_id
        for name in IMAGES:
            np.testing.assert_array_equal(group[name][index], clean[sample_id][name], err_msg=f"{sample_id} {name}")


# ---- frames on disk ------------------------------------------------------------------------


def remove_folder(root: Path, sample: Sample) -> str:
    folder = root / RECIPE.frame_dir(sample)
    shutil.rmtree(folder)
    return f"no frame folder {folder}"


def remove_middle_frame(root: Path, sample: Sample) -> str:
    number = (sample.onset + sample.apex) // 2
    path = frame_path(root, sample, number)
    path.unlink()
    return f"frame {number} missing ({path})"


def keep_onset_only(root: Path, sample: Sample) -> str:
    folder = root / RECIPE.frame_dir(sample)
    for number in range(sample.onset + 1, sample.offset + 1):
        frame_path(root, sample, number).unlink()
    return (
        f"offset {sample.offset} beyond the last frame {sample.onset} in {folder}; "
        f"fewer than 2 frames from onset {sample.onset}"
    )


def empty_frame(root: Path, sample: Sample) -> str:
    path = frame_path(root, sample, sample.onset + 1)
    path.write_bytes(b"")
    return f"{path}: empty file (0 bytes)"


def truncate_frame(root: Path, sample: Sample) -> str:
    path = frame_path(root, sample, sample.onset + 1)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return f"{path}: truncated JPEG (no end marker)"


def resize_frame(root: Path, sample: Sample) -> str:
    path = frame_path(root, sample, sample.onset + 2)
    image = cv2.imread(str(path))
    height, width = image.shape[:2]
    cv2.imwrite(str(path), cv2.resize(image, (width - 2, height)))
    return f"{path}: frame size {width - 2}x{height} differs from the clip's first frame {width}x{height}"


def faceless_onset(fill: Callable[[np.ndarray], np.ndarray]) -> Damage:
    """The onset frame replaced by ``fill(frame)``, a valid image of the same size."""

    def damage(root: Path, sample: Sample) -> str:
        path = frame_path(root, sample, sample.onset)
        image = cv2.imread(str(path))
        cv2.imwrite(str(path), fill(image))
        height, width = image.shape[:2]
        return (
            f"{path}: no face found on the {width}x{height} reference frame (dlib HOG: scaled, full, upsampled, padded)"
        )

    return damage


def uniform(image: np.ndarray) -> np.ndarray:
    return np.full_like(image, 128)


def noise(image: np.ndarray) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, image.shape, dtype=np.uint8)


FRAME_DAMAGES = {
    "missing-folder": remove_folder,
    "missing-middle-frame": remove_middle_frame,
    "single-frame-on-disk": keep_onset_only,
    "zero-byte-frame": empty_frame,
    "truncated-jpeg": truncate_frame,
    "other-size-frame": resize_frame,
    "uniform-onset": faceless_onset(uniform),
    "noise-onset": faceless_onset(noise),
}


@pytest.mark.parametrize("damage", FRAME_DAMAGES.values(), ids=FRAME_DAMAGES.keys())
def test_damaged_frames_fail_their_sample_only(release, clean, tmp_path, damage):
    victim = sheet_samples(release)[VICTIM]
    error = damage(release, victim)
    release_before = file_states(release)
    summary, group = run_build(release, tmp_path / "store.zarr")
    assert_failed(group, VICTIM, error)
    assert_others_clean(group, clean, skip={VICTIM})
    assert summary.failures == [(victim.sample_id, error)]
    assert f"  {victim.sample_id}: {error}" in summary.format().splitlines()
    assert file_states(release) == release_before  # a build only reads its release


def test_cli_lists_failures_one_line_each_and_check_agrees(release, clean, tmp_path):
    samples = sheet_samples(release)
    damages = [remove_folder, remove_middle_frame, empty_frame, truncate_frame, resize_frame]
    errors = {index: damage(release, samples[index]) for index, damage in enumerate(damages)}
    out = tmp_path / "cli.zarr"
    result = mepipe(
        "build", "--dataset", "casme2", "--root", str(release), "--out", str(out), "--size", str(SIZE), "--quiet"
    )
    assert (result.returncode, result.stderr) == (0, "")
    *listed, report, closing = result.stdout.split("failed samples:\n", 1)[1].splitlines()
    assert listed == [f"  {samples[index].sample_id}: {error}" for index, error in errors.items()]
    assert report.startswith("look at every sample: mepipe report ")
    assert closing == f"built {out}: {len(samples) - len(errors)} of {len(samples)} samples ok, {len(errors)} failed"
    group = zarr.open_group(str(out), mode="r")
    for index, error in errors.items():
        assert_failed(group, index, error)
    assert_others_clean(group, clean, skip=set(errors))
    # `mepipe check` gives the reason the build stores, before any hour is spent building
    broken = {r.sample_id: r.reason for r in check_release(RECIPE, release).results if r.status != "ok"}
    assert broken == {samples[index].sample_id: error for index, error in errors.items()}


def test_fixed_frame_rebuilds_that_sample_alone(release, clean, casme2_release, tmp_path):
    victim = sheet_samples(release)[VICTIM]
    truncate_frame(release, victim)
    out = tmp_path / "store.zarr"
    run_build(release, out)
    before = file_states(out)
    shutil.copy2(frame_path(casme2_release, victim, victim.onset + 1), frame_path(release, victim, victim.onset + 1))
    summary, group = run_build(release, out)
    assert (summary.built, summary.skipped, summary.failed) == (1, summary.total - 1, 0)
    assert_others_clean(group, clean, skip=set())
    after = file_states(out)
    changed = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    # of the images only the victim's chunks are written again; the small per-sample fields
    # (one file each once finished) and the root's consolidated listing are rewritten whole
    images = {path for path in changed if Path(path).parts[0] in IMAGES}
    assert {Path(path).parts[1:3] for path in images} == {("c", str(VICTIM))}
    assert f"trdi/c/{VICTIM}/0/0/0" in images and "status/c/0" in changed


# ---- the sheet's rows ----------------------------------------------------------------------


def test_single_frame_clip_fails_naming_its_row(release, clean, tmp_path):
    samples = sheet_samples(release)
    victim = samples[VICTIM]
    samples[VICTIM] = replace(victim, apex=victim.onset, offset=victim.onset)
    rewrite_sheet(release, samples)
    _, group = run_build(release, tmp_path / "store.zarr")
    assert_failed(
        group, VICTIM, f"sheet row {sheet_row(VICTIM)}: onset == offset {victim.onset}: 1 frame cannot be rank-pooled"
    )
    assert_others_clean(group, clean, skip={VICTIM})


def test_onset_after_offset_fails_naming_its_row(release, clean, tmp_path):
    samples = sheet_samples(release)
    victim = samples[VICTIM]
    samples[VICTIM] = replace(victim, onset=victim.offset, offset=victim.onset)
    rewrite_sheet(release, samples)
    _, group = run_build(release, tmp_path / "store.zarr")
    assert_failed(group, VICTIM, f"sheet row {sheet_row(VICTIM)}: onset {victim.offset} after offset {victim.onset}")
    assert_others_clean(group, clean, skip={VICTIM})


@pytest.mark.parametrize(
    "apex, repair",
    [
        (None, "apex '/' missing"),
        (lambda s: s.offset + 5, "apex {apex} outside onset..offset {onset}..{offset}"),
        (lambda s: s.onset - 1, "apex {apex} outside onset..offset {onset}..{offset}"),
        (lambda s: s.onset, "apex {apex} == onset"),
    ],
    ids=["slash", "after-offset", "before-onset", "at-onset"],
)
def test_unusable_apex_is_estimated_and_recorded(release, clean, tmp_path, apex, repair):
    samples = sheet_samples(release)
    victim = samples[VICTIM]
    written = None if apex is None else apex(victim)
    samples[VICTIM] = replace(victim, apex=written)  # None is written as '/', as the sheets do
    rewrite_sheet(release, samples)
    summary, group = run_build(release, tmp_path / "store.zarr")
    table = read_columns(group)
    estimated = int(table["apex_index"][VICTIM])
    assert victim.onset < estimated <= victim.offset
    assert (table["status"][VICTIM], str(table["error"][VICTIM])) == (OK, "")
    assert str(table["repair"][VICTIM]) == (
        repair.format(apex=written, onset=victim.onset, offset=victim.offset)
        + f": estimated from peak motion intensity; apex estimated at frame {estimated}"
    )
    assert table["n_frames"][VICTIM] == estimated - victim.onset + 1
    assert all(group[name][VICTIM].any() for name in IMAGES)
    assert summary.repaired == 1 and summary.failed == 0
    assert_others_clean(group, clean, skip={VICTIM})


def test_duplicated_row_fails_naming_both_rows(release, clean, tmp_path):
    samples = sheet_samples(release)
    first = samples[1]
    rewrite_sheet(release, [*samples, first])
    summary, group = run_build(release, tmp_path / "store.zarr")
    duplicate = len(samples)
    assert_failed(
        group, duplicate, f"sheet row {sheet_row(duplicate)}: duplicate of row {sheet_row(1)} ({first.sample_id})"
    )
    # failed under its own id, never a second sample with the first one's
    assert str(read_columns(group)["sample_id"][duplicate]) == f"{first.sample_id}@row{sheet_row(duplicate)}"
    assert_others_clean(group, clean, skip={duplicate})  # the first of the two included
    assert summary.total == len(samples) + 1


@pytest.mark.parametrize(
    "escape", ["../../x", "../../../outside/clip", "{outside}"], ids=["dotdot-inside", "dotdot-outside", "absolute"]
)
def test_filename_leaving_the_root_fails_unread(release, clean, tmp_path, escape):
    samples = sheet_samples(release)
    victim = samples[VICTIM]
    # valid frames where the name points, so reading them would have built the sample
    outside = tmp_path / "outside" / "clip"
    for target in (outside, release / "x"):
        shutil.copytree(release / RECIPE.frame_dir(victim), target)
    samples[VICTIM] = replace(victim, clip=escape.format(outside=outside))
    rewrite_sheet(release, samples)
    summary, group = run_build(release, tmp_path / "store.zarr")
    folder = str(RECIPE.clip_dir(samples[VICTIM]))
    frames_root = release / RECIPE.frames_dirs[0]
    assert_failed(group, VICTIM, f"frame folder {folder!r} leaves the frames root {frames_root}")
    assert_others_clean(group, clean, skip={VICTIM})
    assert summary.failures[0][0] == f"{victim.subject}/{escape.format(outside=outside)}"


def test_non_ascii_release_clip_and_store(casme2_release, clean, tmp_path):
    root = tmp_path / "données" / "日本"
    shutil.copytree(casme2_release, root)
    samples = sheet_samples(root)
    victim = samples[VICTIM]
    renamed = replace(victim, clip="EP02_été_微笑", sample_id=f"{victim.subject}/EP02_été_微笑")
    (root / RECIPE.frame_dir(victim)).rename(root / RECIPE.frame_dir(renamed))
    samples[VICTIM] = renamed
    rewrite_sheet(root, samples)
    summary, group = run_build(root, tmp_path / "sortie_出力.zarr")
    assert summary.ok == summary.total
    assert str(group["sample_id"][VICTIM]) == renamed.sample_id
    for name in IMAGES:
        np.testing.assert_array_equal(group[name][VICTIM], clean[victim.sample_id][name])
    assert_others_clean(group, clean, skip={VICTIM})


# ---- the sheet as a file: the whole build refuses --------------------------------------------


def rename_onset_column(sheet: Path) -> str:
    book = openpyxl.load_workbook(sheet)
    book.active["D1"] = "Start"
    book.save(sheet)
    return (
        f"{sheet}: no column 'OnsetFrame' (found: Subject, Filename, Start, ApexFrame, "
        "OffsetFrame, Action Units, Estimated Emotion)"
    )


def delete_onset_column(sheet: Path) -> str:
    book = openpyxl.load_workbook(sheet)
    book.active.delete_cols(4)
    book.save(sheet)
    return (
        f"{sheet}: no column 'OnsetFrame' (found: Subject, Filename, ApexFrame, OffsetFrame, "
        "Action Units, Estimated Emotion)"
    )


def random_bytes(sheet: Path) -> str:
    sheet.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return f"{sheet}: not an .xlsx workbook (no zip signature)"


def png_renamed(sheet: Path) -> str:
    sheet.write_bytes(cv2.imencode(".png", np.zeros((8, 8), np.uint8))[1].tobytes())
    return f"{sheet}: not an .xlsx workbook (no zip signature)"


def zip_of_frames(sheet: Path) -> str:
    with zipfile.ZipFile(sheet, "w") as archive:
        archive.writestr("img1.jpg", b"\xff\xd8\xff\xd9")
    return f"{sheet}: not a readable .xlsx workbook (KeyError)"


def header_only(sheet: Path) -> str:
    RECIPE.write_sheet([], sheet)
    return f"{sheet}: no samples in class set 'raw'"


SHEET_DAMAGES = {
    "renamed-column": rename_onset_column,
    "missing-column": delete_onset_column,
    "random-bytes": random_bytes,
    "png-renamed": png_renamed,
    "zip-not-a-workbook": zip_of_frames,
    "no-rows": header_only,
}


@pytest.mark.parametrize("damage", SHEET_DAMAGES.values(), ids=SHEET_DAMAGES.keys())
def test_unreadable_sheet_refuses_the_build(release, tmp_path, damage):
    message = damage(RECIPE.find_sheet(release))
    out = tmp_path / "store.zarr"
    with pytest.raises(MepipeError) as err:
        build("casme2", release, str(out), size=SIZE, progress=False)
    assert str(err.value) == message
    assert not out.exists() and not Path(f"{out}.lock").exists()


@pytest.mark.parametrize(
    "damage", [rename_onset_column, random_bytes, png_renamed], ids=["renamed-column", "random-bytes", "png-renamed"]
)
def test_cli_sheet_error_is_one_line(release, tmp_path, damage):
    message = damage(RECIPE.find_sheet(release))
    result = mepipe(
        "build", "--dataset", "casme2", "--root", str(release), "--out", str(tmp_path / "store.zarr"), "--quiet"
    )
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"mepipe: error: {message}\n")


# ---- where the store goes --------------------------------------------------------------------


def under_a_file(tmp_path: Path) -> Path:
    (tmp_path / "afile").write_text("precious")
    return tmp_path / "afile" / "store.zarr"


def a_file(tmp_path: Path) -> Path:
    (tmp_path / "afile").write_text("precious")
    return tmp_path / "afile"


def read_only_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "afile").write_text("precious")
    folder.chmod(0o555)
    return folder / "store.zarr"


def a_folder_of_other_files(tmp_path: Path) -> Path:
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "afile").write_text("precious")
    return tmp_path / "thesis"


@pytest.mark.parametrize(
    "place, message",
    [
        pytest.param(under_a_file, "cannot write the store", id="under-a-file"),
        pytest.param(a_file, "is not a mepipe store", id="is-a-file"),
        pytest.param(
            read_only_folder,
            "cannot write the store",
            id="read-only-folder",
            marks=pytest.mark.skipif(
                os.geteuid() == 0,
                reason="root writes into a 0o555 folder anyway; the file cases give real OS errors as root",
            ),
        ),
        pytest.param(a_folder_of_other_files, "is not a mepipe store", id="folder-of-other-files"),
    ],
)
def test_unwritable_out_is_one_line_and_touches_nothing(samm_release, tmp_path, place, message):
    out = place(tmp_path)
    before = file_states(tmp_path)
    result = mepipe(
        "build", "--dataset", "samm", "--root", str(samm_release), "--out", str(out), "--size", "32", "--quiet"
    )
    assert file_states(tmp_path) == before
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("mepipe: error: ")
    assert str(out) in result.stderr and message in result.stderr


# ---- written sheets are reproducible ---------------------------------------------------------


@pytest.mark.parametrize("dataset", ["casme2", "samm"])
def test_sheet_writes_are_byte_identical(request, tmp_path, dataset):
    recipe = get_recipe(dataset)
    release = request.getfixturevalue(f"{dataset}_release")
    sheet = recipe.find_sheet(release)
    samples = recipe.read(sheet)
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    recipe.write_sheet(samples, first)
    recipe.write_sheet(samples, second)
    assert first.read_bytes() == second.read_bytes()
    # the release's sheet, written by synth earlier in the session, read and written back
    assert first.read_bytes() == sheet.read_bytes()
    # no clock in the file: a later run cannot differ
    with zipfile.ZipFile(first) as archive:
        assert {entry.date_time for entry in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    properties = openpyxl.load_workbook(first, read_only=True).properties
    assert properties.created == properties.modified == datetime(1980, 1, 1)
