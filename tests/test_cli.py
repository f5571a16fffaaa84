"""The command-line layer: help everywhere, readable as printed, one-line errors."""

import inspect
import re
import subprocess
import sys

import click
from click.testing import CliRunner

from mepipe.cli import cli

#: what must not show in --help: a summary click cut short, %-escapes printed as they are,
#: and reST markup that only Sphinx renders
UNREADABLE = ("...", "%%", "``", ":func:", ":class:", ":mod:", ":meth:", ":attr:", ":data:")


def help_problems(group: click.Group) -> list[str]:
    """What is wrong with the help of ``group`` and each of its commands, one line each."""
    problems = []
    runner = CliRunner()
    for path in [[], *([name] for name in group.commands)]:
        result = runner.invoke(group, [*path, "--help"], prog_name="mepipe", terminal_width=80)
        where = " ".join(["mepipe", *path, "--help"])
        if result.exit_code != 0:
            problems.append(f"{where}: exit {result.exit_code}")
        problems += [
            f"{where}: {text!r} in {line.strip()!r}"
            for line in result.output.splitlines()
            if not line.startswith("Usage:")  # click's notation: COMMAND [ARGS]...
            for text in UNREADABLE
            if text in line
        ]
        command = group if not path else group.commands[path[0]]
        problems += [
            f"{where}: {param.opts[0]} has no help"
            for param in command.params
            if isinstance(param, click.Option) and not (param.help or "").strip()
        ]
    return problems


def test_every_help_is_readable_and_every_option_explained():
    assert help_problems(cli) == []


def test_the_help_check_sees_what_it_looks_for():
    @click.group()
    def group() -> None:
        """A group."""

    @group.command()
    @click.option("--size", type=int)
    @click.option("--face-window", help="the box + 2 %% per side, see :func:`x`")
    def long(size: int, face_window: str) -> None:
        """A first sentence that goes on and on for far longer than the width of one line of the listing."""

    problems = help_problems(group)
    assert any("'...'" in p and "A first sentence" in p for p in problems), problems
    assert any("'%%'" in p for p in problems) and any("':func:'" in p for p in problems), problems
    assert "mepipe long --help: --size has no help" in problems


def test_help_lists_every_command_with_its_whole_summary():
    result = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    assert result.exit_code == 0
    assert "Micro-expression clips" in result.output
    listed = re.findall(r"^  ([a-z-]+)  ", result.output.split("Commands:")[1], re.M)
    assert listed == sorted(cli.commands)
    for name, command in cli.commands.items():
        first = command.help.split("\n\n")[0].split(". ")[0]
        summary = " ".join(result.output.split(f"  {name}  ", 1)[1].split())
        assert summary.startswith(" ".join(first.split())), name


def test_every_command_that_shows_progress_takes_quiet():
    # a command shows progress when it passes progress= to the library
    showing = {
        name
        for name, command in cli.commands.items()
        if "progress=" in inspect.getsource(inspect.unwrap(command.callback))
    }
    assert {"build", "check", "synth", "report", "verify", "export", "train"} <= showing
    options = {name: {opt for param in cli.commands[name].params for opt in param.opts} for name in showing}
    assert [name for name in sorted(showing) if "--quiet" not in options[name]] == []


def test_unknown_command_is_one_line_usage_error():
    result = subprocess.run([sys.executable, "-m", "mepipe", "frobnicate"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("mepipe: error:")
    assert "Traceback" not in result.stderr
