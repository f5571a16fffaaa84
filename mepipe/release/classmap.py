"""Emotion words mapped onto the MEGC class sets, each dataset by its own recipe's map.

Two sets:

* ``megc2019``: negative, positive, surprise, mapped as the MEGC 2019 composite maps each
  dataset's emotions (the recipe's ``label_maps["3"]``: SAMM's fear and sadness are
  negative, CASME-II's are left out, as are ``others``); a word the map leaves out is
  outside the set;
* ``megc``: the four coarse classes of MEGC's ME-VQA and STR tracks, negative, positive,
  surprise, others: the same map, every other emotion of the dataset ``others``.

A name already in the set maps to itself in every dataset (``negative``, ``surprise``,
``others`` for ``megc``), so a file written in the set's own words is read as written.
A word is mapped by its row's dataset. Without one, it is mapped where every dataset
that writes it maps it alike (``disgust`` and ``repression`` to negative) and refused in
one line where they differ (``fear``: negative in SAMM, left out or ``others`` in
CASME-II). The maps are the recipes' own (reused, never copied); the long-video
releases take their clip release's (``clip_recipe``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from mepipe.errors import MepipeError, UsageError
from mepipe.release.labels import MEGC2019_CLASSES, MEGC2019_SET
from mepipe.release.registry import get_recipe, recipe_names

#: MEGC's four coarse classes (ME-VQA's coarse question, STR's recognition)
MEGC_CLASSES: tuple[str, ...] = ("negative", "positive", "surprise", "others")
#: the class sets words can be mapped to
CLASS_SETS: dict[str, tuple[str, ...]] = {MEGC2019_SET: MEGC2019_CLASSES, "megc": MEGC_CLASSES}


def normal(word: str) -> str:
    """An emotion word as compared: stripped, lower case (``"Happiness "`` -> ``"happiness"``)."""
    return " ".join(str(word).split()).lower()


def _recipe_map(name: str, classes: str) -> dict[str, str | None] | None:
    """``word -> class`` (``None``: outside the set) for a clip recipe, or ``None`` when the
    recipe has no MEGC 2019 mapping (neither a ``3`` map nor a three-class set)."""
    recipe = get_recipe(name)
    sets = dict(getattr(recipe, "class_sets", {}))
    three = dict(getattr(recipe, "label_maps", {}).get("3", {}))
    if not three and MEGC2019_CLASSES not in (sets.get("3"), sets.get(MEGC2019_SET)):
        return None
    # emotions of the sheet in no class set: counted so the no-dataset rule sees them
    words = set(three) | set(getattr(recipe, "unlisted_emotions", ()))
    for key, names in sets.items():
        if key != "objective":
            words |= set(names)
    return {normal(w): _map_word(normal(w), three.get(w), classes) for w in words}


def _map_word(word: str, three: str | None, classes: str) -> str | None:
    if word in CLASS_SETS[classes]:
        return word
    if classes == "megc":
        return three or "others"
    return three


def _long_video_map(name: str, classes: str) -> dict[str, str | None]:
    clips = str(getattr(get_recipe(name, object), "clip_recipe", ""))
    table = dict(_maps(classes)[clips]) if clips else {}
    for word in getattr(get_recipe(name, object), "emotions", ()):
        table.setdefault(normal(word), _map_word(normal(word), None, classes))
    return table


@cache
def _maps(classes: str) -> dict[str, dict[str, str | None]]:
    """Every recognition recipe's map with a MEGC mapping, by recipe name."""
    out = {}
    for name in recipe_names(task="recognition"):
        table = _recipe_map(name, classes)
        if table is not None:
            out[name] = table
    return out


@cache
def _titles() -> dict[str, str]:
    """Lower-case recipe names and titles -> recipe name, every task's."""
    out = {}
    for name in recipe_names():
        out[name.lower()] = name
        title = getattr(get_recipe(name, object), "title", "")
        if title:
            out.setdefault(str(title).lower(), name)
    return out


def dataset_name(text: str) -> str:
    """The recipe name a row's ``dataset`` names: a recipe's name or title, any case
    (``SAMM`` -> ``samm``, ``CASME-II`` -> ``casme2``); UsageError for anything else."""
    key = normal(text)
    found = _titles().get(key)
    if found is None:
        raise UsageError(f"unknown dataset {text!r}; known: {', '.join(sorted(set(_titles().values())))}")
    return found


@dataclass(frozen=True)
class ClassMap:
    """Emotion words to a class set, per dataset.

    Attributes
    ----------
    name : str
        ``megc2019`` or ``megc`` (:data:`CLASS_SETS`).
    classes : tuple of str
        The set's classes.
    """

    name: str
    classes: tuple[str, ...]

    def table(self, dataset: str) -> Mapping[str, str | None]:
        """``word -> class`` of one dataset (a recipe name, :func:`dataset_name`)."""
        if dataset in _maps(self.name):
            return _maps(self.name)[dataset]
        return _long_video_map(dataset, self.name)

    def map(self, word: str, dataset: str = "", where: str = "") -> str | None:
        """The class of ``word`` in ``dataset`` (``""``: the no-dataset rule, module notes);
        ``None`` when it is outside the set, empty, or a word no dataset writes.

        Raises
        ------
        MepipeError
            Without a dataset, a word the datasets map differently (``where`` names the row).
        """
        word = normal(word)
        if not word or word in self.classes:
            return word or None
        if dataset:
            return self.table(dataset_name(dataset)).get(word)
        seen = {name: table[word] for name, table in _maps(self.name).items() if word in table}
        mapped = set(seen.values())
        if len(mapped) > 1:
            ways = ", ".join(f"{name}: {cls or 'left out'}" for name, cls in sorted(seen.items()))
            raise MepipeError(
                f"{where + ': ' if where else ''}emotion {word!r} maps differently by dataset ({ways}) in "
                f"--classes {self.name}; give the rows a dataset column or name it with --dataset"
            )
        return mapped.pop() if mapped else None


def class_map(name: str) -> ClassMap:
    """The :class:`ClassMap` of a class set name (``megc2019`` or ``megc``); UsageError otherwise."""
    if name not in CLASS_SETS:
        raise UsageError(f"unknown class set {name!r}; valid: own, {', '.join(CLASS_SETS)}")
    return ClassMap(name, CLASS_SETS[name])
