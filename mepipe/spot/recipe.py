"""Spotting builds of a registered long-video recipe (``mepipe build --dataset casme_sq``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mepipe.release.registry import get_recipe, recipe_names, recipe_task

from .store import SpotSettings, SpotSummary, build_spotting


def spotting_recipe(name: str) -> Any | None:
    """The recipe registered as ``name`` when it serves spotting (``task == "spotting"``), else None."""
    if name not in recipe_names() or recipe_task(name) != "spotting":
        return None
    return get_recipe(name, object)


def build_recipe(
    recipe: Any,
    root: Path,
    out: str | Path,
    settings: SpotSettings | None = None,
    **options: Any,
) -> SpotSummary:
    """Build the spotting store of a long-video release found at ``root`` by ``recipe``.

    ``recipe`` is a :class:`mepipe.release.longvideo.LongVideoRecipe` (its ``videos(root)``
    and ``intervals(root)``); ``options`` go to :func:`mepipe.spot.store.build_spotting`.
    """
    return build_spotting(recipe.videos(Path(root)), recipe.intervals(Path(root)), out, settings, **options)
