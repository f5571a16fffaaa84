"""The array-set registry: what each ``--arrays`` name holds, in one declaration.

An :class:`ArraySet` is a group of per-sample arrays computed together from a sample's
aligned frames: their dtypes, shapes and dimension names (:class:`ArraySpec`), the frames
they need decoded, how they are computed, what the store's provenance records about
them and the pictures the report shows of them. The store's schema, the build's stages
and configuration, the readers and the report read the declarations from here; none of
them names a set.

A set is registered by :func:`register`, the built-in ones by :mod:`mepipe.arrays` in
store order, another package's by the same call. A set that is not ``base`` is a *derived*
set: it can be added to a finished store (the build computes it from each sample's
stored alignment), and each sample's ``checksum_<set>`` field covers its arrays. Sets
registered with ``base=True`` (the dynamic images, onset and apex) are created with a
store only, and the ``checksum`` field covers them.

A build's workers look sets up by name, so a set must be registered in every process
that builds with it: a notebook imports its module; a package names the module in the
entry-point group ``mepipe.array_sets`` and every process imports it on its first lookup
(:mod:`mepipe.release.plugins`; docs/extending.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

import numpy as np

from mepipe.errors import MepipeError, UsageError
from mepipe.release.plugins import ARRAYS, load_plugins

T = TypeVar("T")

#: the shape entries every store resolves: the image side and the channel count
LAYOUT_OPTIONS = ("size", "channels")


@dataclass(frozen=True)
class ArraySpec:
    """One array of a set, as the store lays it out (one chunk per sample, zstd).

    Attributes
    ----------
    name : str
        The array's name at the store's root.
    dtype : str
        NumPy dtype name (``uint8``, ``float32``).
    shape : tuple of int or str
        One sample's shape; a string entry is resolved from the build's options:
        ``"size"`` (the image side), ``"channels"`` (3, or 1 with ``--gray``) or an
        option the set declares (:attr:`ArraySet.options`), such as ``"sequence_frames"``.
    dims : tuple of str
        Dimension names after ``sample``, one per shape entry (xarray's names).
    fill : scalar
        The value of a sample not built; NaN for floats that would otherwise read as data
        (no flow is not zero motion).
    when : str, optional
        A boolean option without which the array is not kept (``keep_raw``).
    """

    name: str
    dtype: str
    shape: tuple[int | str, ...]
    dims: tuple[str, ...]
    fill: Any = 0
    when: str | None = None

    def sample_shape(self, options: Mapping[str, Any]) -> tuple[int, ...]:
        """One sample's shape under ``options`` (which must name every string entry)."""
        try:
            return tuple(entry if isinstance(entry, int) else int(options[entry]) for entry in self.shape)
        except KeyError as exc:
            raise MepipeError(f"array {self.name!r}: its shape needs the option {exc.args[0]!r}") from None


@dataclass(frozen=True)
class Span:
    """A sample's frame numbers as a set sees them before any frame is decoded.

    ``lo`` .. ``hi`` (inclusive) is the span pooled (``--span``); ``known`` every frame
    number the release has for the sample, in increasing order; ``options`` the build's
    choices (:meth:`mepipe.engine.config.BuildConfig.set_options`).
    """

    onset: int
    apex: int
    offset: int
    lo: int
    hi: int
    known: np.ndarray
    options: Mapping[str, Any]

    def known_between(self, lo: int, hi: int) -> np.ndarray:
        """The frame numbers the release has within ``lo..hi`` (inclusive)."""
        return self.known[(self.known >= lo) & (self.known <= hi)]


@dataclass(frozen=True)
class AlignedClip(Span):
    """A sample's decoded frames, aligned, as a set computes from them.

    ``frames`` are the aligned frames ``(n, S, S, C)`` of the decoded frame numbers
    ``numbers`` (increasing; those the sets asked for, :attr:`ArraySet.frames`);
    ``transform`` (source to output pixels) and ``landmarks`` (source pixels) the sample's
    alignment (``None`` for frames given aligned).
    """

    numbers: np.ndarray
    frames: np.ndarray
    transform: np.ndarray | None
    landmarks: np.ndarray | None
    _shared: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def frame(self, number: int) -> np.ndarray:
        """The aligned frame numbered ``number``; it must be among ``numbers``."""
        return self.frames[int(np.searchsorted(self.numbers, number))]

    def frames_between(self, lo: int, hi: int) -> np.ndarray:
        """The decoded aligned frames numbered ``lo..hi`` (inclusive)."""
        first, last = np.searchsorted(self.numbers, [lo, hi + 1])
        return self.frames[first:last]

    def once(self, key: str, make: Callable[[], T]) -> T:
        """``make()``, computed once per clip for every set that asks by ``key``: work
        sets share (TRDI and MIDI come from one rank pooling)."""
        if key not in self._shared:
            self._shared[key] = make()
        value: T = self._shared[key]
        return value


class Computed(NamedTuple):
    """What a set's :attr:`~ArraySet.compute` returns: its arrays, and notes for the
    sample's ``repair`` field (why an array holds NaN, say)."""

    arrays: dict[str, np.ndarray]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Thumbnail:
    """A picture of one array of a set in ``mepipe report``.

    ``picture`` takes one sample's array and gives an RGB (or gray) uint8 picture and its
    tooltip; ``key``, when given, draws the legend printed once beside the page's counts
    (a square of the given side), explained by ``key_note``.
    """

    array: str
    picture: Callable[[np.ndarray], tuple[np.ndarray, str]]
    key: Callable[[int], np.ndarray] | None = None
    key_note: str = ""


@dataclass(frozen=True)
class ArraySet:
    """One ``--arrays`` name: its arrays and how they are made.

    Attributes
    ----------
    name : str
        The ``--arrays`` name; also names the set's ``checksum_<name>`` field.
    arrays : tuple of ArraySpec
        The arrays the set stores.
    frames : callable
        ``frames(span) -> frame numbers`` the set needs decoded (:class:`Span`); the
        onset is always decoded.
    compute : callable
        ``compute(clip) -> Computed`` from the aligned frames (:class:`AlignedClip`);
        raise :class:`~mepipe.errors.SampleError` when the sample cannot have the set.
    summary : str
        One line on what the set holds.
    options : tuple of str
        The build options that shape only this set (``flow``, ``sequence_frames``): a
        store's value is compared with a rebuild's only where both hold the set, and
        recorded when the set is added.
    provenance : callable, optional
        ``provenance(options) -> mapping`` merged into the store's ``attrs["mepipe"]``
        (the flow method and its parameters).
    thumbnails : tuple of Thumbnail
        What ``mepipe report`` shows of the set, after the images.
    base : bool
        Created with a store only and covered by its ``checksum`` field (the images).
    """

    name: str
    arrays: tuple[ArraySpec, ...]
    frames: Callable[[Span], Iterable[int]]
    compute: Callable[[AlignedClip], Computed]
    summary: str
    options: tuple[str, ...] = ()
    provenance: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None
    thumbnails: tuple[Thumbnail, ...] = ()
    base: bool = False

    def kept(self, options: Mapping[str, Any]) -> tuple[ArraySpec, ...]:
        """The arrays stored under ``options`` (those with a ``when`` only when it is set)."""
        return tuple(spec for spec in self.arrays if spec.when is None or options.get(spec.when))

    def array_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.arrays)


