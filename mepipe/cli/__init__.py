"""The ``mepipe`` command: a thin click layer over the Python API.

Each sub-module holds one family of commands; this module assembles the group and owns
the one rule every command shares: errors reach the user as one line, never a traceback
(set ``MEPIPE_DEBUG=1`` to see it).
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from mepipe import __version__
from mepipe._shared.text import one_line
from mepipe.errors import MepipeError


class MepipeGroup(click.Group):
    """A click group whose failures print ``mepipe: error: ...`` on one line."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> NoReturn:
        try:
            rv = super().main(
                args=args,
                prog_name=prog_name or "mepipe",
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()  # a bare `mepipe`: click's multi-line help, as for any bare group
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"mepipe: error: {one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo(
                "mepipe: aborted; what finished is kept: rerun the same command to resume (mepipe build resumes "
                "where it stopped)",
                err=True,
            )
            sys.exit(130)
        except MepipeError as exc:
            click.echo(f"mepipe: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except Exception as exc:  # a bug: still one line unless asked for the traceback
            if os.environ.get("MEPIPE_DEBUG"):
                raise
            click.echo(
                f"mepipe: internal error: {type(exc).__name__}: {one_line(exc)} (set MEPIPE_DEBUG=1 for the traceback)",
                err=True,
            )
            sys.exit(3)
        sys.exit(rv if isinstance(rv, int) else 0)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click cuts a summary longer than the line with "...": each command's whole first
        # sentence instead, wrapped
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=sys.maxsize)))
        if rows:
            with formatter.section("Commands"):
                _write_rows(formatter, rows)


def _write_rows(formatter: click.HelpFormatter, rows: list[tuple[str, str]], spacing: int = 2) -> None:
    """Names and summaries in two columns as click's ``write_dl`` sets them, but wrapped only
    at spaces: click's wrapper also breaks at hyphens (``leave-one-dataset- out``,
    ``--pro- tocol``), which garbles the option names and terms a summary quotes."""
    first = max(len(name) for name, _ in rows) + spacing
    indent = " " * formatter.current_indent
    wrapper = textwrap.TextWrapper(max(formatter.width - len(indent) - first, 10), break_on_hyphens=False)
    for name, summary in rows:
        lines = wrapper.wrap(summary) or [""]
        formatter.write(f"{indent}{name:<{first}}{lines[0]}\n")
        formatter.write("".join(f"{indent}{'':<{first}}{line}\n" for line in lines[1:]))


@click.group(cls=MepipeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mepipe")
def cli() -> None:
    """Micro-expression clips to TRDI/MIDI dynamic images in chunked zarr stores.

    \b
    Typical session:
      mepipe synth --dataset samm --out data/samm      # or use a real release
      mepipe check --dataset samm --root data/samm
      mepipe build --dataset samm --root data/samm --out samm.zarr
      mepipe preview samm.zarr --out previews/
      mepipe export samm.zarr --out samm-png/          # ImageFolder PNGs + samples.csv
      mepipe train samm.zarr --out runs/samm

    Every command has --help; the Python API behind them: help(mepipe).
    """


def _register() -> None:
    from mepipe.cli import build, export, features, release, spot, spot_recognise, store, synth, train, vqa

    for module in (release, synth, build, store, export, train, features, spot, spot_recognise, vqa):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    cli.main(args=argv)
