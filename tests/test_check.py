"""`mepipe samples` and `mepipe check` on tiny releases written here with OpenCV."""

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from mepipe.cli import cli
from mepipe.pipelines import get_recipe
from mepipe.release.check import check_release
from mepipe.release.longcheck import INTERVAL_COLUMNS, check_long_release
from mepipe.release.longvideo import LongVideoRecipe
from mepipe.release.recipe import Sample
from mepipe.synth.longvideo import synthesize_long

casme2 = get_recipe("casme2")
DATA = Path(__file__).parent / "data/annotations"
RNG = np.random.default_rng(1)


def _sample(clip, onset, apex, offset, emotion="happiness", units=""):
    return Sample(f"sub01/{clip}", "sub01", clip, onset, apex, offset, emotion, emotion, action_units=units)


@pytest.fixture
def release(tmp_path):
    """EP01 fine, EP02 apex '/' and offset past the disk (repaired), EP03 a frame missing."""
    samples = [
        _sample("EP01", 3, 5, 8, units="R12+6"),
        _sample("EP02", 2, None, 6, "disgust"),
        _sample("EP03", 10, 12, 20, "sadness", "?"),
    ]
    casme2.write_sheet(samples, tmp_path / casme2.sheet_file)
    for clip, numbers in {"EP01": range(1, 10), "EP02": range(2, 5), "EP03": range(10, 21)}.items():
        folder = tmp_path / "CASME2_RAW_selected" / "sub01" / clip
        folder.mkdir(parents=True)
        for n in numbers:
            cv2.imwrite(str(folder / f"img{n}.jpg"), RNG.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    (tmp_path / "CASME2_RAW_selected/sub01/EP03/img15.jpg").unlink()
    return tmp_path


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_check_reports_ok_repaired_broken(release):
    result = _run("check", "--dataset", "casme2", "--root", release)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"CASME-II release {release} (sheet CASME2-coding-20190701.xlsx, classes raw): 3 samples",
        f"frames {release}/CASME2_RAW_selected (3 of 3 clip folders)",
        "crop   a build uses --crop aligned (CASME2_RAW_selected: not a registered-crop folder of CASME-II "
        "(Cropped, Cropped_original, Cropped-updated); the face is found and aligned)",
        "  ok            1",
        "  repaired      1",
        "  broken        1",
        "repaired:",
        "  sub01/EP02: apex '/' missing: estimated from peak motion intensity; "
        "offset 6 beyond the last frame on disk: clamped to 4",
        "broken:",
        f"  sub01/EP03: frame 15 missing ({release}/CASME2_RAW_selected/sub01/EP03/img15.jpg)",
    ]
    report = check_release(casme2, release)
    assert [(r.sample_id, r.status, r.frames) for r in report.results] == [
        ("sub01/EP01", "ok", 6),
        ("sub01/EP02", "repaired", 3),
        ("sub01/EP03", "broken", 0),
    ]


def test_check_exit_0_when_usable_and_class_filter(release):
    # EP03 is sadness: outside the 5-class set, so the release is usable under it
    result = _run("check", "--dataset", "casme2", "--root", release, "--classes", "5")
    assert result.exit_code == 0, result.output
    assert "classes 5): 2 samples" in result.stdout


def test_check_decodes_frames_unless_quick(release):
    (release / "CASME2_RAW_selected/sub01/EP01/img4.jpg").write_bytes(b"")
    report = check_release(casme2, release, classes="5")
    assert (report.results[0].status, report.results[0].reason) == (
        "broken",
        f"{release}/CASME2_RAW_selected/sub01/EP01/img4.jpg: empty file (0 bytes)",
    )
    quick = _run("check", "--dataset", "casme2", "--root", release, "--classes", "5", "--quick")
    assert quick.exit_code == 0


def test_samples_csv(release):
    result = _run("samples", "--dataset", "casme2", "--root", release, "--format", "csv")
    assert result.exit_code == 0
    assert list(csv.reader(io.StringIO(result.stdout))) == [
        [*"sample_id subject clip onset apex offset emotion label repair action_units au objective_class".split()],
        ["sub01/EP01", "sub01", "EP01", "3", "5", "8", "happiness", "happiness", "", "R12+6", "6+12", ""],
        [
            "sub01/EP02",
            "sub01",
            "EP02",
            "2",
            "",
            "6",
            "disgust",
            "disgust",
            "apex '/' missing: estimated from peak motion intensity",
            "",
            "",
            "",
        ],
        ["sub01/EP03", "sub01", "EP03", "10", "12", "20", "sadness", "sadness", "", "?", "", ""],
    ]