_SETS: dict[str, ArraySet] = {}


def _sets() -> dict[str, ArraySet]:
    """The registered sets, plug-ins' included (:mod:`mepipe.release.plugins`)."""
    load_plugins(ARRAYS)
    return _SETS


def register(array_set: ArraySet) -> ArraySet:
    """Add ``array_set`` to the sets a build can make, after those registered before;
    returns it.

    Raises
    ------
    MepipeError
        Its name or one of its array names is taken, a shape names an option the set
        does not declare, or its dims do not match its shapes.
    """
    taken = {name: s.name for s in _SETS.values() for name in (s.name, *s.array_names())}
    clashes = [name for name in dict.fromkeys((array_set.name, *array_set.array_names())) if name in taken]
    if clashes:
        owners = ", ".join(f"{name} by the set {taken[name]!r}" for name in clashes)
        raise MepipeError(f"array set {array_set.name!r}: names already taken: {owners}")
    if len(set(array_set.array_names())) != len(array_set.arrays):
        raise MepipeError(f"array set {array_set.name!r}: names an array twice")
    for spec in array_set.arrays:
        unknown = [e for e in spec.shape if isinstance(e, str) and e not in (*LAYOUT_OPTIONS, *array_set.options)]
        if unknown:
            raise MepipeError(
                f"array set {array_set.name!r}: {spec.name}'s shape names {', '.join(unknown)}, "
                f"neither {' nor '.join(LAYOUT_OPTIONS)} nor an option of the set"
            )
        if len(spec.dims) != len(spec.shape):
            raise MepipeError(
                f"array set {array_set.name!r}: {spec.name} has {len(spec.shape)} axes, {len(spec.dims)} dims"
            )
    _SETS[array_set.name] = array_set
    return array_set


