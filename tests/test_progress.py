"""Progress a batch job can read: plain lines in a log, the bar only on a terminal."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from mepipe._shared.progress import Progress, progress_mode


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _no_override(monkeypatch):
    monkeypatch.delenv("MEPIPE_PROGRESS", raising=False)


def test_a_log_gets_a_line_every_tenth_with_counts_rate_and_eta():
    log = io.StringIO()
    with Progress(36, "build casme2", stream=log) as bar:
        for i in range(36):
            bar.update(ok=i % 9 != 0)
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert lines[0] == "build casme2: 36 clips"
    # every 4 clips (ceil of 10 % of 36) up to 32, then the last line
    assert [line.split(":")[1].split()[0] for line in lines[1:-1]] == [f"{n}/36" for n in range(4, 36, 4)]
    assert "(11%), 3 ok, 1 failed" in lines[1] and "clips/s" in lines[1] and "eta " in lines[1]
    assert lines[-1].startswith("build casme2: 36/36 clips in 0:0")
    assert "32 ok, 4 failed" in lines[-1]
    assert len(lines) == 10


def test_a_terminal_gets_the_bar():
    screen = Terminal()
    with Progress(5, "verify", stream=screen) as bar:
        for _ in range(5):
            bar.update()
    assert "\r" in screen.getvalue() and "5/5" in screen.getvalue()


def test_lines_by_time_only_and_values_noted():
    log = io.StringIO()
    bar = Progress(3, "fold 1 (sub01)", unit="step", outcomes=False, step=None, interval=0.0, stream=log)
    for _ in range(3):
        bar.update()
        bar.note(loss="0.500")
    bar.close()
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("fold 1 (sub01): 1/3 steps (33%), ") and "ok" not in lines[0]
    assert lines[-1].startswith("fold 1 (sub01): 3/3 steps in ") and lines[-1].endswith("loss 0.500")
    assert len(lines) == 3  # after steps 1 and 2, then the end (not a line for step 3 and another for the end)


def test_no_lines_between_start_and_end_without_step_or_interval():
    log = io.StringIO()
    with Progress(1000, "fold 2 (sub02)", unit="step", outcomes=False, step=None, stream=log) as bar:
        for _ in range(1000):
            bar.update()
    assert log.getvalue().splitlines()[0].startswith("fold 2 (sub02): 1000/1000 steps in ")
    assert len(log.getvalue().splitlines()) == 1


def test_mode_follows_the_stream_and_the_override(monkeypatch):
    assert progress_mode(io.StringIO()) == "lines"
    assert progress_mode(Terminal()) == "bar"
    assert progress_mode(Terminal(), enabled=False) == "off"
    monkeypatch.setenv("MEPIPE_PROGRESS", "lines")
    assert progress_mode(Terminal()) == "lines"
    monkeypatch.setenv("MEPIPE_PROGRESS", "off")
    log = io.StringIO()
    with Progress(3, "synth", stream=log) as bar:
        bar.update()
    assert log.getvalue() == "" and bar.ok == 1


def test_a_build_logged_to_a_file_writes_a_few_lines(tmp_path):
    """A 36-clip `mepipe build` with stderr sent to a file, as a SLURM job's log."""
    env = {k: v for k, v in os.environ.items() if k != "MEPIPE_PROGRESS"}
    release, log = tmp_path / "casme2", tmp_path / "build.log"
    with open(log, "w") as out:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mepipe",
                "synth",
                "--dataset",
                "casme2",
                "--out",
                str(release),
                "--subjects",
                "6",
                "--clips-per-subject",
                "6",
                "--scale",
                "0.25",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            env=env,
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mepipe",
                "build",
                "--dataset",
                "casme2",
                "--root",
                str(release),
                "--out",
                str(tmp_path / "s.zarr"),
                "--size",
                "32",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            env=env,
        )
    text = log.read_text()
    assert text.count("\r") == 0
    build_lines = [line for line in text.splitlines() if line.startswith("build casme2:")]
    assert build_lines[0] == "build casme2: 36 clips"
    assert build_lines[-1].startswith("build casme2: 36/36 clips in ")
    assert len(text.splitlines()) < 60
