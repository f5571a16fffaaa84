"""A new user's first hour (issue 34): what tripped a user on a fresh clone, each as a test
that failed before the fix."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from mepipe.cli import cli
from mepipe.release.registry import get_recipe

ANNOTATIONS = Path(__file__).parent / "data" / "annotations"
CASME2 = get_recipe("casme2")
SIZE = "32"
SMALL_SYNTH = ("--subjects", "1", "--clips-per-subject", "1", "--scale", "0.25", "--quiet")


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mepipe", *args], capture_output=True, text=True, env=env)


@pytest.fixture
def release(casme2_release: Path, tmp_path: Path) -> Path:
    """A copy of the session's CASME-II release, free to damage."""
    return Path(shutil.copytree(casme2_release, tmp_path / "release"))


def rewrite(root: Path, change) -> None:
    """Rewrite the release's sheet with ``change`` applied to its sample list."""
    sheet = CASME2.find_sheet(root)
    samples = [replace(s, extra={}) for s in CASME2.read(sheet)]
    CASME2.write_sheet(change(samples), sheet)


def test_blank_emotions_build_but_train_refuses_and_export_and_report_flag(release, tmp_path):
    rewrite(release, lambda samples: [replace(s, emotion="", label="") for s in samples])
    store = str(tmp_path / "nolabel.zarr")
    built = run("build", "--dataset", "casme2", "--root", str(release), "--out", store, "--size", SIZE, "--quiet")
    assert built.returncode == 0, built.stderr
    last = built.stdout.strip().splitlines()[-1]
    assert "no label in class set raw" in last and "mepipe train refuses it" in last, last
    trained = run("train", store, "--out", str(tmp_path / "runs"), "--epochs", "1")
    assert trained.returncode == 1 and trained.stdout == ""
    assert trained.stderr.count("\n") == 1 and "fewer than two classes" in trained.stderr
    assert trained.stderr.startswith(f"mepipe: error: store {store} cannot be trained on:"), trained.stderr
    exported = run("export", store, "--out", str(tmp_path / "png"), "--quiet")
    assert exported.returncode == 0 and "mepipe: warning:" in exported.stderr and "fewer than two" in exported.stderr
    reported = run("report", store, "--out", str(tmp_path / "report"), "--quiet")
    assert reported.returncode == 0 and "fewer than two classes" in reported.stderr
    assert 'id="label-warning"' in (tmp_path / "report" / "index.html").read_text()


def test_one_class_is_refused_too():
    from mepipe.release.labels import label_problem

    assert label_problem(["a", "b", ""], "raw") == ""
    assert "every label in class set 5 is happiness, and 1 have none" in label_problem(["happiness", ""], "5")


def test_bare_mepipe_prints_the_multi_line_help():
    result = run()
    assert result.returncode == 2
    assert result.stderr.startswith("Usage: mepipe [OPTIONS] COMMAND")
    assert result.stderr.count("\n") > 20 and "mepipe: error" not in result.stderr


