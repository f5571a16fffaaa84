"""A dataset release on disk: the recipe contract, the folder scan, discovery, frames,
sheets, label lists and the release check.

:mod:`~mepipe.release.base` (what every recipe declares, clips or long videos),
:mod:`~mepipe.release.recipe` (the contract and the records), :mod:`~mepipe.release.sheet_recipe`
(the base of a recipe read from one sheet), :mod:`~mepipe.release.registry` (where recipes
are found: the built-in ones and the entry-point group ``mepipe.recipes``),
:mod:`~mepipe.release.names` and :mod:`~mepipe.release.scan` (names and folders, leaves),
:mod:`~mepipe.release.discover` (where the sheet and the frames are),
:mod:`~mepipe.release.frames` (frame lookup and decoding), :mod:`~mepipe.release.sheet`,
:mod:`~mepipe.release.labels`, :mod:`~mepipe.release.errata` (what reading a sheet
changes), :mod:`~mepipe.release.check` (a release of clips against its sheet),
:mod:`~mepipe.release.longvideo` (long videos, for spotting) and
:mod:`~mepipe.release.longcheck` (a release of long videos against its sheet).

What a recipe in another package needs is exported here: the bases :class:`BaseRecipe`
(of every recipe), :class:`Recipe`, :class:`SheetRecipe` and :class:`CompositeRecipe`
(clips), :class:`LongVideoRecipe` (long videos), the records :class:`Sample`,
:class:`SynthStyle` and :class:`Erratum`, the registry's :func:`get_recipe`,
:func:`recipe_names` and :func:`recipe_task`, and the tasks a recipe serves, :data:`TASKS`.
"""

from mepipe.release.base import TASKS, BaseRecipe
from mepipe.release.longvideo import LongVideoRecipe
from mepipe.release.recipe import CompositeRecipe, Recipe, Sample, SynthStyle
from mepipe.release.registry import ENTRY_POINT_GROUP, get_recipe, recipe_names, recipe_task
from mepipe.release.sheet_recipe import FIELDS, Erratum, SheetRecipe

__all__ = [
    "ENTRY_POINT_GROUP",
    "FIELDS",
    "TASKS",
    "BaseRecipe",
    "CompositeRecipe",
    "Erratum",
    "LongVideoRecipe",
    "Recipe",
    "Sample",
    "SheetRecipe",
    "SynthStyle",
    "get_recipe",
    "recipe_names",
    "recipe_task",
]
