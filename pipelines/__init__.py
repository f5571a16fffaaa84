"""Dataset recipes, one module per release, installed as ``mepipe.pipelines``, and their registry.

Each module defines ``RECIPE``: a :class:`mepipe.release.recipe.Recipe` (clips, task
``recognition``) or a :class:`mepipe.release.longvideo.LongVideoRecipe` (long videos,
task ``spotting``).
Recipes are imported by name when first asked for, so this registry imports none of them
and each recipe may use it (the MEGC 2019 composite looks up its members here).
"""

from __future__ import annotations

import importlib
import pkgutil

from mepipe.errors import UsageError
from mepipe.release.longvideo import LongVideoRecipe
from mepipe.release.recipe import Recipe

__all__ = ["get_long_video_recipe", "get_recipe", "recipe_names", "recipe_task"]


def recipe_names(task: str | None = None) -> list[str]:
    """Names of the recipes shipped in ``mepipe.pipelines``; with ``task``, of those serving it
    (``recognition`` or ``spotting``)."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    return names if task is None else [n for n in names if recipe_task(n) == task]


def recipe_task(name: str) -> str:
    """The task of the recipe ``name``: ``spotting`` for long videos, else ``recognition``."""
    module = importlib.import_module(f"mepipe.pipelines.{name}")
    return getattr(module.RECIPE, "task", "recognition")


def get_long_video_recipe(name: str) -> LongVideoRecipe:
    """The long-video (spotting) recipe registered as ``name`` (``casme_sq``, ``samm_lv``, ``casme3_lv``)."""
    names = recipe_names("spotting")
    if name not in names:
        raise UsageError(f"unknown long-video dataset {name!r}; known: {', '.join(names)}")
    recipe = importlib.import_module(f"mepipe.pipelines.{name}").RECIPE
    assert isinstance(recipe, LongVideoRecipe)
    return recipe


def get_recipe(name: str) -> Recipe:
    """The clip (recognition) recipe registered as ``name`` (``casme2``, ``samm``, ``mmew``, ...);
    long-video recipes come from :func:`get_long_video_recipe`."""
    names = recipe_names()
    if name not in names:
        raise UsageError(f"unknown dataset {name!r}; known: {', '.join(names)}")
    recipe = importlib.import_module(f"mepipe.pipelines.{name}").RECIPE
    if isinstance(recipe, LongVideoRecipe):
        raise UsageError(
            f"{name} is a long-video (spotting) dataset; this needs a clip dataset: "
            f"{', '.join(recipe_names('recognition'))}"
        )
    return recipe
