"""Options several commands share, declared once."""

from __future__ import annotations

import click

#: every command that shows progress takes it; the command passes ``progress=not quiet``
quiet_option = click.option("--quiet", is_flag=True, help="No progress output.")
