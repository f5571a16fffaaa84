"""Releases as labs keep them: sheet and frames found under any folder names and depths."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

import pytest
import zarr
from click.testing import CliRunner

from mepipe.build import build
from mepipe.cli import cli
from mepipe.errors import UsageError
from mepipe.pipelines import get_recipe
from mepipe.release.discover import open_release
from mepipe.release.scan import Scan

casme2, samm = get_recipe("casme2"), get_recipe("samm")


def _relayout(release: Path, target: Path, frames: str, sheet_at: str = "") -> Path:
    """Copy a synthetic CASME-II release with its frames folder renamed to ``frames`` and its
    sheet moved into ``sheet_at`` (both relative to ``target``)."""
    (target / frames).parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(release / "CASME2_RAW_selected", target / frames)
    sheet = next(release.glob("CASME2-coding-*.xlsx"))
    (target / sheet_at).mkdir(parents=True, exist_ok=True)
    shutil.copy(sheet, target / sheet_at / sheet.name)
    return target


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize(
    "frames, sheet_at",
    [
        ("CASME2/Cropped_original", "CASME2"),  # meb's layout, --root above the release
        ("data/me/CASME2_RAW_selected", "data/me/annotations"),  # sheet and frames 3 levels down
        ("some_lab_name", ""),  # a folder name no recipe knows
    ],
)
def test_frames_and_sheet_found_under_any_name(casme2_release, tmp_path, frames, sheet_at):
    root = _relayout(casme2_release, tmp_path / "disk", frames, sheet_at)
    release = open_release(casme2, root)
    assert release.frames[""].path == root / frames
    assert release.sheet.parent == root / sheet_at
    assert (release.frames[""].found, release.frames[""].total) == (len(release.samples),) * 2
    assert release.provenance() == {"": frames}


def test_root_pointing_at_the_subject_folders(casme2_release, tmp_path):
    sheet = next(casme2_release.glob("CASME2-coding-*.xlsx"))
    subjects = casme2_release / "CASME2_RAW_selected"
    release = open_release(casme2, subjects, sheet=sheet)
    assert release.frames[""].path == subjects
    store = tmp_path / "s.zarr"
    summary = build("casme2", subjects, str(store), sheet=sheet, size=32, progress=False, workers=1)
    assert summary.ok == summary.total
    assert zarr.open_group(str(store)).attrs["mepipe"]["frames"] == {"": "."}


def test_raw_and_cropped_both_complete_primary_wins_frames_overrides(casme2_release, tmp_path):
    root = _relayout(casme2_release, tmp_path / "both", "Cropped")
    shutil.copytree(casme2_release / "CASME2_RAW_selected", root / "CASME2_RAW_selected")
    release = open_release(casme2, root)
    assert release.frames[""].path == root / "CASME2_RAW_selected"
    assert release.frames[""].others == ((root / "Cropped", len(release.samples)),)
    chosen = open_release(casme2, root, frames=root / "Cropped")
    assert (chosen.frames[""].path, chosen.frames[""].chosen_by) == (root / "Cropped", "--frames")
    summary = build(
        "casme2", root, str(tmp_path / "c.zarr"), frames=root / "Cropped", size=32, progress=False, workers=1
    )
    assert f"frames    {root / 'Cropped'} (" in summary.format()
    assert zarr.open_group(str(tmp_path / "c.zarr")).attrs["mepipe"]["frames"] == {"": "Cropped"}
    # resuming the same store from the other folder would mix two variants in one store
    with pytest.raises(
        Exception, match=r"its frames folder is \{'': 'Cropped'\}, this build's \{'': 'CASME2_RAW_selected'\}"
    ):
        build("casme2", root, str(tmp_path / "c.zarr"), size=32, progress=False, workers=1)


def test_the_folder_holding_more_clips_wins(casme2_release, tmp_path):
    root = _relayout(casme2_release, tmp_path / "partial", "Cropped")
    shutil.copytree(casme2_release / "CASME2_RAW_selected", root / "CASME2_RAW_selected")
    shutil.rmtree(root / "CASME2_RAW_selected" / "sub01")
    release = open_release(casme2, root)
    assert release.frames[""].path == root / "Cropped"
    assert release.frames[""].others[0][0] == root / "CASME2_RAW_selected"


def test_samm_meb_layout(samm_release, tmp_path):
    root = tmp_path / "data"
    (root / "SAMM").mkdir(parents=True)
    shutil.copytree(samm_release / "SAMM", root / "SAMM" / "SAMM_CROP")
    shutil.copy(samm_release / samm.sheet_file, root / "SAMM" / samm.sheet_file)
    release = open_release(samm, root)
    assert release.frames[""].path == root / "SAMM" / "SAMM_CROP"


def test_no_clip_folder_anywhere_is_one_line_exit_2_and_no_store(casme2_release, tmp_path):
    root = tmp_path / "wrong"
    shutil.copytree(casme2_release, root)
    for subject in (root / "CASME2_RAW_selected").iterdir():
        subject.rename(subject.with_name(subject.name.replace("sub", "subject_")))
    (root / "notes.txt").write_text("x")
    out = tmp_path / "never.zarr"
    result = _run("build", "--dataset", "casme2", "--root", root, "--out", out, "--quiet")
    assert result.exit_code == 2
    first = open_release(casme2, root, locate=False).samples[0]
    assert result.stderr == (
        f"mepipe: error: no CASME-II frames under {root}: no folder up to 4 levels down (known names first: "
        "CASME2_RAW_selected, CASME2-RAW, CASME2_RAW, Cropped, Cropped_original, Cropped-updated) holds the "
        f"sheet's clip folders, e.g. {first.subject}/{first.clip}; found at the top of {root}: "
        "CASME2-ObjectiveClasses.xlsx, CASME2-coding-20190701.xlsx, CASME2_RAW_selected/, notes.txt, synth_motion.csv; "
        "point --frames at the folder holding them\n"
    )
    assert not out.exists()
    checked = _run("check", "--dataset", "casme2", "--root", root, "--frames", root / "CASME2_RAW_selected")
    assert checked.exit_code == 2
    assert checked.stderr.startswith(
        f"mepipe: error: no CASME-II clip folders in --frames {root / 'CASME2_RAW_selected'}: "
        f"looked for {first.subject}/{first.clip} and the other clips of the sheet; "
        "it holds: subject_"
    )


def test_check_prints_the_frames_root(casme2_release, tmp_path):
    root = _relayout(casme2_release, tmp_path / "meb", "CASME2/Cropped_original", "CASME2")
    result = _run("check", "--dataset", "casme2", "--root", root, "--quick")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == f"frames {root / 'CASME2/Cropped_original'} (9 of 9 clip folders)"


def test_scan_walks_each_folder_once_and_stops_at_max_depth(tmp_path):
    deep = tmp_path / "a" / "b" / "c" / "d" / "e" / "f"
    deep.mkdir(parents=True)
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a")
    (tmp_path / "a" / "b" / "sheet.csv").write_text("x")
    (tmp_path / "a" / "b" / "c" / "d" / "deeper.csv").write_text("x")
    (tmp_path / ".hidden").mkdir()
    found = Scan(tmp_path)
    visited = [(folder, depth) for folder, depth, _ in found.walk()]
    assert [d for _, d in visited] == [0, 1, 2, 3, 4]  # the link back to "a" is not walked again
    assert visited[-1][0] == tmp_path / "a" / "b" / "c" / "d"
    assert found.find_files(["*.csv"]) == [tmp_path / "a" / "b" / "sheet.csv"]  # the shallowest
    assert found.shown(tmp_path) == "a/"
    # the last level is answered from its parent's listing
    assert found.has_dir(tmp_path, PurePosixPath("a/b/c/d/e/f"))
    assert found.has_dir(tmp_path, PurePosixPath("A/B/c"))
    assert not found.has_dir(tmp_path, PurePosixPath("a/b/x/d/e/f"))


def test_clip_folders_are_never_listed(casme2_release):
    shared = Scan(casme2_release)
    release = open_release(casme2, casme2_release, scanned=shared)
    clip_folders = {release.frames[""].path / casme2.clip_dir(s) for s in release.samples}
    assert release.frames[""].path / "sub01" in shared.listed
    assert not shared.listed & clip_folders


def test_sample_listing_needs_no_frames(tmp_path):
    shutil.copy(Path(__file__).parent / "data/annotations/casme2/CASME2-coding-20140508.xlsx", tmp_path)
    assert len(open_release(casme2, tmp_path, classes="5", locate=False).samples) == 246
    with pytest.raises(UsageError, match="no CASME-II frames under"):
        open_release(casme2, tmp_path, classes="5")


def test_subject_folders_named_as_the_sheet_writes_them(casme2_release, tmp_path):
    root = _relayout(casme2_release, tmp_path / "numbers", "Cropped")
    for folder in sorted((root / "Cropped").iterdir()):
        folder.rename(folder.with_name(folder.name.removeprefix("sub")))  # 01, as in the sheet
    summary = build("casme2", root, str(tmp_path / "n.zarr"), size=32, progress=False, workers=1)
    assert summary.ok == summary.total


def test_clip_folders_in_another_case_are_found(casme2_release, tmp_path):
    root = tmp_path / "upper"
    shutil.copytree(casme2_release, root)
    subjects = root / "CASME2_RAW_selected"
    for folder in sorted(subjects.iterdir()):
        folder.rename(folder.with_name(folder.name.capitalize()))  # Sub01, as a case-insensitive copy wrote it
    release = open_release(casme2, root)
    assert release.frames[""].found == len(release.samples)
    summary = build("casme2", root, str(tmp_path / "u.zarr"), size=32, progress=False, workers=1)
    assert summary.ok == summary.total
