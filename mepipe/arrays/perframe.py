"""The per-frame feature registry: what each ``--arrays`` name of a long-video build holds.

A spotting store keeps, for every kept frame ``t`` of a video, what the pair ``t -> t + k``
(or frame ``t`` itself) yields. A :class:`PerFrameFeature` declares one such feature in
one place: its arrays (dtype, shape after the frame axis, dimension names, the value of a
row not computed: :class:`~mepipe.arrays.registry.ArraySpec`), what it is computed from
(:attr:`PerFrameFeature.needs`), how (:attr:`PerFrameFeature.compute`, a pure function of
one :class:`PairInput`), its version (recorded in the store) and the picture the report
shows of one row. The store's schema (:mod:`mepipe.store.spotting`), the long-video build
(:mod:`mepipe.engine.spotting`), the readers and the report read the declarations from
here; none of them names a feature.

The built-in features (:mod:`mepipe.arrays.pairs`) are registered by
:mod:`mepipe.arrays`; another package's by :func:`register_feature` in a module named in
the entry-point group ``mepipe.spot_features`` (docs/extending.md), imported in every
process on its first lookup, as array sets are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mepipe.arrays.registry import ArraySpec
from mepipe.errors import MepipeError, UsageError
from mepipe.release.plugins import SPOT_FEATURES, load_plugins

#: what a feature is computed from: the pair's flow maps, or the frame's face crop alone
NEEDS = ("pair", "frame", "builder")


@dataclass(frozen=True)
class PairInput:
    """What a feature computes one row from.

    Attributes
    ----------
    crop : np.ndarray
        uint8 ``(crop, crop)``: frame ``t``'s face, cut by its face-track segment.
    flow : np.ndarray or None
        float32 ``(crop, crop, 2)``: the flow from frame ``t`` to ``t + k`` (``None`` for a
        feature that needs only the frame).
    maps : np.ndarray or None
        float32 ``(crop, crop, 3)``: ``(u, v, strain)`` of that flow less the head's motion,
        the eyes zeroed (:func:`mepipe.arrays.pairs.pair_maps`).
    head : np.ndarray or None
        float32 ``(2,)``: the nose patch's mean flow, the head's motion.
    geometry : Any
        The segment's :class:`~mepipe.arrays.pairs.Geometry` (eye mask, nose, regions).
    source : callable or None
        ``source(side, colour)``: frame ``t``'s face decoded anew from its file, only when
        a feature calls :meth:`face` (so other features' cost does not change).
    """

    crop: np.ndarray
    flow: np.ndarray | None
    maps: np.ndarray | None
    head: np.ndarray | None
    geometry: Any
    source: Callable[[int, bool], np.ndarray | None] | None = None

    def face(self, side: int, colour: bool = True) -> np.ndarray | None:
        """Frame ``t``'s face at ``side x side``, uint8 RGB ``(side, side, 3)`` (``colour``)
        or gray ``(side, side)``, cut by the same face-track segment as :attr:`crop` from a
        decode of the frame at the reduction its side allows
        (:func:`mepipe.imaging.facecrop.face_crop`); decoded on the first call for each
        ``(side, colour)``. ``None``: no frame file behind this input, or unreadable."""
        return None if self.source is None else self.source(side, colour)


@dataclass(frozen=True)
class PerFrameFeature:
    """One ``--arrays`` name of a long-video build.

    Attributes
    ----------
    name : str
        The ``--arrays`` name; a store's ``done_<name>`` marks when added to a finished store.
    arrays : tuple of ArraySpec
        The arrays it stores, one row per kept frame (``shape`` and ``dims`` after the
        frame axis, integer sizes only).
    needs : str
        ``pair``: the pair's flow (rows of pairs that cannot be computed stay ``fill``);
        ``frame``: frame ``t``'s face crop only (no flow is solved for it); ``builder``:
        written by the build itself (validity, :data:`NEEDS`).
    compute : callable or None
        ``compute(PairInput) -> {array: row}``; ``None`` for ``builder`` features.
    summary : str
        One line on what it holds.
    version : int
        Bumped when what it computes changes: a store records each feature's version
        (stores that record none hold version 1) and resumes with its own: one made by a
        version :attr:`earlier` keeps is computed by that one, another is refused.
    thumbnail : callable, optional
        ``thumbnail(rows) -> RGB uint8 picture`` of one row (``{array: row}``), shown by
        ``mepipe report`` at each interval's apex.
    default : bool
        Built when ``--arrays`` is not given.
    earlier : tuple of (int, callable)
        Earlier versions still computed, each with its ``compute``: a store made by one
        of them resumes (and adds blocks) with it, so that its rows stay one version's.
    """

    name: str
    arrays: tuple[ArraySpec, ...]
    needs: str
    compute: Callable[[PairInput], Mapping[str, np.ndarray]] | None
    summary: str
    version: int = 1
    thumbnail: Callable[[Mapping[str, np.ndarray]], np.ndarray] | None = None
    default: bool = False
    earlier: tuple[tuple[int, Callable[[PairInput], Mapping[str, np.ndarray]]], ...] = ()

    def versions(self) -> tuple[int, ...]:
        """Every version this mepipe computes: the current one and :attr:`earlier`'s."""
        return (self.version, *(v for v, _ in self.earlier))

    def computer(self, version: int | None = None) -> Callable[[PairInput], Mapping[str, np.ndarray]] | None:
        """``compute`` of ``version`` (default the current one).

        Raises
        ------
        UsageError
            A version this mepipe does not compute.
        """
        if version is None or version == self.version:
            return self.compute
        for number, compute in self.earlier:
            if number == version:
                return compute
        raise UsageError(
            f"{self.name} version {version} is not computed by this mepipe (it computes "
            f"{', '.join(str(v) for v in sorted(self.versions()))})"
        )

    def array_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.arrays)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Each array's row shape."""
        return {spec.name: tuple(int(e) for e in spec.shape) for spec in self.arrays}


