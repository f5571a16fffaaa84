"""Spotting builds of a registered long-video recipe (``mepipe build --dataset casme_sq``)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from .store import SpotSettings, SpotSummary, build_spotting


def spotting_recipe(name: str) -> Any | None:
    """The recipe registered as ``name`` when it serves spotting (``task == "spotting"``), else None."""
    from mepipe.pipelines import recipe_names

    if name not in recipe_names():
        return None
    recipe = importlib.import_module(f"mepipe.pipelines.{name}").RECIPE
    return recipe if getattr(recipe, "task", "recognition") == "spotting" else None


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