def test_synth_out_defaults_to_data_dataset(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mepipe", "synth", "--dataset", "casme2", *SMALL_SYNTH],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert CASME2.find_sheet(tmp_path / "data" / "casme2").is_file()


def test_a_plain_rerun_takes_the_stores_recorded_options(casme2_release, tmp_path):
    store = str(tmp_path / "s.zarr")
    base = ["build", "--dataset", "casme2", "--root", str(casme2_release), "--out", store, "--quiet"]
    runner = CliRunner()
    assert runner.invoke(cli, [*base, "--size", SIZE]).exit_code == 0
    added = runner.invoke(cli, [*base, "--size", SIZE, "--arrays", "trdi,midi,onset,apex,flow", "--flow", "dis"])
    assert added.exit_code == 0, added.output
    again = runner.invoke(cli, base)  # no --size, --arrays, --flow: the store's
    assert again.exit_code == 0, again.output
    assert "built now 0" in again.output
    other = runner.invoke(cli, [*base, "--size", "48"])  # an explicitly different value is still refused
    assert other.exit_code == 1 and "size=32" in other.output and "size=48" in other.output


def test_another_datasets_sheet_is_refused_naming_the_columns():
    result = run("samples", "--dataset", "samm", "--sheet", str(ANNOTATIONS / "casme2" / "CASME2-coding-20190701.xlsx"))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "not a SAMM sheet: its columns are Subject, Filename, OnsetFrame" in result.stderr
    assert "(no Inducement Code, Duration, Micro, Notes)" in result.stderr
    own = run("samples", "--dataset", "samm", "--sheet", str(ANNOTATIONS / "samm" / "SAMM_Micro_FACS_Codes_v2.xlsx"))
    assert own.returncode == 0 and own.stdout.count("\n") > 100


def test_a_garbage_row_reusing_a_clip_name_fails_under_its_row(release, tmp_path):
    from mepipe.build import build
    from mepipe.dataset import open_dataset

    rewrite(release, lambda samples: [*samples, replace(samples[1], onset=0, apex=None)])
    sheet = CASME2.find_sheet(release)
    import openpyxl

    book = openpyxl.load_workbook(sheet)
    book.active.cell(book.active.max_row, 4).value = "abc"  # OnsetFrame
    book.save(sheet)
    store = str(tmp_path / "dup.zarr")
    summary = build("casme2", release, store, size=32, progress=False, workers=2)
    ids = list(open_dataset(store, ok_only=False).indexes["sample"])
    assert len(ids) == len(set(ids)) == summary.total
    row = summary.total + 1  # the header is row 1
    first = ids[1]
    assert summary.failures == [(f"{first}@row{row}", f"sheet row {row}: onset 'abc' is not a frame number")]
    assert "     1  onset is not a frame number" in summary.format()


def test_an_interrupted_command_says_a_rerun_resumes():
    code = (
        "import sys, click\n"
        "from mepipe.cli import cli\n"
        "@cli.command()\n"
        "def stop():\n"
        "    raise KeyboardInterrupt\n"
        "cli.main(['stop'])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 130
    assert "mepipe: aborted" in result.stderr and "rerun the same command to resume" in result.stderr


def test_every_release_command_defaults_root_to_mepipe_data(casme2_release, tmp_path):
    import os

    data = tmp_path / "data"
    data.mkdir()
    (data / "casme2").symlink_to(casme2_release)
    env = {**os.environ, "MEPIPE_DATA": str(data)}
    assert run("check", "--dataset", "casme2", "--quick", "--quiet", env=env).returncode == 0
    listed = run("samples", "--dataset", "casme2", "--format", "csv", env=env)
    assert listed.returncode == 0 and listed.stdout.count("\n") == 10  # the header and 9 samples
    env.pop("MEPIPE_DATA")
    for command in ("check", "samples"):
        result = run(command, "--dataset", "casme2", env=env)
        assert result.returncode == 2 and "no --root given and $MEPIPE_DATA is not set" in result.stderr


def test_help_is_consistent_across_commands():
    helps = {name: CliRunner().invoke(cli, [name, "--help"], terminal_width=200).output for name in cli.commands}
    offered = {
        name: text.split("Class set: ")[1].split(")")[0] for name, text in helps.items() if "Class set: " in text
    }
    assert len(set(offered.values())) == 1 and "objective" in offered["train"], offered
    assert "--out PATH" in helps["build"]
    for name in ("inspect", "preview", "splits"):
        assert "--quiet" in helps[name], name


def test_a_missing_store_reads_the_same_in_train(tmp_path):
    missing = str(tmp_path / "nothing.zarr")
    for command in (["train", missing, "--out", str(tmp_path / "r")], ["inspect", missing]):
        result = run(*command)
        assert result.stderr == f"mepipe: error: {missing}: not a mepipe store (no zarr group there)\n", command


def test_build_into_an_fsspec_url_keeps_working(casme2_release):
    result = CliRunner().invoke(
        cli,
        ["build", "--dataset", "casme2", "--root", str(casme2_release), "--out", "memory://x.zarr", "--size", SIZE],
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("built memory://x.zarr: 9 of 9 samples ok")


def test_strict_build_exits_4_when_a_sample_failed(release, tmp_path):
    rewrite(release, lambda samples: [replace(samples[0], offset=samples[0].onset), *samples[1:]])
    base = ["build", "--dataset", "casme2", "--root", str(release), "--size", SIZE, "--quiet"]
    plain = run(*base, "--out", str(tmp_path / "a.zarr"))
    assert plain.returncode == 0
    assert plain.stdout.strip().splitlines()[-1].endswith("8 of 9 samples ok, 1 failed")
    strict = run(*base, "--out", str(tmp_path / "b.zarr"), "--strict")
    assert strict.returncode == 4
    assert strict.stdout.strip().splitlines()[-1].endswith("1 failed (--strict: exit 4)")


def test_the_demos_closing_hint_names_a_mepipe_that_runs():
    from mepipe.demo import installed_command

    hint = installed_command()
    assert hint != "mepipe"  # a bare `mepipe` is not on the PATH after make demo
    result = subprocess.run([*shlex.split(hint), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "mepipe" in result.stdout


def test_the_doccheck_reads_every_shell_line_and_its_skips_are_named():
    from tests.doccheck import PAGES, command_lines, skip_reason

    lines = [command for page in PAGES for _, command in command_lines(page)]
    assert "mepipe synth --dataset samm" in lines
    assert any(line.startswith("mepipe build --dataset casme2") and "landmarks_aligned" in line for line in lines)
    assert skip_reason("mepipe build ... --crop release") and skip_reason("mepipe inspect samm.zarr") is None