def array_sets() -> tuple[ArraySet, ...]:
    """Every registered set, in store order (registration order)."""
    return tuple(_sets().values())


def get_set(name: str) -> ArraySet:
    """The set registered as ``name``; a one-line :class:`~mepipe.errors.UsageError`
    listing the valid names otherwise."""
    try:
        return _sets()[name]
    except KeyError:
        raise UsageError(f"no array set {name!r}; valid: {', '.join(set_names())}") from None


def set_names() -> tuple[str, ...]:
    """Every ``--arrays`` name, in store order."""
    return tuple(_sets())


def derived_names(names: Iterable[str] | None = None) -> tuple[str, ...]:
    """The derived sets among ``names`` (default: all): those a finished store can be given, in
    store order."""
    wanted = set(_sets() if names is None else names)
    return tuple(s.name for s in _sets().values() if not s.base and s.name in wanted)


def array_owners() -> dict[str, ArraySet]:
    """Every array name a set declares -> its set."""
    return {spec.name: s for s in _sets().values() for spec in s.arrays}


def derived_arrays() -> dict[str, str]:
    """Every array of a derived (non-base) set -> its set's name."""
    return {name: s.name for name, s in array_owners().items() if not s.base}


def store_arrays() -> tuple[str, ...]:
    """Every array name in the order a store lists them: the base sets' arrays, their
    optional ones (the raw dynamic images), then those of the derived sets."""
    base = [s for s in _sets().values() if s.base]
    return (
        *(a.name for s in base for a in s.arrays if a.when is None),
        *(a.name for s in base for a in s.arrays if a.when is not None),
        *(a.name for s in _sets().values() if not s.base for a in s.arrays),
    )


def set_choices() -> dict[str, tuple[str, ...]]:
    """Option -> the sets it shapes (:attr:`ArraySet.options`)."""
    choices: dict[str, tuple[str, ...]] = {}
    for s in _sets().values():
        for option in s.options:
            choices[option] = (*choices.get(option, ()), s.name)
    return choices


def provenance(names: Sequence[str], options: Mapping[str, Any]) -> dict[str, Any]:
    """What the sets ``names`` record in a store's ``attrs["mepipe"]`` under ``options``."""
    out: dict[str, Any] = {}
    for name in names:
        describe = get_set(name).provenance
        if describe is not None:
            out.update(describe(options))
    return out


def thumbnails(names: Iterable[str] | None = None) -> tuple[Thumbnail, ...]:
    """The report's pictures of the sets ``names`` (default: all), in store order."""
    wanted = set(_sets() if names is None else names)
    return tuple(t for s in _sets().values() if s.name in wanted for t in s.thumbnails)
