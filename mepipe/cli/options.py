"""Options several commands share, declared once."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mepipe.errors import UsageError

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


def class_sets_help() -> str:
    """The class sets the registered recipes offer, for the help of every ``--classes``:
    one source, so that no command offers fewer than another."""
    from mepipe.errors import UsageError
    from mepipe.release.registry import get_recipe, recipe_names

    names: dict[str, None] = {}
    for name in recipe_names():
        try:
            recipe = get_recipe(name, object)
        except UsageError:  # a broken plug-in: the command that reads it says so in one line
            continue
        names.update(dict.fromkeys(getattr(recipe, "class_sets", ())))
    return f"Class set: raw, or one of the dataset's ({', '.join(names)})"


#: ``--root`` of every command that reads a release (build, check, samples)
root_option = click.option(
    "--root",
    type=click.Path(path_type=Path),
    help="Release folder, or a folder above it [default: $MEPIPE_DATA/<dataset>].",
)


def release_root(dataset: str, root: Path | None) -> Path:
    """``--root`` as given, or its default ``$MEPIPE_DATA/<dataset>``: one rule for every
    command that reads a release.

    Raises
    ------
    UsageError
        No ``--root`` given and ``$MEPIPE_DATA`` not set.
    """
    if root is not None:
        return root
    base = os.environ.get("MEPIPE_DATA")
    if not base:
        raise UsageError(
            f"no --root given and $MEPIPE_DATA is not set; point --root at a {dataset} release, "
            f"or make a synthetic one: mepipe synth --dataset {dataset} --out data/{dataset}"
        )
    return Path(base) / dataset
