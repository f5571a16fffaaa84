"""Options several commands share, declared once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

#: every command that shows progress takes it; the command passes ``progress=not quiet``
quiet_option = click.option("--quiet", is_flag=True, help="No progress output.")


class ListingOption(click.Option):
    """An option whose help ends with a registry's listing, read when the help is shown
    (``listing``: a function returning it), so that the command line imports no plug-in
    until it is asked for."""

    def __init__(self, *args: Any, listing: Callable[[], str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.listing, self.base_help = listing, self.help or ""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        self.help = f"{self.base_help} {self.listing()}".strip()
        return super().get_help_record(ctx)


def registered_spotters() -> str:
    """The spotter registry's listing (:func:`mepipe.spot.registry.spotter_listing`), for ``--spotter``."""
    from mepipe.spot.registry import spotter_listing

    return f"Registered: {spotter_listing()}."