def test_samples_json_and_table_from_real_sheet():
    sheet = DATA / "samm/SAMM_Micro_FACS_Codes_v2.xlsx"
    result = _run("samples", "--dataset", "samm", "--sheet", sheet, "--classes", "megc2019", "--format", "json")
    records = json.loads(result.stdout)
    assert len(records) == 133
    assert records[0] == {
        "sample_id": "006/006_1_2",
        "subject": "006",
        "clip": "006_1_2",
        "onset": 5562,
        "apex": 5588,
        "offset": 5632,
        "emotion": "anger",
        "label": "negative",
        "repair": "",
        "action_units": "4+7",
        "au": "4+7",
        "objective_class": "3",
    }
    table = _run("samples", "--dataset", "samm", "--sheet", sheet).stdout.splitlines()
    assert len(table) == 160
    assert (
        table[0].split()
        == "sample_id subject clip onset apex offset emotion label repair action_units au objective_class".split()
    )


def test_samples_report_row_errors_and_au_warnings_on_stderr(tmp_path):
    lines = (DATA / "samm/SAMM_Micro_FACS_Codes_v2.csv").read_text().splitlines()
    lines[14] = lines[14].replace(",5562,", ",x5562,", 1)  # the first data row's onset
    sheet = tmp_path / "samm.csv"
    sheet.write_text("\n".join(lines) + "\n")
    result = _run("samples", "--dataset", "samm", "--sheet", sheet, "--format", "csv")
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 160
    blank = "no AU coded for certain, au left blank"
    assert result.stderr.splitlines() == [
        "mepipe: 006/006_1_2: sheet row 15: onset 'x5562' is not a frame number",
        f"mepipe: warning: 011/011_4_2: sheet row 56: action units 'L12 or L14': {blank}",
        f"mepipe: warning: 014/014_5_2: sheet row 79: action units 'R12 or R14': {blank}",
        "mepipe: warning: 026/026_5_1: sheet row 135: action units 'R14+17+soft focus': "
        "'soft focus' is not an AU code, ignored",
        f"mepipe: warning: 035/035_7_2: sheet row 169: action units 'R14A or 17A or 24A': {blank}",
    ]


