"""The store a build writes into: created fresh, or an existing one checked and reused.

:func:`open_or_create` is the way in: it refuses a path holding something else, creates
the store, or opens an existing one, checks it was made by the same build
(:func:`check_same_build`) and gives it the derived sets it lacks (:func:`add_sets`).
For a resumed build, :func:`sets_to_add` says which built samples still lack a set and
:func:`stored_records` reads what adding it starts from.

The build's configuration comes in as anything shaped like
:class:`mepipe.engine.config.BuildConfig` (:class:`BuildChoices`): this room sits below
the engine and does not import it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Protocol

import fsspec
import numpy as np
import zarr

from mepipe import __version__
from mepipe.arrays import derived_names, get_set, provenance, set_names
from mepipe.errors import MepipeError
from mepipe.release.recipe import Sample
from mepipe.store import layout
from mepipe.store.read import as_str
from mepipe.store.schema import (
    ALIGNMENT_FIELDS,
    SHEET_FIELDS,
    STORE_ATTRS,
    Alignment,
    Stored,
    array,
    create_sets,
    create_store,
    held_sets,
    is_store,
    missing_alignment,
    read_array,
    set_checksum_field,
    store_attrs,
)

_AGAIN = "rerun with --overwrite to replace it, or choose another --out"


class BuildChoices(Protocol):
    """What the store needs of a build's configuration (:class:`mepipe.engine.config.BuildConfig`)."""

    @property
    def arrays(self) -> tuple[str, ...]: ...

    @property
    def size(self) -> int: ...

    @property
    def channels(self) -> int: ...

    @property
    def keep_raw(self) -> bool: ...

    def set_options(self) -> dict[str, Any]: ...

    def differences(self, attrs: Mapping[str, Any]) -> list[tuple[str, Any, Any]]: ...


def open_existing(out: str) -> zarr.Group | None:
    """The zarr group at ``out`` opened for writing, or ``None`` where there is none."""
    try:
        # not through a consolidated listing: the build changes what it would list
        return zarr.open_group(out, mode="r+", use_consolidated=False)
    except (FileNotFoundError, zarr.errors.GroupNotFoundError):
        return None


def check_same_build(
    group: zarr.Group, out: str, config: BuildChoices, attrs: Mapping[str, Any], samples: Sequence[Sample]
) -> None:
    """Refuse, in one line, to build into a store made otherwise.

    The store must be a mepipe store with the alignment fields, built with the same
    options (:meth:`BuildChoices.differences`: each named with the store's value and the
    one this build asks), from the same annotation sheet (``attrs["sheet_sha256"]``),
    frames folders and samples; this build must keep every set it holds and may add only
    derived sets.

    Raises
    ------
    MepipeError
        Any of those differ.
    """
    if not is_store(group):
        raise MepipeError(f"{out} exists and is not a mepipe store; choose another --out or use --overwrite")
    old = store_attrs(group)
    missing = missing_alignment(group)
    if missing:
        raise MepipeError(
            f"{out} was built by an older mepipe (no {', '.join(missing)} arrays, edge pixels "
            "replicated); rerun with --overwrite to rebuild it, or choose another --out"
        )
    try:
        options = config.differences(old)
    except MepipeError as exc:
        raise MepipeError(f"{out} {exc}; {_AGAIN}") from None
    others = []
    if old.get("sheet_sha256") != attrs["sheet_sha256"]:
        others.append("its annotation sheet is another file (sha256 differs)")
    if "frames" in old and old["frames"] != attrs["frames"]:
        others.append(f"its frames folder is {old['frames']}, this build's {attrs['frames']}")
    if not (options or others) and list(read_array(group, "sample_id")) != [s.sample_id for s in samples]:
        others.append("its sample list differs")
    if not (options or others):
        others += changed_fields(group, samples)
    if options:
        built = ", ".join(f"{name}={stored!r}" for name, stored, _ in options)
        asked = ", ".join(f"{name}={value!r}" for name, _, value in options)
        raise MepipeError(
            f"{out} was built with {built}; this build asks {asked}{''.join(f'; {o}' for o in others)}; {_AGAIN}"
        )
    if others:
        raise MepipeError(f"{out} was built from another release: {'; '.join(others)}; {_AGAIN}")
    held = held_sets(group)
    dropped = [name for name in held if name not in config.arrays]
    if dropped:
        keep = ",".join(a for a in set_names() if a in config.arrays or a in dropped)
        raise MepipeError(
            f"{out} holds {', '.join(dropped)}, which --arrays {','.join(config.arrays)} leaves out; a build never "
            f"removes arrays: pass --arrays {keep} to keep them, or --overwrite to rebuild the store without them"
        )
    late = [name for name in config.arrays if name not in held and name not in derived_names()]
    if late:
        raise MepipeError(
            f"{out} was created without {', '.join(late)}, which only a new store can hold "
            f"(only {', '.join(derived_names())} can be added to a store); rerun with --overwrite or choose another --out"
        )


