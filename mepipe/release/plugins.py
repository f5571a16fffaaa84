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
"""

from __future__ import annotations

import importlib
import os
import sys
from importlib import metadata

from mepipe._shared.text import one_line
from mepipe.errors import UsageError

#: the entry-point groups naming plug-in modules (``name = package.module``): array sets,
#: models, the per-frame features of long-video builds
ARRAYS, MODELS, SPOT_FEATURES = "mepipe.array_sets", "mepipe.models", "mepipe.spot_features"

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
            dist = entry.dist
            where = f" (distribution {dist.name} {dist.version})" if dist is not None else ""
            raise UsageError(
                f"plug-in {entry.name} = {entry.value} of group {group}{where} cannot be imported: "
                f"{type(exc).__name__}: {one_line(exc)}"
            ) from exc
