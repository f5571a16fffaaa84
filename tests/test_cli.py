"""The command-line layer: help everywhere, one-line errors."""

import subprocess
import sys

from click.testing import CliRunner

from mepipe.cli import cli


def test_help_lists_commands():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "Micro-expression clips" in result.output


def test_unknown_command_is_one_line_usage_error():
    result = subprocess.run([sys.executable, "-m", "mepipe", "frobnicate"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("mepipe: error:")
    assert "Traceback" not in result.stderr