def test_samples_warn_of_an_au_string_that_codes_no_au_for_certain():
    """CASME-II 2014 writes '?' (not coded) in five rows: each is listed with au blank and
    named in one warning line, so the blank is never silent."""
    result = _run("samples", "--dataset", "casme2", "--sheet", DATA / "casme2/CASME2-coding-20140508.xlsx")
    assert result.exit_code == 0
    warned = [line for line in result.stderr.splitlines() if "'?'" in line]
    assert (
        warned[0]
        == "mepipe: warning: sub05/EP05_03: sheet row 42: action units '?': no AU coded for certain, au left blank"
    )
    assert len(warned) == 5 and len(result.stderr.splitlines()) == 5


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["check", "--dataset", "samm", "--root", "{tmp}/none"],
            "no SAMM release at {tmp}/none: not a folder; make one with `mepipe synth --dataset samm --out {tmp}/none`",
        ),
        (
            ["check", "--dataset", "samm", "--root", "{tmp}"],
            "no SAMM release at {tmp}: expected SAMM_Micro_FACS_Codes_v2.xlsx or SAMM*_Micro_FACS_Codes*.xlsx or "
            "SAMM*_Micro_FACS_Codes*.csv in it or up to 4 folders below; make one with `mepipe synth --dataset samm --out {tmp}`",
        ),
        (["samples", "--dataset", "samm", "--sheet", "{tmp}/x.xlsx"], "no SAMM sheet at {tmp}/x.xlsx: not a file"),
        (
            ["samples", "--dataset", "samm"],
            "no --root given and $MEPIPE_DATA is not set; point --root at a samm release, "
            "or make a synthetic one: mepipe synth --dataset samm --out data/samm",
        ),
        (
            ["samples", "--dataset", "samm", "--root", "{tmp}", "--classes", "7"],
            "unknown class set '7' for SAMM; valid: raw, 5, 3, megc2019, objective",
        ),
    ],
)
def test_usage_errors_are_one_line_exit_2(tmp_path, args, message, monkeypatch):
    monkeypatch.delenv("MEPIPE_DATA", raising=False)
    result = _run(*[a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 2
    assert result.stderr == f"mepipe: error: {message.format(tmp=tmp_path)}\n"


def test_bad_sheet_via_subprocess(tmp_path):
    (tmp_path / "SAMM_Micro_FACS_Codes_v2.xlsx").write_bytes(b"not a workbook")
    result = subprocess.run(
        [sys.executable, "-m", "mepipe", "check", "--dataset", "samm", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"mepipe: error: {tmp_path}/SAMM_Micro_FACS_Codes_v2.xlsx: not an .xlsx workbook (no zip signature)\n"
    )


@pytest.fixture
def long_release(tmp_path):
    """A synthetic CAS(ME)^2 release: two subjects of one 120-frame video each."""
    recipe = get_recipe("casme_sq", LongVideoRecipe)
    synthesize_long(recipe, tmp_path, subjects=2, videos=1, frames=120, scale=0.25, seed=0, progress=False)
    return tmp_path


def test_samples_of_a_long_video_release_list_its_intervals(long_release):
    intervals = get_recipe("casme_sq", LongVideoRecipe).intervals(long_release)
    result = _run("samples", "--dataset", "casme_sq", "--root", long_release, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == [*INTERVAL_COLUMNS]
    assert [(r["name"], r["video"], r["type"], int(r["onset"]), int(r["offset"])) for r in rows] == [
        (i.name, i.video, i.type, i.onset, i.offset) for i in intervals
    ]
    assert {r["video"] for r in rows} == {"s15_0101", "s16_0101"} and not any(r["error"] for r in rows)
    table = _run("samples", "--dataset", "casme_sq", "--root", long_release).stdout.splitlines()
    assert table[0].split() == [*INTERVAL_COLUMNS] and len(table) == 1 + len(intervals)
    records = json.loads(_run("samples", "--dataset", "casme_sq", "--root", long_release, "--format", "json").stdout)
    assert [r["name"] for r in records] == [i.name for i in intervals]


def test_check_of_a_long_video_release(long_release):
    result = _run("check", "--dataset", "casme_sq", "--root", long_release, "--quiet")
    assert result.exit_code == 0, result.output
    count = len(get_recipe("casme_sq", LongVideoRecipe).intervals(long_release))
    assert result.stdout.splitlines() == [
        f"CAS(ME)^2 release {long_release} (sheet CAS(ME)^2code_final.xlsx): 2 videos, {count} intervals",
        f"frames {long_release}/rawpic (2 videos, 240 frames, 0 missing)",
        "            videos  intervals",
        f"  ok             2{count:>11}",
        "  repaired       0          0",
        "  broken         0          0",
    ]


def test_check_of_a_broken_long_video_release(long_release):
    frames = long_release / "rawpic"
    for n in (50, 51, 52):
        (frames / f"s15/15_0101disgustingteeth/img{n:03d}.jpg").unlink()
    (frames / "s15/15_0101disgustingteeth/img120.jpg").write_bytes(b"")
    shutil.rmtree(frames / "s16")
    result = _run("check", "--dataset", "casme_sq", "--root", long_release, "--quiet")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[1] == f"frames {frames} (1 video, 117 frames, 3 missing)"
    assert lines[lines.index("broken:") + 1 :][:2] == [
        f"  video s15_0101: {frames}/s15/15_0101disgustingteeth/img120.jpg: empty file (0 bytes); "
        "3 frames missing (50, 51, 52)",
        "  video s16_0101: listed in ME2.txt, not on disk",
    ]
    lost = [line for line in lines if "(s16_0101): sheet row" in line]
    assert lost and all(line.endswith("video s16_0101 is not in the release") for line in lost)
    # --quick lists the frames without decoding them: the gap is then a repair
    quick = _run("check", "--dataset", "casme_sq", "--root", long_release, "--quiet", "--quick")
    assert "  video s15_0101: 3 frames missing (50, 51, 52)" in quick.stdout.splitlines()
    report = check_long_release(get_recipe("casme_sq", LongVideoRecipe), long_release, decode=False)
    assert (report.video_counts, report.usable) == ({"ok": 0, "repaired": 1, "broken": 1}, False)


@pytest.mark.parametrize(
    "args, message",
    [
        (["check", "--classes", "raw"], "--classes applies to clip datasets; casme_sq holds long videos"),
        (
            ["samples", "--classes", "5", "--objective-sheet", "x.xlsx"],
            "--classes and --objective-sheet apply to clip datasets; casme_sq holds long videos",
        ),
        (["samples", "--sheet", "{tmp}/x.xlsx"], "no CAS(ME)^2 sheet at {tmp}/x.xlsx: not a file"),
        (
            ["check", "--root", "{tmp}/none"],
            "no CAS(ME)^2 release at {tmp}/none: not a folder; make one with `mepipe synth --dataset casme_sq "
            "--out {tmp}/none`",
        ),
    ],
)
def test_long_video_usage_errors_are_one_line_exit_2(tmp_path, args, message):
    command, *rest = args
    result = _run(command, "--dataset", "casme_sq", "--root", tmp_path, *[a.format(tmp=tmp_path) for a in rest])
    assert result.exit_code == 2
    assert result.stderr == f"mepipe: error: {message.format(tmp=tmp_path)}\n"
