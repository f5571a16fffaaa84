"""Dataset recipes, one module per release, installed as ``mepipe.pipelines``, and their registry.

Each module defines ``RECIPE``, an instance of :class:`mepipe.release.recipe.Recipe`.
Recipes are imported by name when first asked for, so this registry imports none of them
and each recipe may use it (the MEGC 2019 composite looks up its members here).
"""

from __future__ import annotations

import importlib
import pkgutil

from mepipe.errors import UsageError
from mepipe.release.recipe import Recipe

__all__ = ["get_recipe", "recipe_names"]


def recipe_names() -> list[str]:
    """Names of the recipes shipped in ``mepipe.pipelines``."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def get_recipe(name: str) -> Recipe:
    """The recipe registered as ``name`` (``casme2``, ``samm``, ``mmew``, ...)."""
    names = recipe_names()
    if name not in names:
        raise UsageError(f"unknown dataset {name!r}; known: {', '.join(names)}")
    module = importlib.import_module(f"mepipe.pipelines.{name}")
    return module.RECIPE