def add_sets(group: zarr.Group, config: BuildChoices) -> list[str]:
    """Create the derived sets' arrays ``config`` asks for that the store lacks, and
    record them in its configuration and provenance (``added``: when, by which mepipe);
    returns the sets added. The options of a new set (:attr:`mepipe.arrays.ArraySet.options`)
    are recorded as this build's."""
    held = held_sets(group)
    new = [name for name in derived_names(config.arrays) if name not in held]
    if not new:
        return []
    attrs = store_attrs(group)
    ours = config.set_options()
    stored = dict(attrs.get("config", {}))
    stored["arrays"] = [name for name in config.arrays if name in held or name in new]
    # check_same_build found this build's value of each option a held set shares equal to
    # the store's (its flow read from the recorded parameters), so this build's names it
    for name in new:
        for option in get_set(name).options:
            stored[option] = ours[option]
    attrs["config"] = stored
    attrs.update(provenance(stored["arrays"], {**ours, **stored}))
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    attrs["added"] = {**attrs.get("added", {}), **{name: {"at": when, "version": __version__} for name in new}}
    create_sets(group, new, {**ours, **stored})
    group.attrs[STORE_ATTRS] = attrs
    return new


def changed_fields(group: zarr.Group, samples: Sequence[Sample]) -> list[str]:
    """The sheet fields stored at creation that the release now gives otherwise: a sheet
    read beside the coding sheet (CASME-II's objective classes) can change while the
    coding sheet's checksum does not."""
    changed = []
    for name in SHEET_FIELDS:
        if name in group:
            stored = as_str(read_array(group, name))
            now = np.array([str(getattr(s, name)) for s in samples])
            if count := int((stored != now).sum()):
                changed.append(f"{name} differs in {count} of {len(samples)} samples")
    return changed


def refuse_foreign(out: str) -> None:
    """Refuse an ``out`` holding anything but a zarr store: creating one there erases it."""
    fs, path = fsspec.core.url_to_fs(out)
    if not fs.exists(path):
        return
    if not fs.isdir(path) or (fs.ls(path) and not fs.exists(f"{path.rstrip('/')}/zarr.json")):
        raise MepipeError(f"{out} exists and is not a mepipe store; choose another --out")


def open_or_create(
    out: str, samples: Sequence[Sample], config: BuildChoices, attrs: Mapping[str, Any], overwrite: bool
) -> zarr.Group:
    """The store to build into: created fresh (``overwrite`` replaces one), or an existing
    one of the same build (:func:`check_same_build`), recovered from an interrupted layout
    rewrite and given the derived sets it lacks (:func:`add_sets`).

    Raises
    ------
    MepipeError
        ``out`` holds something else, was built otherwise, or cannot be written.
    """
    refuse_foreign(out)
    group = None if overwrite else open_existing(out)
    if group is None:
        try:
            return create_store(
                out,
                samples,
                size=config.size,
                channels=config.channels,
                keep_raw=config.keep_raw,
                attrs=attrs,
                overwrite=True,
                arrays=config.arrays,
                options=config.set_options(),
            )
        except OSError as exc:
            raise MepipeError(f"cannot write the store {out}: {exc.strerror or exc} ({exc.filename})") from None
    check_same_build(group, out, config, attrs, samples)
    layout.recover(out)
    group = layout.drop_consolidated(out)
    add_sets(group, config)
    return group


def stored_records(group: zarr.Group, adding: Mapping[int, tuple[str, ...]]) -> dict[int, Stored]:
    """The record of each built sample that adding its sets to starts from (store index
    -> :class:`~mepipe.store.schema.Stored`); each field read once for all of them (one
    chunk per field, not one read per sample)."""
    if not adding:
        return {}
    fields = {name: read_array(group, name) for name in (*ALIGNMENT_FIELDS, "apex_index", "repair")}
    records = {}
    for index, sets in adding.items():
        height, width = (int(v) for v in fields["frame_size"][index])
        alignment = Alignment(
            transform=fields["transform"][index],
            landmarks=fields["landmarks"][index],
            frame_size=(height, width),
            detect_step=str(fields["detect_step"][index]),
        )
        records[index] = Stored(alignment, int(fields["apex_index"][index]), str(fields["repair"][index]), sets)
    return records


def sets_to_add(group: zarr.Group, arrays: Sequence[str], ok: np.ndarray) -> dict[int, tuple[str, ...]]:
    """Store index -> the derived sets among ``arrays`` that sample still lacks, for the
    samples ``ok`` marks (built and intact)."""
    missing: dict[int, tuple[str, ...]] = {}
    for name in derived_names(arrays):
        empty = np.asarray(array(group, set_checksum_field(name))[:]) == ""
        for index in np.flatnonzero(ok & empty):
            missing[int(index)] = (*missing.get(int(index), ()), name)
    return missing
