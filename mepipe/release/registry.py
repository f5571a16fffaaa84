"""Where recipes are found: the built-in ones in ``mepipe.pipelines``, and plug-ins.

A recipe is an instance of :class:`~mepipe.release.recipe.Recipe` (clips, for
recognition) or of :class:`~mepipe.release.longvideo.LongVideoRecipe` (long videos, for
spotting), both :class:`~mepipe.release.base.BaseRecipe`, with the name it is asked for
by (``name``) and its ``task`` (:data:`TASKS`). Two sources name them:

* **built-in**: every public module of the package ``mepipe.pipelines`` (the top-level
  ``pipelines/`` of a checkout, installed under that name) defines ``RECIPE``. They are
  found by listing the package, so a bare checkout run through ``cli.py`` has them
  without any installation;
* **plug-ins**: the entry points of the group ``mepipe.recipes`` (:data:`ENTRY_POINT_GROUP`)
  of every installed distribution, ``name = module:object``, the object a recipe. A
  lab's own package declares them in its metadata and adds datasets without forking::

      [options.entry_points]
      mepipe.recipes =
          mylab = mylab_recipes.mylab:RECIPE

mepipe registers its built-in recipes in the group too (setup.cfg), as
``mepipe.pipelines.<name>:RECIPE``; those registrations name what the package listing
already found and add nothing. Any other entry point whose name is taken, by a built-in
recipe or by another distribution's entry point, is a clash: asking for that name is a
:class:`~mepipe.errors.UsageError` naming both, never a silent choice. A plug-in that
fails to import, or whose object is not a recipe of that name, is one too, naming the
entry point and its distribution. Names are listed without importing anything; recipes
are imported when first asked for (so a recipe may look others up here, as the MEGC 2019
composite does its members).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from functools import cache, partial
from typing import TypeVar, overload

from mepipe.errors import UsageError
from mepipe.release.base import TASKS
from mepipe.release.plugins import RECIPES, Source, load_source, named_sources, path_key
from mepipe.release.recipe import Recipe

__all__ = ["BUILT_IN", "ENTRY_POINT_GROUP", "TASKS", "get_recipe", "recipe_names", "recipe_task"]

#: the entry-point group plug-in recipes are registered in
ENTRY_POINT_GROUP = RECIPES
#: the package whose public modules are the built-in recipes
BUILT_IN = "mepipe.pipelines"

R = TypeVar("R")


def _built_in(name: str) -> object:
    return importlib.import_module(f"{BUILT_IN}.{name}").RECIPE


def _built_ins() -> dict[str, Source]:
    package = importlib.import_module(BUILT_IN)
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))
    return {name: Source(f"the built-in recipe {BUILT_IN}.{name}", partial(_built_in, name), False) for name in names}


@cache
def _sources(path: tuple[tuple[str, float], ...]) -> Mapping[str, Source]:
    """Every recipe name and its source, for the import path ``path`` (its folders and their
    modification times: the key, so that a distribution installed or put on ``sys.path``
    while a process runs, a notebook's kernel, is seen at the next lookup)."""
    # mepipe's registrations of its own recipes are passed over: the listing is the one that
    # matches the code this process imports (an installed mepipe may be another)
    return named_sources(ENTRY_POINT_GROUP, _built_ins(), skip=lambda entry: entry.module.startswith(f"{BUILT_IN}."))


@cache
def _load(name: str, source: Source) -> object:
    recipe = load_source("dataset recipe", name, source)
    task = getattr(recipe, "task", None)
    if task not in TASKS or getattr(recipe, "name", None) != name:
        what = f"{type(recipe).__name__} with name {getattr(recipe, 'name', None)!r} and task {task!r}"
        raise UsageError(
            f"dataset recipe {name!r} from {source.origin} is not a recipe named {name!r}: it is a {what} "
            f"(expected an instance of a recipe class, e.g. a mepipe.release.SheetRecipe subclass, "
            f"with name {name!r} and task one of {', '.join(TASKS)})"
        )
    return recipe


def _registry() -> Mapping[str, Source]:
    return _sources(path_key())


def recipe_names(task: str | None = None) -> list[str]:
    """Names of the registered recipes, sorted; only those serving ``task`` when given.

    Parameters
    ----------
    task : str, optional
        ``"recognition"`` or ``"spotting"`` (:data:`TASKS`). Without it nothing is
        imported; with it every recipe is, to read its ``task``.

    Raises
    ------
    UsageError
        An unknown ``task``; with ``task``, a recipe that cannot be loaded.
    """
    names = sorted(_registry())
    if task is None:
        return names
    if task not in TASKS:
        raise UsageError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    return [name for name in names if recipe_task(name) == task]


def recipe_task(name: str) -> str:
    """The task the recipe ``name`` serves: ``"recognition"`` (clips) or ``"spotting"``
    (long videos); what a command that takes both looks at first.

    Raises
    ------
    UsageError
        As :func:`get_recipe`, but for a recipe of either task.
    """
    return str(getattr(get_recipe(name, object), "task", ""))  # a str of TASKS: checked on loading


@overload
def get_recipe(name: str) -> Recipe: ...


@overload
def get_recipe(name: str, kind: type[R]) -> R: ...


def get_recipe(name: str, kind: type[object] = Recipe) -> object:
    """The recipe registered as ``name`` (``casme2``, ``samm``, ``mmew``, ...).

    Parameters
    ----------
    name : str
        A name of :func:`recipe_names`.
    kind : type
        The class the recipe must be an instance of: the clip
        :class:`~mepipe.release.recipe.Recipe` by default, what ``check``, ``build`` and
        ``synth`` read; a spotting recipe's class for the long videos; ``object`` for a
        recipe of either task.

    Raises
    ------
    UsageError
        An unknown name, a clash of two registrations, a plug-in that cannot be loaded,
        or a recipe that is not a ``kind`` (a spotting recipe where clips are read).
    """
    sources = _registry()
    if name not in sources:
        raise UsageError(f"unknown dataset {name!r}; known: {', '.join(sorted(sources))}")
    recipe = _load(name, sources[name])
    if not isinstance(recipe, kind):
        wanted = getattr(kind, "task", kind.__name__)
        raise UsageError(
            f"dataset {name!r} is a {getattr(recipe, 'task', '?')} recipe ({type(recipe).__name__}); "
            f"a {wanted} recipe is needed here: {', '.join(_names_of(kind, sources))}"
        )
    return recipe


def _names_of(kind: type[object], sources: Mapping[str, Source]) -> list[str]:
    """The names whose recipes are ``kind``s (for a message: loads every recipe that loads)."""
    names = []
    for name, source in sorted(sources.items()):
        try:
            if isinstance(_load(name, source), kind):
                names.append(name)
        except UsageError:
            continue
    return names
