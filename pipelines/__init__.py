"""The built-in dataset recipes, one module per release, installed as ``mepipe.pipelines``.

Each public module defines ``RECIPE``, an instance of a recipe class of
:mod:`mepipe.release` (most subclass :class:`mepipe.release.SheetRecipe`), and is
registered under its module name; :mod:`mepipe.release.registry` finds them by listing
this package and adds the plug-ins of the entry-point group ``mepipe.recipes``. Nothing
in ``mepipe`` imports this package: recipes are found, as plug-ins are.

``get_recipe``, ``recipe_names`` and ``recipe_task`` are the registry's, also importable
from here.
"""

from mepipe.release.registry import get_recipe, recipe_names, recipe_task

__all__ = ["get_recipe", "recipe_names", "recipe_task"]