_FEATURES: dict[str, PerFrameFeature] = {}
#: array names a spotting store holds besides the features': its structure
RESERVED = ("numbers", "label_interval", "label_type", "done")


def _features() -> dict[str, PerFrameFeature]:
    load_plugins(SPOT_FEATURES)
    return _FEATURES


def register_feature(feature: PerFrameFeature) -> PerFrameFeature:
    """Add ``feature`` to those a long-video build can make, after those registered before.

    Raises
    ------
    MepipeError
        Its name or an array name is taken, a shape entry is not an integer, its dims do
        not match its shapes, or ``needs`` is unknown, or a computed feature has no
        ``compute``.
    """
    where = f"per-frame feature {feature.name!r}"
    taken = {n: f.name for f in _FEATURES.values() for n in (f.name, *f.array_names())}
    taken.update(dict.fromkeys(RESERVED, "the store"))
    clashes = [n for n in dict.fromkeys((feature.name, *feature.array_names())) if n in taken]
    if clashes:
        raise MepipeError(f"{where}: names already taken: {', '.join(f'{n} by {taken[n]!r}' for n in clashes)}")
    if feature.needs not in NEEDS:
        raise MepipeError(f"{where}: needs must be one of {', '.join(NEEDS)}, not {feature.needs!r}")
    if (feature.compute is None) != (feature.needs == "builder"):
        raise MepipeError(f"{where}: a compute function is needed exactly when needs is not 'builder'")
    for spec in feature.arrays:
        if not all(isinstance(e, int) for e in spec.shape) or len(spec.dims) != len(spec.shape):
            raise MepipeError(f"{where}: {spec.name} needs integer sizes and one dim name per axis")
    _FEATURES[feature.name] = feature
    return feature


def features() -> tuple[PerFrameFeature, ...]:
    """Every registered feature, in store order."""
    return tuple(_features().values())


def feature_names() -> tuple[str, ...]:
    """Every long-video ``--arrays`` name, in store order."""
    return tuple(_features())


def default_features() -> tuple[str, ...]:
    """What a long-video build holds when ``--arrays`` is not given."""
    return tuple(f.name for f in _features().values() if f.default or f.needs == "builder")


def get_feature(name: str) -> PerFrameFeature:
    """The feature registered as ``name``; a one-line UsageError listing the valid ones."""
    try:
        return _features()[name]
    except KeyError:
        raise UsageError(f"no per-frame feature {name!r}; valid: {', '.join(feature_names())}") from None


def with_builder(names: Iterable[str]) -> tuple[str, ...]:
    """``names`` with the builder's own features (validity) added, in store order."""
    wanted = set(names)
    return tuple(f.name for f in _features().values() if f.name in wanted or f.needs == "builder")


def versions(names: Iterable[str]) -> dict[str, int]:
    """Feature -> version, as a store records them."""
    return {name: get_feature(name).version for name in names}
