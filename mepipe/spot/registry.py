"""The registry of spotters: what ``mepipe spot --spotter NAME`` runs on a spotting store.

A spotter is an instance of :class:`Spotter` with a ``name``, a one-line
``description``, the optional modules it ``needs`` (``("torch",)``), the
:class:`SpotOption` records it takes, and ``spot(store, *, progress, **options)``
returning a :class:`SpotResult`: the spans, how it was tuned, and notes for the user.
Two sources name them, as recipes are named (:mod:`mepipe.release.registry`):

* **built-in** (:data:`BUILT_IN`): ``baseline``, thresholded peaks of the facial cells'
  displacement (:mod:`mepipe.spot.baseline`), and ``softnet``, SOFTNet trained leave one
  subject out (:mod:`mepipe.spot.learned`, needs PyTorch); both declared in
  :mod:`mepipe.spot.spotters`;
* **plug-ins**: the entry points of the group ``mepipe.spotters``
  (:data:`~mepipe.release.plugins.SPOTTERS`) of every installed distribution,
  ``name = module:object``, the object a spotter::

      [options.entry_points]
      mepipe.spotters =
          labspot = labme_spotters.labspot:SPOTTER

Names are listed without importing anything; a spotter is imported when first asked
for. A name claimed twice, or a plug-in that cannot be loaded or is not a spotter of that
name, is a one-line :class:`~mepipe.errors.UsageError` naming its entry point and
distribution; the other spotters still work.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any

from mepipe.errors import MepipeError, UsageError, require
from mepipe.release.longvideo import Interval
from mepipe.release.plugins import SPOTTERS, Source, load_source, named_sources, path_key

__all__ = [
    "BUILT_IN",
    "DEFAULT_SPOTTER",
    "SpotOption",
    "SpotResult",
    "Spotter",
    "get_spotter",
    "spotter_listing",
    "spotter_names",
]

#: the built-in spotters, name -> ``module:object``
BUILT_IN = {"baseline": "mepipe.spot.spotters:BASELINE", "softnet": "mepipe.spot.spotters:SOFTNET"}
#: what ``mepipe spot`` and ``mepipe spot-recognise`` run without ``--spotter``
DEFAULT_SPOTTER = "baseline"
#: optional modules a spotter may need, as messages name them and the extra installing them
EXTRAS = {"torch": ("PyTorch", "train")}


@dataclass(frozen=True)
class SpotOption:
    """One option a spotter takes: ``mepipe spot --option NAME=VALUE`` (``--epochs N`` and
    ``--seed N`` for short), ``spot(store, NAME=value)`` from Python.

    Attributes
    ----------
    name : str
        The keyword ``spot`` takes.
    default : int, float, str or bool
        Its value when not given; its type is the option's (a command-line value is read as it).
    help : str
        One line for ``mepipe spot --help``.
    minimum : int or float, optional
        The least value a number may take.
    """

    name: str
    default: int | float | str | bool
    help: str
    minimum: int | float | None = None

    def parse(self, value: object) -> int | float | str | bool:
        """``value`` (a command-line string, or a Python value) as the option's type.

        Raises
        ------
        UsageError
            A value that is not of the option's type, or below its minimum.
        """
        kind = type(self.default)
        try:
            parsed = _convert(kind, value)
        except (TypeError, ValueError):
            raise UsageError(f"option {self.name} takes {kind.__name__} values, not {value!r}") from None
        if self.minimum is not None and not isinstance(parsed, str) and parsed < self.minimum:
            raise UsageError(f"option {self.name} is at least {self.minimum}, not {parsed}")
        return parsed


#: how a command line spells a flag's two values
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def _convert(kind: type, value: object) -> int | float | str | bool:
    """``value`` as a ``kind`` (int, float, str or bool); TypeError or ValueError when it is none."""
    if not isinstance(value, (str, int, float)) or (isinstance(value, bool) and kind is not bool):
        raise TypeError(value)
    if kind is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() not in (*_TRUE, *_FALSE):
            raise ValueError(value)
        return str(value).lower() in _TRUE
    if kind is int:
        number = int(value)
        if isinstance(value, float) and value != number:
            raise ValueError(value)
        return number
    return float(value) if kind is float else str(value)


@dataclass(frozen=True)
class SpotResult:
    """What a spotter spotted in a store, and how.

    Attributes
    ----------
    spans : list of Interval
        Every video's predictions (video, type ``micro`` or ``macro``, onset, offset), in
        the release's frame numbers.
    subjects : int
        The subjects whose videos were spotted.
    how : str
        How it was tuned, for the summary line (``settings by nested leave-one-subject-out``).
    notes : tuple of str
        Lines the user should read (a subject left unspotted, and why).
    """

    spans: list[Interval]
    subjects: int
    how: str
    notes: tuple[str, ...] = ()


class Spotter:
    """The spotter contract: subclass it, set the attributes, write :meth:`spot`.

    Attributes
    ----------
    name : str
        What ``--spotter`` calls it (the entry point's name for a plug-in).
    description : str
        One line for ``mepipe spot --help``.
    needs : tuple of str
        Optional modules it imports (``("torch",)``): checked before it runs, each a
        one-line error naming what installs it.
    options : tuple of SpotOption
        The keywords :meth:`spot` takes beyond ``progress``.

    Examples
    --------
    A spotter that marks each video's first ten frames as a micro-expression::

        class FirstFrames(Spotter):
            name = "first"
            description = "the first ten frames of every video"

            def spot(self, store, *, progress=False, **options):
                videos, _ = store_videos(store, flow=False)
                spans = [Interval(v.name, "micro", int(v.numbers[0]), int(v.numbers[9])) for v in videos]
                return SpotResult(spans, len({v.subject for v in videos}), "nothing tuned")

        SPOTTER = FirstFrames()
    """

    name: str = ""
    description: str = ""
    needs: tuple[str, ...] = ()
    options: tuple[SpotOption, ...] = ()

    def spot(self, store: Path, *, progress: bool = False, **options: Any) -> SpotResult:
        """Spot every video of the spotting store ``store``, each subject's without its own
        intervals; ``options`` are :meth:`parse_options`'s."""
        raise NotImplementedError

    def parse_options(self, given: Mapping[str, object]) -> dict[str, Any]:
        """Every declared option's value: ``given``'s (parsed), the defaults otherwise.

        Raises
        ------
        UsageError
            An option the spotter does not declare (the line names those it takes), or a bad value.
        """
        declared = {o.name: o for o in self.options}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise UsageError(
                f"spotter {self.name} takes no option {', '.join(unknown)}; it takes {', '.join(declared) or 'none'}"
            )
        return {name: o.parse(given[name]) if name in given else o.default for name, o in declared.items()}

    def check_needs(self, feature: str) -> None:
        """Each module of :attr:`needs` importable, or a one-line error saying ``feature`` needs it."""
        for module in self.needs:
            title, extra = EXTRAS.get(module, (module, ""))
            if extra:
                require(module, title, feature, extra)
            elif importlib.util.find_spec(module) is None:
                raise MepipeError(f"{feature} needs the module {module}, which is not installed")


def _built_in(target: str) -> object:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


@cache
def _sources(path: tuple[tuple[str, float], ...]) -> Mapping[str, Source]:
    """Every spotter name and its source, for the import path ``path``."""
    built_in = {
        name: Source(f"the built-in spotter {target}", partial(_built_in, target), False)
        for name, target in BUILT_IN.items()
    }
    return named_sources(SPOTTERS, built_in)


@cache
def _load(name: str, source: Source) -> Spotter:
    spotter = load_source("spotter", name, source)
    if not isinstance(spotter, Spotter) or spotter.name != name:
        what = f"{type(spotter).__name__} with name {getattr(spotter, 'name', None)!r}"
        raise UsageError(
            f"spotter {name!r} from {source.origin} is not a spotter named {name!r}: it is a {what} "
            f"(expected an instance of a mepipe.spot.registry.Spotter subclass with name {name!r})"
        )
    return spotter


def spotter_names() -> list[str]:
    """The registered spotters' names, the built-ins first, then the plug-ins' sorted; nothing imported."""
    names = list(_sources(path_key()))
    return [*BUILT_IN, *sorted(n for n in names if n not in BUILT_IN)]


def get_spotter(name: str) -> Spotter:
    """The spotter registered as ``name``.

    Raises
    ------
    UsageError
        An unknown name (the line lists the known ones), a name claimed twice, or a
        plug-in that cannot be loaded or is not a spotter of that name.
    """
    sources = _sources(path_key())
    if name not in sources:
        raise UsageError(f"unknown spotter {name!r}; known: {', '.join(spotter_names())}")
    return _load(name, sources[name])


def spotter_listing() -> str:
    """Every registered spotter in one paragraph, for ``--help``: its name, description,
    what it needs and its options; a plug-in that cannot be loaded is named as such."""
    parts = []
    for name in spotter_names():
        try:
            spotter = get_spotter(name)
        except UsageError:
            parts.append(f"{name}: cannot be loaded (--spotter {name} says why)")
            continue
        extra = [f"needs {', '.join(EXTRAS.get(m, (m, ''))[0] for m in spotter.needs)}"] if spotter.needs else []
        extra += [f"options {', '.join(f'{o.name}={o.default}' for o in spotter.options)}"] if spotter.options else []
        parts.append(f"{name}: {spotter.description}" + (f" ({'; '.join(extra)})" if extra else ""))
    return "; ".join(parts)
