"""Plug-in modules: another package's array sets and models, found in every process.

An array set (:func:`mepipe.arrays.register`) or a model
(:func:`mepipe.train.models.register_model`) is registered by importing the module that
declares it. A notebook imports it; a command (``mepipe build --arrays NAME``,
``mepipe train --model NAME``) and a build's workers on other machines cannot know to.
So a package names such modules in its metadata, array sets in the entry-point group
``mepipe.array_sets`` (:data:`ARRAYS`), models in ``mepipe.models`` (:data:`MODELS`)::

    [options.entry_points]
    mepipe.array_sets =
        apex_difference = labme_arrays.apex_difference
    mepipe.models =
        apexnet = labme_models.apexnet

and each registry imports every module of its group the first time it is read in a
process (:func:`load_plugins`): once per module, whatever the number of lookups, and again
only when the import path changes (:func:`path_key`). Two groups, so that a build never
imports a model's module (and PyTorch with it). A module that fails to import
is a one-line :class:`~mepipe.errors.UsageError` naming the entry point and its
distribution.

Recipes and spotters are entry points of another kind, ``name = module:object`` naming the
object itself (:data:`RECIPES`, :data:`SPOTTERS`); their registries list their built-ins
and the group's entry points as :class:`Source` records (:func:`named_sources`) and load
one when it is asked for (:func:`load_source`): a name claimed twice, or a plug-in that
cannot be loaded, is a one-line error naming the entry point and its distribution.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from importlib import metadata

from mepipe._shared.text import one_line
from mepipe.errors import UsageError

#: the entry-point groups naming plug-in modules (``name = package.module``): array sets,
#: models, the per-frame features of long-video builds
ARRAYS, MODELS, SPOT_FEATURES = "mepipe.array_sets", "mepipe.models", "mepipe.spot_features"
#: the entry-point groups naming plug-in objects (``name = package.module:object``): recipes, spotters
RECIPES, SPOTTERS = "mepipe.recipes", "mepipe.spotters"

#: the modules imported so far, and per group the import path last looked through (:func:`path_key`)
_imported: set[str] = set()
_seen: dict[str, tuple[tuple[str, float], ...]] = {}


def path_key() -> tuple[tuple[str, float], ...]:
    """The import path as it stands: each folder of ``sys.path`` and its modification time,
    which changes when a distribution is installed into it (so a notebook's kernel sees a
    package installed while it runs at its next lookup)."""
    return tuple((entry, _mtime(entry)) for entry in sys.path)


def _mtime(path: str) -> float:
    try:
        return os.stat(path or ".").st_mtime
    except OSError:
        return 0.0


def load_plugins(group: str) -> None:
    """Import every module of the entry-point group ``group`` not imported yet.

    Parameters
    ----------
    group : str
        :data:`ARRAYS`, :data:`MODELS` or :data:`SPOT_FEATURES`.

    Raises
    ------
    UsageError
        A plug-in module that cannot be imported.
    """
    path = path_key()
    if _seen.get(group) == path:
        return
    # marked first: a plug-in's import reads the registry it registers with
    _seen[group] = path
    for entry in metadata.entry_points(group=group):
        module = entry.value.split(":")[0].strip()
        if module in _imported:
            continue
        _imported.add(module)
        try:
            importlib.import_module(module)
        except Exception as exc:
            _imported.discard(module)
            _seen.pop(group, None)
            raise UsageError(
                f"plug-in {entry.name} = {entry.value} of group {group}{_distribution(entry)} cannot be imported: "
                f"{type(exc).__name__}: {one_line(exc)}"
            ) from exc


def _distribution(entry: metadata.EntryPoint) -> str:
    """`` (distribution NAME VERSION)`` of the distribution declaring ``entry``, for messages."""
    dist = entry.dist
    return f" (distribution {dist.name} {dist.version})" if dist is not None else ""


@dataclass(frozen=True)
class Source:
    """Where the object of one name comes from: ``origin`` names it in messages; ``load``
    returns the object; ``plug_in``: from an entry point (a failure to load it is the
    plug-in's, a one-line error; a built-in's is a bug, raised as it is); ``clash`` is set
    when another source claims the name too."""

    origin: str
    load: Callable[[], object]
    plug_in: bool
    clash: str = ""


def named_sources(
    group: str, built_in: Mapping[str, Source], skip: Callable[[metadata.EntryPoint], bool] | None = None
) -> dict[str, Source]:
    """``built_in`` and the entry points of ``group`` by name, nothing imported; a name two
    of them claim keeps its first source, marked with the other's ``clash``.

    Parameters
    ----------
    group : str
        :data:`RECIPES` or :data:`SPOTTERS`.
    built_in : mapping
        name -> the built-in's :class:`Source`.
    skip : callable, optional
        True for an entry point to pass over (mepipe's own registrations of its built-ins).
    """
    found = dict(built_in)
    for entry in metadata.entry_points(group=group):
        if skip is not None and skip(entry):
            continue
        source = Source(
            f"the entry point {entry.name} = {entry.value} of group {group}{_distribution(entry)}", entry.load, True
        )
        if entry.name in found:
            source = replace(found[entry.name], clash=found[entry.name].clash or source.origin)
        found[entry.name] = source
    return found


def load_source(what: str, name: str, source: Source) -> object:
    """The object ``source`` names, the ``what`` (``dataset recipe``, ``spotter``) called ``name``.

    Raises
    ------
    UsageError
        The name is claimed twice (naming both), or a plug-in cannot be loaded (naming its
        entry point and distribution). A built-in's failure is raised as it is.
    """
    if source.clash:
        raise UsageError(
            f"{what} {name!r} is registered twice: {source.origin} and {source.clash}; rename or uninstall one"
        )
    try:
        return source.load()
    except Exception as exc:
        if not source.plug_in:
            raise
        raise UsageError(
            f"{what} {name!r} cannot be loaded from {source.origin}: {type(exc).__name__}: {one_line(exc)}"
        ) from exc
