"""The zarr store that ``mepipe build`` writes: its schema, creation and opening.

The layout is a contract that trainers and other tools read directly
(``zarr.open_group``, ``xarray.open_zarr``):

* ``trdi``, ``midi``, ``onset``, ``apex`` -- uint8 ``(N, S, S, C)``, one chunk per sample;
* ``trdi_raw``, ``midi_raw`` -- float32, only with ``keep_raw``;
* ``au_multihot`` -- uint8 ``(N, K)`` over ``attrs["mepipe"]["au_vocabulary"]`` (the
  certain AUs of each sample's ``au`` field);
* the arrays of the derived sets ``--arrays`` adds (:mod:`mepipe.arrays`,
  ``docs/arrays.md``): ``flow`` and ``strain``, ``flow_apex_offset`` and
  ``strain_apex_offset``, ``sequence``, ``landmarks_aligned``, each one chunk per sample,
  and per set a string field ``checksum_<set>`` (:func:`set_checksum_field`) over that
  set's arrays;
* 1-D arrays over ``sample``: the sheet's fields (written once, at creation; action units
  as ``action_units``, ``au`` and ``au_tokens``) and the
  build's outcome per sample (``status``, ``error``, ``repair``, frame indices,
  ``n_frames``, ``checksum``), each one chunk;
* the alignment of each sample (:data:`ALIGNMENT_FIELDS`: ``transform``, ``landmarks``,
  ``frame_size``, ``detect_step``), each one chunk; stores written before these existed
  lack them;
* ``attrs["mepipe"]`` -- version, dataset, configuration and provenance.

Writing is :mod:`mepipe.store.write`, reading :mod:`mepipe.store.read`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import zarr
from zarr.codecs import ZstdCodec
from zarr.core.indexing import Selection

from mepipe.arrays import IMAGES, array_owners, array_sets, derived_arrays, derived_names, get_set, store_arrays
from mepipe.errors import MepipeError
from mepipe.release.au import multihot
from mepipe.release.recipe import Sample

#: the group attribute holding a store's version, configuration and provenance
STORE_ATTRS = "mepipe"

PENDING, OK, FAILED = 0, 1, 2
STATUS_NAMES = {PENDING: "pending", OK: "ok", FAILED: "failed"}

#: written once at creation, from the sheet
SHEET_FIELDS: dict[str, str | type[str]] = {
    "sample_id": str,
    "subject": str,
    "clip": str,
    "emotion": str,
    "label": str,
    "action_units": str,
    "au": str,
    "au_tokens": str,
    "au_warning": str,
    "objective_class": str,
}
#: the AU targets; its second dimension is ``attrs["mepipe"]["au_vocabulary"]``
AU_MULTIHOT = "au_multihot"
#: written by the task that builds the sample; ``status`` last
OUTCOME_FIELDS: dict[str, str | type[str]] = {
    "onset_index": "int32",
    "apex_index": "int32",
    "offset_index": "int32",
    "n_frames": "int32",
    "error": str,
    "repair": str,
    "checksum": str,
    "status": "uint8",
}
#: zstd at level 1, not zarr's default (3): on dynamic images it compresses as well
#: (1.72x vs 1.69x at 224 px) in a third of the time (0.7-0.9 ms vs 2.0-2.2 ms per image),
#: and on the aligned frames only a little less (1.07x vs 1.13x) in a quarter of it
IMAGE_COMPRESSOR = ZstdCodec(level=1)
#: how each sample was aligned: name -> (dtype, one sample's shape, its dimension names,
#: the value of a sample not aligned: failed or pending)
ALIGNMENT_FIELDS: dict[str, tuple[Any, tuple[int, ...], tuple[str, ...], Any]] = {
    # source pixels -> output pixels, cv2.warpAffine convention
    "transform": ("float64", (2, 3), ("affine_row", "affine_col"), np.nan),
    # dlib's 68 points on the onset frame, (x, y) in source pixels
    "landmarks": ("float32", (68, 2), ("landmark", "xy"), np.nan),
    # (height, width) of the source frames
    "frame_size": ("int32", (2,), ("hw",), -1),
    # the detection step that found the face (align.DETECT_STEPS)
    "detect_step": (str, (), (), ""),
}


def set_checksum_field(name: str) -> str:
    """The string field holding each sample's checksum of the derived set ``name``; empty
    while the set is not built for that sample."""
    return f"checksum_{name}"


def name_clashes() -> list[str]:
    """Array or checksum names of the registered sets that would shadow another
    per-sample array (the sheet's string field ``clip`` among them) or each other; kept
    empty by a test, and refused when a store is created or given a set."""
    taken = {*SHEET_FIELDS, *OUTCOME_FIELDS, *ALIGNMENT_FIELDS, AU_MULTIHOT}
    new = [*store_arrays(), *(set_checksum_field(name) for name in derived_names())]
    return sorted(taken.intersection(new) | {name for name in new if new.count(name) > 1})


@dataclass(frozen=True)
class Alignment:
    """How a sample's clip was aligned; stored per sample as :data:`ALIGNMENT_FIELDS`."""

    transform: np.ndarray
    landmarks: np.ndarray
    frame_size: tuple[int, int]
    detect_step: str


@dataclass(frozen=True)
class Stored:
    """What the record of a sample already built holds, for adding arrays to it: the
    arrays are computed from the same alignment and apex as the ones it has."""

    alignment: Alignment
    apex: int
    repair: str
    #: the derived sets to add (:func:`mepipe.arrays.derived_names`)
    sets: tuple[str, ...]


@dataclass
class SampleResult:
    """What building one sample produced; ``images`` is empty for a failed sample."""

    status: int
    error: str = ""
    repair: str = ""
    n_frames: int = 0
    onset_index: int = -1
    apex_index: int = -1
    offset_index: int = -1
    images: dict[str, np.ndarray] = field(default_factory=dict)
    alignment: Alignment | None = None
    #: the derived sets this result holds (or, failed, was to hold): their checksum fields
    sets: tuple[str, ...] = ()
    #: arrays added to a sample already built: only ``images``, their checksums and
    #: ``repair`` are written; the sample's other fields stay as they are
    added: bool = False


def checksum(images: Mapping[str, np.ndarray]) -> str:
    """sha256 over arrays in a fixed order (names, shapes and bytes): the ``checksum`` field
    covers a sample's base sets' arrays (:data:`IMAGES` and raw images), each ``checksum_<set>`` its set's
    arrays (:func:`set_checksums`)."""
    digest = hashlib.sha256()
    for name in sorted(images):
        array = np.ascontiguousarray(images[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def base_images(images: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays the ``checksum`` field covers (the dynamic images, onset, apex, raw ones)."""
    derived = derived_arrays()
    return {name: value for name, value in images.items() if name not in derived}


def set_checksums(images: Mapping[str, np.ndarray], sets: Sequence[str]) -> dict[str, str]:
    """``checksum_<set>`` -> checksum of that set's arrays among ``images``."""
    derived = derived_arrays()
    return {
        set_checksum_field(name): checksum({a: v for a, v in images.items() if derived.get(a) == name}) for name in sets
    }


def local_path(store: str) -> str:
    """``file://`` URLs as plain paths, so local stores get zarr's LocalStore (atomic
    writes) rather than the generic fsspec store; other URLs unchanged."""
    store = str(store)
    if store.startswith("file://"):
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem._strip_protocol(store)
    return store


def create_store(
    path: str,
    samples: Sequence[Sample],
    *,
    size: int,
    channels: int = 3,
    keep_raw: bool = False,
    attrs: Mapping[str, Any],
    overwrite: bool = False,
    arrays: Sequence[str] = IMAGES,
    options: Mapping[str, Any] | None = None,
) -> zarr.Group:
    """Create an empty store for ``samples``: every sample ``pending``.

    Parameters
    ----------
    path : str
        Local path or any fsspec URL zarr accepts.
    samples : sequence of Sample
        The build's samples, in store order.
    size, channels : int
        Image side and channel count (3, or 1 with ``--gray``).
    keep_raw : bool
        Also create the float32 ``trdi_raw`` / ``midi_raw`` arrays (with ``trdi``, ``midi``).
    attrs : mapping
        Stored as ``attrs["mepipe"]`` (configuration and provenance); with an
        ``au_vocabulary`` (list of AU numbers) the store gets ``au_multihot`` over it.
    overwrite : bool
        Replace an existing store at ``path``.
    arrays : sequence of str
        The ``--arrays`` names (:func:`mepipe.arrays.set_names`) the store holds; default
        :data:`IMAGES`, which creates exactly the arrays of a store from before ``--arrays``.
    options : mapping, optional
        The build options the sets' shapes name beyond ``size`` and ``channels``
        (``sequence_frames``: :attr:`mepipe.arrays.ArraySet.options`).
    """
    n = len(samples)
    layout = {**(options or {}), "size": size, "channels": channels, "keep_raw": keep_raw}
    clashes = name_clashes()
    if clashes:
        raise MepipeError(f"{path}: the registered array sets reuse the names {', '.join(clashes)}")
    group = zarr.open_group(path, mode="w" if overwrite else "w-")
    for name, dtype in SHEET_FIELDS.items():
        values = np.array([getattr(s, name) for s in samples], dtype=dtype)
        column = group.create_array(name, shape=(n,), chunks=(max(n, 1),), dtype=dtype, dimension_names=("sample",))
        if n:
            column[:] = values
    vocabulary = attrs.get("au_vocabulary")
    if vocabulary is not None:
        targets = group.create_array(
            AU_MULTIHOT,
            shape=(n, len(vocabulary)),
            chunks=(max(n, 1), max(len(vocabulary), 1)),
            dtype="uint8",
            fill_value=0,
            dimension_names=("sample", "au_unit"),
        )
        if n and vocabulary:
            targets[:] = multihot([s.au for s in samples], vocabulary)
    for name, dtype in OUTCOME_FIELDS.items():
        fill = "" if dtype is str else (PENDING if name == "status" else -1)
        group.create_array(
            name, shape=(n,), chunks=(max(n, 1),), dtype=dtype, fill_value=fill, dimension_names=("sample",)
        )
    for name, (dtype, shape, dims, fill) in ALIGNMENT_FIELDS.items():
        group.create_array(
            name,
            shape=(n, *shape),
            chunks=(max(n, 1), *shape),
            dtype=dtype,
            fill_value=fill,
            dimension_names=("sample", *dims),
        )
    create_sets(group, [s.name for s in array_sets() if s.name in arrays], layout)
    group.attrs[STORE_ATTRS] = dict(attrs)
    return group


def create_sets(group: zarr.Group, names: Sequence[str], options: Mapping[str, Any]) -> None:
    """Create the arrays of the sets ``names`` (one chunk per sample, zstd; shapes resolved
    from ``options``: :meth:`mepipe.arrays.ArraySpec.sample_shape`) and the checksum fields
    of the derived ones (one chunk, empty: no sample built yet), in a new store or beside
    the arrays of a finished one, which stay untouched."""
    n = array(group, "sample_id").shape[0]
    for name in names:
        array_set = get_set(name)
        for spec in array_set.kept(options):
            shape = spec.sample_shape(options)
            group.create_array(
                spec.name,
                shape=(n, *shape),
                chunks=(1, *shape),
                dtype=spec.dtype,
                fill_value=spec.fill,
                dimension_names=("sample", *spec.dims),
                compressors=IMAGE_COMPRESSOR,
            )
        if not array_set.base:
            group.create_array(
                set_checksum_field(name),
                shape=(n,),
                chunks=(max(n, 1),),
                dtype=str,
                fill_value="",
                dimension_names=("sample",),
            )


def held_sets(group: zarr.Group) -> tuple[str, ...]:
    """The ``--arrays`` names a store holds, in store order: a base set where its arrays
    are there, a derived one where its checksum field is."""
    return tuple(
        s.name
        for s in array_sets()
        if (
            all(spec.name in group for spec in s.arrays if spec.when is None)
            if s.base
            else set_checksum_field(s.name) in group
        )
    )


def open_store(path: str, mode: Literal["r", "r+"] = "r") -> zarr.Group:
    """Open an existing mepipe store; a one-line error when ``path`` is not one."""
    try:
        group = zarr.open_group(path, mode=mode)
    except (FileNotFoundError, zarr.errors.GroupNotFoundError, zarr.errors.NodeTypeValidationError):
        raise MepipeError(f"{path}: not a mepipe store (no zarr group there)") from None
    if not is_store(group):
        raise MepipeError(f"{path}: a zarr group, but not a mepipe store (no {STORE_ATTRS!r} attributes)")
    return group


def is_store(group: zarr.Group) -> bool:
    """Whether ``group`` is a mepipe store: one holding :data:`STORE_ATTRS` attributes."""
    return STORE_ATTRS in group.attrs


def missing_alignment(group: zarr.Group) -> list[str]:
    """The :data:`ALIGNMENT_FIELDS` a store lacks (all of them in stores from before them)."""
    return [name for name in ALIGNMENT_FIELDS if name not in group]


def per_sample_arrays(group: zarr.Group) -> list[str]:
    """Every array of the store with one entry per sample (first axis of length N).

    Generic on purpose: arrays added to the schema later are read and compacted like the
    others without being listed anywhere. Names with a dot are a layout rewrite's
    temporary copies (``mepipe.store.layout``), not part of the store.
    """
    n = array(group, "sample_id").shape[0]
    return sorted(name for name, array in group.arrays() if "." not in name and array.ndim >= 1 and array.shape[0] == n)


def is_image(name: str) -> bool:
    """Arrays written by the build's workers, one chunk per sample (those of the array
    sets: the images, flow, strain, sequences, aligned landmarks), as opposed to the small
    per-sample fields its driver writes."""
    return name in array_owners()


def image_names(group: zarr.Group) -> tuple[str, ...]:
    """The per-sample arrays this store holds beyond its fields, in
    :func:`mepipe.arrays.store_arrays` order: ``IMAGES``, raw ones when kept, then the
    derived arrays (``flow``, ``strain``, ``sequence``, ...)."""
    return tuple(name for name in store_arrays() if name in group)


def array(group: zarr.Group, name: str) -> zarr.Array:
    """The array ``name`` of a store.

    zarr types ``group[name]`` as an array or a group; a store holds only arrays, so a
    group there is a damaged store, reported in one line.
    """
    node = group[name]
    if not isinstance(node, zarr.Array):
        raise MepipeError(f"{group.store_path}: {name!r} is a group, not an array")
    return node


def read_array(group: zarr.Group, name: str, selection: Selection = slice(None)) -> np.ndarray:
    """``group[name][selection]`` in memory, as NumPy: all of it by default.

    zarr types a read as "array-like or scalar" (its buffers may live elsewhere, on a
    GPU); mepipe reads into NumPy, which ``np.asarray`` returns as it is, uncopied. For
    selections that keep at least one axis: a scalar would come back as a 0-d array.
    """
    return np.asarray(array(group, name)[selection])


def store_attrs(group: zarr.Group) -> dict[str, Any]:
    """The store's ``attrs["mepipe"]`` (version, dataset, configuration and provenance),
    a copy; a one-line error when it is missing or not a mapping."""
    attrs = group.attrs.get(STORE_ATTRS)
    if not isinstance(attrs, Mapping):
        raise MepipeError(f"{group.store_path}: not a mepipe store (no {STORE_ATTRS!r} attributes)")
    return dict(attrs)
